"""A fake Opsgenie Alert API v2: create (``POST /v2/alerts``), acknowledge and close
(``POST /v2/alerts/{identifier}/acknowledge|close?identifierType=alias``), with
``Authorization: GenieKey <key>``. Answers ``202 {"result": "Request will be processed",
"took": 0.1, "requestId": …}``; a bad key ``401``, an invalid body ``422`` with
``errors``; like Opsgenie, acknowledge/close of an unknown alias is accepted (202) and
processed asynchronously (see ``unmatched``)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService


@dataclass
class FakeOpsgenieAlert:
    alias: str
    message: str
    priority: str
    status: str = "open"
    acknowledged: bool = False
    count: int = 1
    bodies: list[dict[str, Any]] = field(default_factory=list)


class FakeOpsgenie(FakeService):
    def __init__(self, *, api_keys: set[str] | None = None, port: int = 0) -> None:
        self.api_keys = api_keys or {"genie-key"}
        self.alerts: dict[str, FakeOpsgenieAlert] = {}
        self.unmatched: list[tuple[str, str]] = []
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [
            Route("/v2/alerts", self._create, methods=["POST"]),
            Route("/v2/alerts/{ident}/{action}", self._act, methods=["POST"]),
        ]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.alerts.clear()
            self.unmatched.clear()

    @property
    def api_url(self) -> str:
        return self.url + "/"

    def _auth(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("GenieKey ") or auth.removeprefix("GenieKey ") not in self.api_keys:
            return _answer({"message": "Could not authenticate", "took": 0.0}, 401)
        return None

    async def _create(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _answer({"message": "Request body is not processable."}, 400)
        errors: dict[str, str] = {}
        msg = body.get("message") if isinstance(body, dict) else None
        if not isinstance(msg, str) or not msg.strip():
            errors["message"] = "Message can not be empty."
        elif len(msg) > 130:
            errors["message"] = "Message can not be longer than 130 characters."
        if isinstance(body, dict):
            if len(str(body.get("alias", ""))) > 512:
                errors["alias"] = "Alias can not be longer than 512 characters."
            if body.get("priority", "P3") not in ("P1", "P2", "P3", "P4", "P5"):
                errors["priority"] = "Priority should be one of P1, P2, P3, P4, P5"
            if len(str(body.get("description", ""))) > 15000:
                errors["description"] = "Description can not be longer than 15000 characters."
        if errors:
            return _answer(
                {
                    "message": "Request body is not processable. Please check the errors.",
                    "errors": errors,
                },
                422,
            )
        alias = str(body.get("alias") or uuid.uuid4())
        with self.lock:
            alert = self.alerts.get(alias)
            if alert is None or alert.status == "closed":
                alert = FakeOpsgenieAlert(alias, msg or "", body.get("priority", "P3"))
                self.alerts[alias] = alert
            else:
                alert.count += 1
            alert.bodies.append(body)
        return _answer({"result": "Request will be processed"}, 202)

    async def _act(self, request: Request) -> Response:
        denied = self._auth(request)
        if denied:
            return denied
        action = request.path_params["action"]
        if action not in ("acknowledge", "close"):
            return _answer({"message": "Not found"}, 404)
        if request.query_params.get("identifierType", "id") != "alias":
            return _answer({"message": "identifierType must be alias here"}, 422)
        ident = request.path_params["ident"]
        with self.lock:
            alert = self.alerts.get(ident)
            if alert is None:
                self.unmatched.append((action, ident))
            elif action == "close":
                alert.status = "closed"
            else:
                alert.acknowledged = True
        return _answer({"result": "Request will be processed"}, 202)


def _answer(body: dict[str, Any], status: int) -> Response:
    return JSONResponse({**body, "took": 0.01, "requestId": str(uuid.uuid4())}, status)
