"""Dashboard pages of silences and maintenance windows: list them, create a silence with a
live preview of the alerts it would mute, expire one; create and delete one-off
maintenance windows (recurring ones live in the config or come through the API).

Creating, expiring and deleting go through alert management (``rt.alerts.actions``),
which audits and validates them (a silence that would mute every alert is refused here:
the API's ``force`` is the deliberate way to do that)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.responses import Response

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.matchers import MatcherError, parse_matchers
from watchkeeper.alerting.silences import Silence, SilenceState, matches_every_alert
from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Matcher
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal
from watchkeeper.web.pages_base import MAX_TIME, install_filters, page_guard, render, see_other

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

MAX_TEXT = 2000
PREVIEW_ROWS = 50
DEFAULT_DURATION = "2h"
DURATIONS = ("1h", "2h", "4h", "8h", "1d", "3d", "7d")
STATES = ("active", "pending", "expired", "all")

# Module level: with postponed annotations FastAPI resolves these names in the globals.
SilenceWriter = Annotated[Principal, Depends(page_guard(Permission.SILENCES_WRITE))]
WindowWriter = Annotated[Principal, Depends(page_guard(Permission.MAINTENANCE_WRITE))]
Text = Annotated[str, Form(max_length=MAX_TEXT)]


@dataclass(frozen=True, slots=True)
class SilenceDraft:
    """What the new-silence form holds (echoed back when it has a mistake)."""

    matchers: str = ""
    starts_at: str = ""
    ends_at: str = ""
    duration: str = DEFAULT_DURATION
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Preview:
    matchers: str
    error: str
    every_alert: bool
    alerts: list[Alert]

    @property
    def count(self) -> int:
        return len(self.alerts)


def parse_utc(text: str, what: str) -> float | None:
    """A time typed in a form: ``2026-05-01T10:00`` (UTC) or with an offset; empty: None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"{what}: {text!r} is not a time; write it as 2026-05-01T10:00 (UTC)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def form_matchers(text: str) -> list[Matcher]:
    """Matchers from a form: comma-separated and/or one per line."""
    joined = ", ".join(line.strip().strip(",") for line in text.splitlines() if line.strip())
    if not joined:
        raise UserInputError('matchers: give at least one, e.g. alertname="BackendDown"')
    try:
        return parse_matchers(joined)
    except MatcherError as exc:
        raise UserInputError(f"matchers: {exc}") from None


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def silence_draft(draft: SilenceDraft, *, now: float, by: str) -> Silence:
    """The silence a submitted form asks for (alert management validates the rest)."""
    matchers = form_matchers(draft.matchers)
    if not draft.comment.strip():
        raise UserInputError("comment: say why you silence it (everyone sees it)")
    starts = parse_utc(draft.starts_at, "starts") or now
    ends = parse_utc(draft.ends_at, "ends")
    if ends is None:
        try:
            length = parse_duration(draft.duration or DEFAULT_DURATION)
        except ValueError as exc:
            raise UserInputError(f"duration: {exc}") from None
        if length <= 0:
            raise UserInputError("duration: give a length such as 2h")
        ends = max(starts, now) + length
    if ends > MAX_TIME:
        raise UserInputError("the silence would end after the year 9999; give a shorter duration")
    return Silence(
        id="",
        matchers=tuple(matchers),
        starts_at=starts,
        ends_at=ends,
        created_by=by,
        comment=draft.comment.strip(),
    )


