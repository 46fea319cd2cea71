"""Dashboard pages of alerts: the board (firing, pending, acknowledged, muted, history),
one alert with its history, its groups and the notifications sent about it, and the
acknowledge / withdraw / resolve forms.

Every action goes through alert management (``rt.alerts.actions``), which records it in
the alert history and the audit log with who did it and from where; nothing here decides
alert state itself. Notification
links (``<external_url>/alerts/<fingerprint>``) land on :func:`alert_page`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.alerting.history import HistoryEntry
from watchkeeper.alerting.matchers import MatcherError, parse_matchers
from watchkeeper.alerting.views import AlertApiState, AlertView
from watchkeeper.core.enums import AlertState
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Labels, Matcher, matches_all
from watchkeeper.notify.records import Attempt
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal
from watchkeeper.web.pages_base import (
    install_filters,
    local_path,
    page_guard,
    render,
    see_other,
)

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

ACK_EXPIRIES = (
    ("", "until it resolves"),
    ("3600", "for 1 hour"),
    ("14400", "for 4 hours"),
    ("86400", "for 1 day"),
)
HISTORY_ROWS = 50
MAX_FORM_TEXT = 2000

# Module level: with postponed annotations FastAPI resolves these names in the globals.
Writer = Annotated[Principal, Depends(page_guard(Permission.ALERTS_WRITE))]
NextPath = Annotated[str, Form(alias="next", max_length=MAX_FORM_TEXT)]


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """A rule-side alert whose condition holds but whose ``for`` has not passed yet."""

    rule: str
    group: str
    labels: Labels
    annotations: Mapping[str, str]
    value: float
    active_at: float
    hold: float
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", self.rule)

    @property
    def fires_at(self) -> float:
        return self.active_at + self.hold


@dataclass(frozen=True, slots=True)
class AlertBoard:
    firing: list[AlertView]  # firing, not muted, nobody has acknowledged it
    acked: list[AlertView]
    muted: list[AlertView]  # silenced, inhibited, in maintenance, suppressed or flapping
    pending: list[PendingAlert]
    history: list[HistoryEntry]

    @property
    def open_count(self) -> int:
        return len(self.firing) + len(self.acked) + len(self.muted)


def parse_filter(text: str) -> list[Matcher]:
    """Matchers typed in a filter box (``service="backend", severity=~"crit.*"``)."""
    text = text.strip()
    if not text:
        return []
    try:
        return parse_matchers(text)
    except MatcherError as exc:
        raise UserInputError(f"filter: {exc}") from None


def silence_matchers(labels: Mapping[str, str]) -> str:
    """The matchers a new silence for exactly this alert starts from."""
    return ", ".join(str(Matcher.equal(k, v)) for k, v in sorted(labels.items()))


def rule_expression(generator_url: str) -> str:
    """The PromQL of a rule alert, from its generator URL (``.../explore?expr=...``)."""
    parts = urlsplit(generator_url)
    if not parts.path.endswith("/explore"):
        return ""
    return parse_qs(parts.query).get("expr", [""])[0]


def pending_alerts(rt: Runtime, filters: Sequence[Matcher] = ()) -> list[PendingAlert]:
    out = []
    for group, rule, alert in rt.rules.active_alerts():
        if alert.state is not AlertState.PENDING or not matches_all(filters, alert.labels):
            continue
        out.append(
            PendingAlert(
                rule=rule.name,
                group=group.name,
                labels=alert.labels,
                annotations=alert.annotations,
                value=alert.value,
                active_at=alert.active_at,
                hold=float(rule.config.for_),
                fingerprint=alert.fingerprint,
            )
        )
    out.sort(key=lambda p: (p.active_at, p.name))
    return out


def alert_board(rt: Runtime, filters: Sequence[Matcher] = ()) -> AlertBoard:
    firing: list[AlertView] = []
    acked: list[AlertView] = []
    muted: list[AlertView] = []
    for view in rt.alerts.views.alerts(filters=filters):
        if not view.firing:
            continue
        if view.state is AlertApiState.SUPPRESSED:
            muted.append(view)
        elif view.acks:
            acked.append(view)
        else:
            firing.append(view)
    wanted = HISTORY_ROWS * 10 if filters else HISTORY_ROWS
    history = [e for e in rt.history.query(limit=wanted) if matches_all(filters, e.labels)]
    return AlertBoard(firing, acked, muted, pending_alerts(rt, filters), history[:HISTORY_ROWS])


def alert_notifications(rt: Runtime, group_ids: Sequence[str], limit: int = 100) -> list[Attempt]:
    """Delivery attempts of the alert's groups, newest first."""
    attempts: list[Attempt] = []
    for gid in group_ids:
        attempts.extend(rt.notify.log.query(group_id=gid, limit=limit).items)
    attempts.sort(key=lambda a: a.id, reverse=True)
    return attempts[:limit]


