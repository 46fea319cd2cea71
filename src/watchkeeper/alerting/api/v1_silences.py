"""``/api/v1/silences``: create (with a preview of what it mutes, and a refusal of a silence
that matches every alert unless ``force``), list, read and expire silences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from watchkeeper.alerting.api.edge import http_errors, parse_filters, timestamp
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.matchers import MatcherError, matcher_from_parts, parse_matchers
from watchkeeper.alerting.silences import Silence, SilenceState, matches_every_alert
from watchkeeper.core.durations import Duration
from watchkeeper.core.labels import Matcher
from watchkeeper.security.permissions import Permission
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import PageLimit, PageOffset, Principal, page, require


class MatcherIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[str | MatcherIn] = Field(
        min_length=1, description='matcher strings (service=~"api|db") or objects'
    )


class SilenceBody(PreviewBody):
    id: str | None = Field(None, description="update this silence")
    starts_at: datetime | None = Field(None, description="default: now")
    ends_at: datetime | None = None
    duration: Duration | None = Field(None, description="instead of ends_at, e.g. 2h")
    comment: str = Field(min_length=1, description="why; shown to everyone")
    force: bool = Field(False, description="allow a silence that matches every alert")


def to_matchers(items: list[str | MatcherIn]) -> tuple[Matcher, ...]:
    out: list[Matcher] = []
    try:
        for item in items:
            if isinstance(item, str):
                out.extend(parse_matchers(item))
            else:
                out.append(
                    matcher_from_parts(
                        item.name, item.value, is_regex=item.is_regex, is_equal=item.is_equal
                    )
                )
    except MatcherError as exc:
        raise HTTPException(400, f"matchers: {exc}") from None
    return tuple(out)


def silences_router(manager: AlertManager) -> APIRouter:
    router = APIRouter(prefix="/api/v1/silences", tags=["silences"])
    read = Depends(require(Permission.SILENCES_READ))
    write = Depends(require(Permission.SILENCES_WRITE))

    def show(s: Silence) -> dict[str, Any]:
        now = manager.clock.now()
        body = s.api_dict(now)
        body["matchers_text"] = s.describe()
        muted = manager.silences.preview(s.matchers, manager.store, now) if s.is_active(now) else []
        body["muting"] = [a.fingerprint for a in muted]
        return body

    @router.get(
        "",
        dependencies=[read],
        description="A page of silences (``items``, ``total``, ``limit``, ``offset``); "
        "``data`` repeats ``items`` for earlier clients.",
    )
    async def list_silences(
        filter: Annotated[list[str] | None, Query()] = None,
        state: SilenceState | None = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        now = manager.clock.now()
        found = manager.silences.query(now, filters=parse_filters(filter), state=state)
        out = page(found, limit, offset)
        out["items"] = [show(s) for s in out["items"]]
        out["data"] = out["items"]
        return out

    @router.post("/preview", dependencies=[read])
    async def preview(body: PreviewBody) -> dict[str, Any]:
        matchers = to_matchers(body.matchers)
        now = manager.clock.now()
        alerts = manager.silences.preview(matchers, manager.store, now)
        return {
            "matches_every_alert": matches_every_alert(matchers),
            "count": len(alerts),
            "alerts": [manager.views.view(a, now).v1_dict() for a in alerts],
        }

    @router.post("", status_code=201)
    async def create(
        body: SilenceBody, request: Request, principal: Principal = write
    ) -> dict[str, Any]:
        now = manager.clock.now()
        starts = timestamp(body.starts_at, default=now, what="starts_at")
        if body.ends_at is not None and body.duration is not None:
            raise HTTPException(400, "give ends_at or duration, not both")
        if body.ends_at is None and body.duration is None:
            raise HTTPException(400, "give ends_at or duration (e.g. 2h) to say when it ends")
        ends = (
            timestamp(body.ends_at, default=0.0, what="ends_at")
            if body.ends_at is not None
            else max(starts, now) + float(body.duration or 0)
        )
        draft = Silence(
            id=body.id or "",
            matchers=to_matchers(body.matchers),
            starts_at=starts,
            ends_at=ends,
            created_by=principal.name,
            comment=body.comment,
        )
        with http_errors():
            stored = await manager.actions.set_silence(
                draft, force=body.force, by=principal, remote_addr=remote_addr(request.scope)
            )
        return show(stored)

    @router.get("/{silence_id}", dependencies=[read])
    async def get(silence_id: str) -> dict[str, Any]:
        with http_errors():
            return show(manager.silences.get(silence_id))

    @router.delete("/{silence_id}")
    async def expire(
        silence_id: str, request: Request, principal: Principal = write
    ) -> dict[str, Any]:
        with http_errors():
            expired = await manager.actions.expire_silence(
                silence_id, by=principal, remote_addr=remote_addr(request.scope)
            )
        return show(expired)

    return router
