"""The on-call page: escalation policies with the escalations running now, and each
on-call rotation with who is on call, the next shifts and the overrides; operators add
and remove overrides (through alert management, which checks the receiver)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.alerting.config_ext import EscalationPolicyConfig
from watchkeeper.alerting.escalation import EscalationState
from watchkeeper.alerting.oncall import Override, Shift
from watchkeeper.core.errors import UserInputError
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal
from watchkeeper.web.pages_base import install_filters, page_guard, render, see_other
from watchkeeper.web.pages_silences import parse_utc

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

UPCOMING_SHIFTS = 4
# Module level: with postponed annotations FastAPI resolves this name in the globals.
Writer = Annotated[Principal, Depends(page_guard(Permission.ALERTS_WRITE))]


@dataclass(frozen=True, slots=True)
class PolicyView:
    config: EscalationPolicyConfig
    running: list[EscalationState]


@dataclass(frozen=True, slots=True)
class RotationView:
    name: str
    handoff: str
    location: str
    members: list[str]
    current: Shift
    upcoming: list[Shift]
    overrides: list[Override]


def escalation_policies(rt: Runtime) -> list[PolicyView]:
    engine = rt.alerts.escalation
    states = engine.all()
    return [
        PolicyView(engine.policies[name], [s for s in states if s.policy == name])
        for name in sorted(engine.policies)
    ]


def rotations(rt: Runtime, now: float) -> list[RotationView]:
    oncall = rt.alerts.oncall
    out = []
    for name in sorted(oncall.rotations):
        cfg = oncall.rotation(name).config
        current = oncall.on_call(name, now)
        try:
            upcoming = oncall.schedule(name, current.ends_at, UPCOMING_SHIFTS)
        except (OverflowError, ValueError):  # an override that runs until the year 9999
            upcoming = []
        out.append(
            RotationView(
                name=name,
                handoff=cfg.handoff.value,
                location=cfg.location,
                members=list(cfg.members),
                current=current,
                upcoming=upcoming,
                overrides=[o for o in oncall.overrides(name) if o.ends_at > now],
            )
        )
    return out


def oncall_pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)

    def page(
        request: Request,
        *,
        status_code: int = 200,
        flashes: Sequence[tuple[str, str]] = (),
        entered: dict[str, Any] | None = None,
    ) -> Response:
        now = rt.clock.now()
        return render(
            templates,
            request,
            "oncall.html",
            "/oncall",
            status_code=status_code,
            title="On call",
            policies=escalation_policies(rt),
            rotations=rotations(rt, now),
            receivers=rt.alerts.receiver_names,
            entered=entered or {},
            flashes=list(flashes),
        )

    @router.get("/oncall", dependencies=[Depends(page_guard(Permission.ALERTS_READ))])
    def oncall(request: Request) -> Response:
        return page(request)

    @router.post("/oncall/overrides")
    async def add_override(
        request: Request,
        principal: Writer,
        rotation: Annotated[str, Form(max_length=200)] = "",
        receiver: Annotated[str, Form(max_length=200)] = "",
        starts_at: Annotated[str, Form(max_length=40)] = "",
        ends_at: Annotated[str, Form(max_length=40)] = "",
        comment: Annotated[str, Form(max_length=2000)] = "",
    ) -> Response:
        entered = {
            "rotation": rotation,
            "receiver": receiver,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "comment": comment,
        }
        try:
            now = rt.clock.now()
            starts = parse_utc(starts_at, "starts") or now
            ends = parse_utc(ends_at, "ends")
            if ends is None:
                raise UserInputError("ends: say when the override ends (UTC)")
            rt.alerts.actions.add_override(
                rotation,
                receiver,
                starts,
                ends,
                by=principal,
                comment=comment.strip(),
                remote_addr=remote_addr(request.scope),
            )
        except UserInputError as exc:
            return page(
                request,
                status_code=exc.status_code,
                flashes=[("error", f"Override not added: {exc}")],
                entered=entered,
            )
        return see_other("/oncall", "override-added")

    @router.post("/oncall/{rotation}/overrides/{override_id}/delete")
    async def remove_override(
        request: Request, rotation: str, override_id: str, principal: Writer
    ) -> Response:
        try:
            rt.alerts.actions.remove_override(
                rotation, override_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return page(request, status_code=exc.status_code, flashes=[("error", str(exc))])
        return see_other("/oncall", "override-removed")

    return router
