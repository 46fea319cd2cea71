"""A fake Twilio Messages API (``POST /2010-04-01/Accounts/{sid}/Messages.json``, form
encoded, HTTP basic auth with the Account SID and auth token). Answers ``201`` with the
message resource; errors in Twilio's shape ``{"code", "message", "more_info", "status"}``:
20003 (401) for bad credentials, 21211 invalid To, 21602 missing Body, 21617 Body over
1600 characters, 21606/21603 missing or bad From (all 400), 20429 (429)."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


class FakeTwilio(FakeService):
    def __init__(
        self,
        *,
        accounts: dict[str, str] | None = None,
        senders: set[str] | None = None,
        port: int = 0,
    ) -> None:
        self.accounts = accounts or {"AC" + "0" * 32: "auth-token"}
        self.senders = senders or {"+15550000000"}
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.messages.clear()

    async def _create(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        if not self._authorised(request, sid):
            return _error(401, 20003, "Authenticate")
        form = await request.form()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        sender, service = form.get("From"), form.get("MessagingServiceSid")
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if not sender and not service:
            return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required.")
        if sender and sender not in self.senders:
            return _error(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number.",
            )
        msid = f"SM{next(self._ids):032d}"
        resource = {
            "sid": msid,
            "account_sid": sid,
            "to": to,
            "from": sender,
            "messaging_service_sid": service,
            "body": body,
            "status": "queued",
            "num_segments": str(len(body) // 153 + 1),
            "direction": "outbound-api",
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{msid}.json",
        }
        with self.lock:
            self.messages.append(resource)
        return JSONResponse(resource, 201)

    def _authorised(self, request: Request, sid: str) -> bool:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == sid and self.accounts.get(sid) == password


def _error(status: int, code: int, message: str) -> Response:
    return JSONResponse(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status,
    )
