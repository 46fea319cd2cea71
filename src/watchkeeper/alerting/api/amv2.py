"""The Alertmanager v2 HTTP API under ``/alertmanager/api/v2``, with Alertmanager's JSON
shapes, so that Prometheus can send alerts here and ``amtool`` works unchanged."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper import __version__
from watchkeeper.alerting.alerts import validate_input
from watchkeeper.alerting.amexport import alertmanager_yaml
from watchkeeper.alerting.api.edge import parse_filters
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.matchers import MatcherError, matcher_from_parts
from watchkeeper.alerting.model import AlertInput
from watchkeeper.alerting.silences import Silence, SilenceState
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import UserInputError
from watchkeeper.core.labels import Labels
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal, require

PREFIX = "/alertmanager/api/v2"
ALERTMANAGER_API_VERSION = "0.25.0"
Filters = Annotated[list[str] | None, Query(description='matchers, e.g. alertname="Foo"')]


class PostableAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""


class MatcherModel(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    value: str
    isRegex: bool
    isEqual: bool = True


class PostableSilence(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    matchers: list[MatcherModel]
    startsAt: datetime
    endsAt: datetime
    createdBy: str = ""
    comment: str = ""


def am_error(status: int, message: str) -> JSONResponse:
    """Alertmanager answers errors with a JSON string, which amtool prints as is."""
    return JSONResponse(status_code=status, content=message)


def _ts(value: datetime | None) -> float:
    if value is None:
        return 0.0
    ts = value.timestamp()
    return ts if ts > 0 else 0.0


def _receiver_filter(receiver: str | None) -> re.Pattern[str] | None:
    if not receiver:
        return None
    try:
        return re.compile(receiver)
    except re.error as exc:
        raise HTTPException(400, f"receiver: invalid regular expression: {exc}") from None


def _silence_order(s: Silence, now: float) -> tuple[int, float]:
    state = s.state(now)
    if state is SilenceState.ACTIVE:
        return (0, s.ends_at)
    if state is SilenceState.PENDING:
        return (1, s.starts_at)
    return (2, -s.ends_at)


def alertmanager_router(manager: AlertManager) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["alertmanager"])
    read_alerts = Depends(require(Permission.ALERTS_READ))
    write_alerts = Depends(require(Permission.ALERTS_WRITE))
    read_silences = Depends(require(Permission.SILENCES_READ))
    write_silences = Depends(require(Permission.SILENCES_WRITE))

    @router.get("/alerts", dependencies=[read_alerts])
    async def get_alerts(
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        unprocessed: bool = True,
        filter: Filters = None,
        receiver: str | None = None,
    ) -> list[dict[str, Any]]:
        views = manager.views.alerts(
            filters=parse_filters(filter),
            receiver=_receiver_filter(receiver),
            active=active,
            silenced=silenced,
            inhibited=inhibited,
        )
        return [v.am_dict() for v in views]

    @router.post("/alerts")
    async def post_alerts(
        alerts: list[PostableAlert], request: Request, principal: Principal = write_alerts
    ) -> Response:
        inputs: list[AlertInput] = []
        problems: list[str] = []
        for i, posted in enumerate(alerts):
            inp = AlertInput(
                labels=Labels(posted.labels),
                annotations=posted.annotations,
                starts_at=_ts(posted.startsAt),
                ends_at=_ts(posted.endsAt) or None,
                generator_url=posted.generatorURL,
                source="api",
            )
            found = validate_input(inp)
            if found:
                problems.append(f"alert {i}: {'; '.join(found)}")
            else:
                inputs.append(inp)
        await manager.actions.post_alerts(
            inputs, by=principal, remote_addr=remote_addr(request.scope), rejected=len(problems)
        )
        if problems:
            accepted = f" ({len(inputs)} other alerts were accepted)" if inputs else ""
            return am_error(400, "; ".join(problems) + accepted)
        return Response(status_code=200)

    @router.get("/alerts/groups", dependencies=[read_alerts])
    async def get_groups(
        active: bool = True,
        silenced: bool = True,
        inhibited: bool = True,
        filter: Filters = None,
        receiver: str | None = None,
    ) -> list[dict[str, Any]]:
        views = manager.views.alerts(
            filters=parse_filters(filter),
            receiver=None,
            active=active,
            silenced=silenced,
            inhibited=inhibited,
        )
        wanted = {v.alert.fingerprint: v for v in views}
        pattern = _receiver_filter(receiver)
        out = []
        for group in manager.views.groups():
            name = group.route.opts.receiver
            if pattern is not None and not pattern.fullmatch(name):
                continue
            members = [wanted[fp].am_dict() for fp in group.fingerprints if fp in wanted]
            if members:
                out.append(
                    {
                        "labels": group.labels.to_dict(),
                        "receiver": {"name": name},
                        "alerts": members,
                    }
                )
        return out

    @router.get("/silences", dependencies=[read_silences])
    async def get_silences(filter: Filters = None) -> list[dict[str, Any]]:
        now = manager.clock.now()
        silences = manager.silences.query(now, filters=parse_filters(filter))
        silences.sort(key=lambda s: _silence_order(s, now))
        return [s.api_dict(now) for s in silences]

    @router.post("/silences")
    async def post_silence(
        body: PostableSilence, request: Request, principal: Principal = write_silences
    ) -> Response:
        try:
            matchers = tuple(
                matcher_from_parts(m.name, m.value, is_regex=m.isRegex, is_equal=m.isEqual)
                for m in body.matchers
            )
        except MatcherError as exc:
            return am_error(400, str(exc))
        draft = Silence(
            id=body.id or "",
            matchers=matchers,
            starts_at=body.startsAt.timestamp(),
            ends_at=body.endsAt.timestamp(),
            created_by=body.createdBy or principal.name,
            comment=body.comment,
        )
        try:
            stored = await manager.actions.set_silence(
                draft, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return am_error(exc.status_code, str(exc))
        return JSONResponse({"silenceID": stored.id})

    @router.get("/silence/{silence_id}", dependencies=[read_silences])
    async def get_silence(silence_id: str) -> Response:
        try:
            silence = manager.silences.get(silence_id)
        except UserInputError as exc:
            return am_error(exc.status_code, str(exc))
        return JSONResponse(silence.api_dict(manager.clock.now()))

    @router.delete("/silence/{silence_id}")
    async def delete_silence(
        silence_id: str, request: Request, principal: Principal = write_silences
    ) -> Response:
        try:
            await manager.actions.expire_silence(
                silence_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        except UserInputError as exc:
            return am_error(exc.status_code, str(exc))
        return Response(status_code=200)

    @router.get("/status", dependencies=[read_alerts])
    async def get_status() -> dict[str, Any]:
        return {
            "cluster": {"name": "watchkeeper", "status": "disabled", "peers": []},
            # The Alertmanager API version this speaks (amtool warns on a mismatch);
            # Watchkeeper's own version is in branch and revision.
            "versionInfo": {
                "branch": "watchkeeper",
                "buildDate": "",
                "buildUser": "",
                "goVersion": "",
                "revision": f"watchkeeper-{__version__}",
                "version": ALERTMANAGER_API_VERSION,
            },
            "config": {"original": alertmanager_yaml(manager.config)},
            "uptime": rfc3339(manager.started_at or manager.clock.now()),
        }

    @router.get("/receivers", dependencies=[read_alerts])
    async def get_receivers() -> list[dict[str, str]]:
        names = manager.receiver_names + sorted(manager.oncall.rotations)
        return [{"name": n} for n in names]

    return router
