"""A fake PagerDuty Events API v2 (``POST /v2/enqueue``) that validates events as PagerDuty
does and keeps incidents by ``dedup_key``::

    with FakePagerDuty(routing_keys={"R" * 32}) as pd:
        pd.events_url                     # .../v2/enqueue
        pd.incidents["wk-…"].status       # triggered / acknowledged / resolved

Answers ``202 {"status": "success", "message": "Event processed", "dedup_key": …}``;
invalid events get ``400 {"status": "invalid event", "message": "Event object is invalid",
"errors": [...]}``; an unknown routing key ``400`` as well; bodies over 512 KB ``413``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService

SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}
MAX_BODY = 512 * 1024


@dataclass
class FakeIncident:
    dedup_key: str
    status: str
    summary: str
    severity: str
    events: list[dict[str, Any]] = field(default_factory=list)


class FakePagerDuty(FakeService):
    def __init__(self, *, routing_keys: set[str] | None = None, port: int = 0) -> None:
        self.routing_keys = routing_keys or {"R" * 32}
        self.incidents: dict[str, FakeIncident] = {}
        self.events: list[dict[str, Any]] = []
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [Route("/v2/enqueue", self._enqueue, methods=["POST"])]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.incidents.clear()
            self.events.clear()

    @property
    def events_url(self) -> str:
        return f"{self.url}/v2/enqueue"

    async def _enqueue(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"status": "invalid event", "message": "Request too large"}, 413)
        try:
            event = json.loads(raw)
        except ValueError:
            return _invalid(["Request body is not valid JSON"])
        if not isinstance(event, dict):
            return _invalid(["Event must be a JSON object"])
        errors = self._problems(event)
        if errors:
            return _invalid(errors)
        action = event["event_action"]
        key = str(event.get("dedup_key") or uuid.uuid4().hex)
        with self.lock:
            self.events.append(event)
            incident = self.incidents.get(key)
            if action == "trigger":
                payload = event["payload"]
                if incident is None or incident.status == "resolved":
                    incident = FakeIncident(
                        key, "triggered", payload["summary"], payload["severity"]
                    )
                    self.incidents[key] = incident
                incident.summary = payload["summary"]
            elif incident is not None and incident.status != "resolved":
                incident.status = "acknowledged" if action == "acknowledge" else "resolved"
            if incident is not None:
                incident.events.append(event)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": key}, 202
        )

    def _problems(self, event: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        if event.get("routing_key") not in self.routing_keys:
            errors.append("'routing_key' is invalid")
        action = event.get("event_action")
        if action not in ACTIONS:
            errors.append("'event_action' must be one of trigger, acknowledge, resolve")
        key = event.get("dedup_key")
        if key is not None and (not isinstance(key, str) or len(key) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if action in ("acknowledge", "resolve") and not key:
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                return [*errors, "'payload' is missing or not an object"]
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary:
                errors.append("'payload.summary' is missing")
            elif len(summary) > 1024:
                errors.append("'payload.summary' is longer than 1024 characters")
            if not payload.get("source"):
                errors.append("'payload.source' is missing")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' must be critical, error, warning or info")
            for link in event.get("links") or []:
                if not isinstance(link, dict) or not link.get("href"):
                    errors.append("'links' entries need an href")
        return errors


def _invalid(errors: list[str]) -> Response:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400
    )