def alerts_pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)
    templates.env.globals["silence_for"] = silence_matchers
    read = [Depends(page_guard(Permission.ALERTS_READ))]

    def board_page(request: Request, filter_text: str, status_code: int = 200) -> Response:
        flashes: list[tuple[str, str]] = []
        try:
            filters = parse_filter(filter_text)
        except UserInputError as exc:
            flashes.append(("error", str(exc)))
            filters, status_code = [], 400
        return render(
            templates,
            request,
            "alerts.html",
            "/alerts",
            status_code=status_code,
            title="Alerts",
            board=alert_board(rt, filters),
            filter=filter_text,
            flashes=flashes,
        )

    @router.get("/alerts", dependencies=read)
    def alerts_page(request: Request, filter: str = "") -> Response:
        return board_page(request, filter[:MAX_FORM_TEXT])

    def detail_context(fp: str) -> dict[str, Any] | None:
        now = rt.clock.now()
        alert = rt.alerts.store.get(fp)
        view = rt.alerts.views.view(alert, now) if alert is not None else None
        pending = next((p for p in pending_alerts(rt) if p.fingerprint == fp), None)
        history = rt.history.query(fingerprint=fp, limit=200)
        if view is None and pending is None and not history:
            return None
        labels: Mapping[str, str] = (
            view.alert.labels if view else pending.labels if pending else history[0].labels
        )
        group_ids = list(view.group_ids) if view else []
        group_ids += sorted({e.group_id for e in history if e.group_id} - set(group_ids))
        groups = [
            rt.alerts.views.group_dict(g, now)
            for gid in (view.group_ids if view else ())
            if (g := rt.alerts.dispatcher.groups.get(gid)) is not None
        ]
        return {
            "fp": fp,
            "view": view,
            "pending": pending,
            "labels": labels,
            "alert_name": labels.get("alertname", fp),
            "history": history,
            "groups": groups,
            "attempts": alert_notifications(rt, group_ids),
            "expr": rule_expression(view.alert.generator_url) if view else "",
            "silence_matchers": silence_matchers(labels),
            "ack_expiries": ACK_EXPIRIES,
        }

    def detail_page(
        request: Request,
        fp: str,
        *,
        status_code: int = 200,
        flashes: Sequence[tuple[str, str]] = (),
    ) -> Response:
        context = detail_context(fp)
        if context is None:
            return render(
                templates,
                request,
                "not_found.html",
                "/alerts",
                status_code=404,
                title="Alert not found",
                what=f"alert {fp}",
                back=("/alerts", "all alerts"),
                flashes=list(flashes),
            )
        return render(
            templates,
            request,
            "alert.html",
            "/alerts",
            status_code=status_code,
            title=context["alert_name"],
            flashes=list(flashes),
            **context,
        )

    @router.get("/alerts/{fingerprint}", dependencies=read)
    def alert_page(request: Request, fingerprint: str) -> Response:
        return detail_page(request, fingerprint)

    def failed(request: Request, fp: str, exc: UserInputError) -> Response:
        return detail_page(request, fp, status_code=exc.status_code, flashes=[("error", str(exc))])

    @router.post("/alerts/{fingerprint}/ack")
    async def ack(
        request: Request,
        fingerprint: str,
        principal: Writer,
        comment: Annotated[str, Form(max_length=MAX_FORM_TEXT)] = "",
        expires_in: Annotated[str, Form(max_length=20)] = "",
        next_: NextPath = "",
    ) -> Response:
        try:
            expires_at = None
            if expires_in.strip():
                if not expires_in.strip().isdigit() or int(expires_in) <= 0:
                    raise UserInputError("expires_in: give a number of seconds, e.g. 3600")
                expires_at = rt.clock.now() + int(expires_in)
            await rt.alerts.actions.ack_alert(
                fingerprint,
                by=principal,
                comment=comment.strip(),
                expires_at=expires_at,
                remote_addr=remote_addr(request.scope),
            )
        except UserInputError as exc:
            return failed(request, fingerprint, exc)
        return see_other(local_path(next_, f"/alerts/{fingerprint}"), "acked")

    @router.post("/alerts/{fingerprint}/unack")
    async def unack(
        request: Request, fingerprint: str, principal: Writer, next_: NextPath = ""
    ) -> Response:
        try:
            await rt.alerts.actions.unack_alert(
                fingerprint, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return failed(request, fingerprint, exc)
        return see_other(local_path(next_, f"/alerts/{fingerprint}"), "unacked")

    @router.post("/alerts/{fingerprint}/resolve")
    async def resolve(
        request: Request, fingerprint: str, principal: Writer, next_: NextPath = ""
    ) -> Response:
        try:
            await rt.alerts.actions.resolve_alert(
                fingerprint, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return failed(request, fingerprint, exc)
        return see_other(local_path(next_, f"/alerts/{fingerprint}"), "resolved")

    return router
