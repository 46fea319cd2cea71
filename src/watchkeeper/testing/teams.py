"""A fake Microsoft Teams webhook: workflow URLs (``/workflows/<id>``, answering ``202``)
and classic incoming webhooks (``/webhookb2/<id>``, answering ``200`` with ``1``), both
taking a ``message`` with an Adaptive Card attachment. Invalid cards get ``400`` (with the
text Teams uses), unknown ids ``404``, bodies over 28 KB ``413``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BODY = 28 * 1024
ELEMENTS = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image", "ActionSet", "RichTextBlock"}


def card_problem(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("type") != "message":
        return "the body must be a message with attachments"
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "attachments are missing"
    for att in attachments:
        if att.get("contentType") != CARD_TYPE:
            return f"unsupported contentType {att.get('contentType')!r}"
        card = att.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return "content must be an AdaptiveCard"
        if str(card.get("version", "")) not in ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5"):
            return "unsupported AdaptiveCard version"
        for element in card.get("body", []):
            if element.get("type") not in ELEMENTS:
                return f"unknown element {element.get('type')!r}"
            if element.get("type") == "TextBlock" and not isinstance(element.get("text"), str):
                return "TextBlock without text"
        for action in card.get("actions", []):
            if action.get("type") == "Action.OpenUrl" and not action.get("url"):
                return "Action.OpenUrl without url"
    return None


class FakeTeams(FakeService):
    def __init__(self, *, hook_ids: set[str] | None = None, port: int = 0) -> None:
        self.hook_ids = hook_ids or {"hook-1"}
        self.cards: list[dict[str, Any]] = []
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [
            Route("/workflows/{hook}", self._workflow, methods=["POST"]),
            Route("/webhookb2/{hook}/{rest:path}", self._incoming, methods=["POST"]),
        ]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.cards.clear()

    def workflow_url(self, hook: str = "hook-1") -> str:
        return f"{self.url}/workflows/{hook}?api-version=2016-06-01&sig=SIGNATURE"

    def incoming_url(self, hook: str = "hook-1") -> str:
        return f"{self.url}/webhookb2/{hook}/IncomingWebhook/abc/def"

    async def _accept(self, request: Request) -> str | Response:
        if request.path_params["hook"] not in self.hook_ids:
            return PlainTextResponse("Not Found", status_code=404)
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return PlainTextResponse("Request Entity Too Large", status_code=413)
        try:
            body = json.loads(raw)
        except ValueError:
            return PlainTextResponse("Bad payload received by generic incoming webhook.", 400)
        problem = card_problem(body)
        if problem:
            return PlainTextResponse(
                f"Bad payload received by generic incoming webhook: {problem}", 400
            )
        with self.lock:
            self.cards.append(body)
        return "ok"

    async def _workflow(self, request: Request) -> Response:
        result = await self._accept(request)
        return result if isinstance(result, Response) else Response(status_code=202)

    async def _incoming(self, request: Request) -> Response:
        result = await self._accept(request)
        return result if isinstance(result, Response) else PlainTextResponse("1")