def silences_pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)
    read = [Depends(page_guard(Permission.SILENCES_READ))]

    def preview(text: str) -> Preview:
        if not text.strip():
            return Preview(text, "", False, [])
        try:
            matchers = form_matchers(text)
        except UserInputError as exc:
            return Preview(text, str(exc), False, [])
        now = rt.clock.now()
        muted = rt.alerts.silences.preview(matchers, rt.alerts.store, now)
        return Preview(text, "", matches_every_alert(matchers), muted)

    def list_context(state: str) -> dict[str, Any]:
        now = rt.clock.now()
        wanted = None if state == "all" else SilenceState(state)
        silences = rt.alerts.silences.query(now, state=wanted)
        silences.sort(key=lambda s: (s.state(now) is SilenceState.EXPIRED, -s.ends_at))
        muting = {
            s.id: len(rt.alerts.silences.preview(s.matchers, rt.alerts.store, now))
            for s in silences
            if s.is_active(now)
        }
        intervals = rt.alerts.maintenance.intervals
        windows = [w.to_dict(now, intervals) for w in rt.alerts.maintenance.all()]
        return {
            "silences": silences,
            "muting": muting,
            "state": state,
            "states": STATES,
            "windows": windows,
            "now": now,
        }

    def list_page(
        request: Request,
        state: str = "active",
        *,
        status_code: int = 200,
        flashes: Sequence[tuple[str, str]] = (),
        window_form: dict[str, str] | None = None,
    ) -> Response:
        return render(
            templates,
            request,
            "silences.html",
            "/silences",
            status_code=status_code,
            title="Silences and maintenance",
            flashes=list(flashes),
            window=window_form or {},
            **list_context(state if state in STATES else "active"),
        )

    @router.get("/silences", dependencies=read)
    def silences_page(request: Request, state: str = "active") -> Response:
        return list_page(request, state)

    def new_page(
        request: Request,
        draft: SilenceDraft,
        *,
        status_code: int = 200,
        flashes: Sequence[tuple[str, str]] = (),
    ) -> Response:
        return render(
            templates,
            request,
            "silence_new.html",
            "/silences",
            status_code=status_code,
            title="New silence",
            draft=draft,
            durations=DURATIONS,
            preview=preview(draft.matchers),
            preview_rows=PREVIEW_ROWS,
            flashes=list(flashes),
        )

    @router.get("/silences/new", dependencies=read)
    def new_silence(
        request: Request, matchers: str = "", comment: str = "", duration: str = DEFAULT_DURATION
    ) -> Response:
        draft = SilenceDraft(
            matchers=matchers[:MAX_TEXT], comment=comment[:MAX_TEXT], duration=duration[:20]
        )
        return new_page(request, draft)

    @router.get("/silences/preview", dependencies=read)
    def silence_preview(request: Request, matchers: str = "") -> Response:
        return templates.TemplateResponse(
            request,
            "_silence_preview.html",
            {"preview": preview(matchers[:MAX_TEXT]), "preview_rows": PREVIEW_ROWS},
        )

    @router.post("/silences")
    async def create_silence(
        request: Request,
        principal: SilenceWriter,
        matchers: Text = "",
        starts_at: Annotated[str, Form(max_length=40)] = "",
        ends_at: Annotated[str, Form(max_length=40)] = "",
        duration: Annotated[str, Form(max_length=20)] = DEFAULT_DURATION,
        comment: Text = "",
    ) -> Response:
        draft = SilenceDraft(matchers, starts_at, ends_at, duration, comment)
        try:
            silence = silence_draft(draft, now=rt.clock.now(), by=principal.name)
            stored = await rt.alerts.actions.set_silence(
                silence, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return new_page(
                request, draft, status_code=exc.status_code, flashes=[("error", str(exc))]
            )
        return see_other(f"/silences#silence-{stored.id}", "silence-created")

    @router.post("/silences/{silence_id}/expire")
    async def expire_silence(
        request: Request, silence_id: str, principal: SilenceWriter
    ) -> Response:
        try:
            await rt.alerts.actions.expire_silence(
                silence_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return list_page(request, status_code=exc.status_code, flashes=[("error", str(exc))])
        return see_other("/silences", "silence-expired")

    @router.post("/maintenance")
    async def create_window(
        request: Request,
        principal: WindowWriter,
        name: Annotated[str, Form(max_length=200)] = "",
        matchers: Text = "",
        starts_at: Annotated[str, Form(max_length=40)] = "",
        ends_at: Annotated[str, Form(max_length=40)] = "",
        comment: Text = "",
    ) -> Response:
        entered = {
            "name": name,
            "matchers": matchers,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "comment": comment,
        }
        try:
            form_matchers(matchers)
            starts = parse_utc(starts_at, "starts") or rt.clock.now()
            ends = parse_utc(ends_at, "ends")
            if ends is None:
                raise UserInputError("ends: say when the maintenance ends (UTC)")
            try:
                config = MaintenanceWindowConfig.model_validate(
                    {
                        "name": name.strip(),
                        "matchers": [", ".join(str(m) for m in form_matchers(matchers))],
                        "starts_at": datetime.fromtimestamp(starts, tz=UTC),
                        "ends_at": datetime.fromtimestamp(ends, tz=UTC),
                        "comment": comment.strip(),
                    }
                )
            except ValidationError as exc:
                raise UserInputError(validation_message(exc)) from None
            await rt.alerts.actions.create_maintenance(
                config, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return list_page(
                request,
                status_code=exc.status_code,
                flashes=[("error", f"Maintenance window not created: {exc}")],
                window_form=entered,
            )
        return see_other("/silences#maintenance", "maintenance-created")

    @router.post("/maintenance/{window_id}/delete")
    async def delete_window(request: Request, window_id: str, principal: WindowWriter) -> Response:
        try:
            await rt.alerts.actions.delete_maintenance(
                window_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return list_page(request, status_code=exc.status_code, flashes=[("error", str(exc))])
        return see_other("/silences#maintenance", "maintenance-deleted")

    return router
