"""A fake Discord webhook (``POST /api/webhooks/{id}/{token}``) that validates messages
and embeds against Discord's limits and answers like Discord: ``204`` (or ``200`` with the
message under ``?wait=true``); ``400 {"code": 50035, "message": "Invalid Form Body",
"errors": …}``; ``401`` for a wrong token; ``404 {"code": 10015, "message": "Unknown
Webhook"}``; ``429`` with ``retry_after`` in the body and the header."""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService


def message_problems(body: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(body, dict):
        return {"_": "body must be an object"}
    content, embeds = body.get("content"), body.get("embeds") or []
    if not content and not embeds:
        errors["content"] = "Cannot send an empty message"
    if content and len(content) > 2000:
        errors["content"] = "Must be 2000 or fewer in length."
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, embed in enumerate(embeds):
        title, desc = str(embed.get("title", "")), str(embed.get("description", ""))
        if len(title) > 256:
            errors[f"embeds.{i}.title"] = "Must be 256 or fewer in length."
        if len(desc) > 4096:
            errors[f"embeds.{i}.description"] = "Must be 4096 or fewer in length."
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, f in enumerate(fields):
            if not f.get("name") or not f.get("value"):
                errors[f"embeds.{i}.fields.{j}"] = "name and value are required"
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            errors[f"embeds.{i}.color"] = "Color must be an integer 0..16777215"
        total += len(title) + len(desc) + sum(len(str(f.get("value", ""))) for f in fields)
    if total > 6000:
        errors["embeds"] = "Embed size exceeds maximum size of 6000"
    return errors


class FakeDiscord(FakeService):
    def __init__(self, *, webhooks: dict[str, str] | None = None, port: int = 0) -> None:
        self.webhooks = webhooks or {"123": "token"}
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [Route("/api/webhooks/{wid}/{token}", self._post, methods=["POST"])]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.messages.clear()

    def webhook_url(self, wid: str = "123", token: str = "token") -> str:  # noqa: S107
        return f"{self.url}/api/webhooks/{wid}/{token}"

    async def _post(self, request: Request) -> Response:
        wid, token = request.path_params["wid"], request.path_params["token"]
        if wid not in self.webhooks:
            return JSONResponse({"message": "Unknown Webhook", "code": 10015}, 404)
        if self.webhooks[wid] != token:
            return JSONResponse({"message": "Invalid Webhook Token", "code": 50027}, 401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"message": "Cannot send an empty message", "code": 50006}, 400)
        errors = message_problems(body)
        if errors:
            return JSONResponse(
                {"message": "Invalid Form Body", "code": 50035, "errors": errors}, 400
            )
        message = {"id": str(next(self._ids)), "channel_id": "42", **body}
        with self.lock:
            self.messages.append(message)
        if request.query_params.get("wait") == "true":
            return JSONResponse(message)
        return Response(status_code=204)

    def rate_limit(self, retry_after: float, *, times: int = 1) -> None:
        """Answer the next requests like Discord's rate limiter."""
        self.faults.fail(
            429,
            times=times,
            retry_after=retry_after,
            body={
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            },
        )
