"""A fake Telegram Bot API (``POST /bot<token>/sendMessage``): checks the token, chat,
text length (4096) and, for ``parse_mode: HTML``, that only Telegram's tags are used and
every tag is closed; answers ``{"ok": true, "result": {…message…}}`` or
``{"ok": false, "error_code": …, "description": …}`` with the same HTTP status."""

from __future__ import annotations

import itertools
import json
import re
from html.parser import HTMLParser
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


class _TagCheck(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problem: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problem = f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problem = f'Unmatched end tag "{tag}"'


def html_problem(text: str) -> str | None:
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return "Unsupported entity"
    check = _TagCheck()
    check.feed(text)
    check.close()
    if check.problem:
        return check.problem
    if check.stack:
        return f'Can\'t find end tag corresponding to start tag "{check.stack[-1]}"'
    return None


class FakeTelegram(FakeService):
    def __init__(
        self, *, tokens: set[str] | None = None, chats: set[int] | None = None, port: int = 0
    ) -> None:
        self.tokens = tokens or {"123456:ABC-token"}
        self.chats = chats or {-1001}
        self.messages: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [Route("/bot{token}/{method}", self._call, methods=["POST"])]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.messages.clear()

    async def _call(self, request: Request) -> Response:
        if request.path_params["token"] not in self.tokens:
            return _err(401, "Unauthorized")
        if request.path_params["method"] != "sendMessage":
            return _err(404, "Not Found")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _err(400, "Bad Request: invalid JSON")
        chat = body.get("chat_id")
        if chat not in self.chats:
            return _err(400, "Bad Request: chat not found")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _err(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _err(400, "Bad Request: message is too long")
        if body.get("parse_mode") == "HTML":
            problem = html_problem(text)
            if problem:
                return _err(400, f"Bad Request: can't parse entities: {problem}")
        message = {
            "message_id": next(self._ids),
            "date": 1700000000,
            "chat": {"id": chat, "type": "supergroup"},
            "text": text,
        }
        reply = (body.get("reply_parameters") or {}).get("message_id")
        if reply:
            message["reply_to_message"] = {"message_id": reply}
        with self.lock:
            self.messages.append({**body, "message_id": message["message_id"]})
        return JSONResponse({"ok": True, "result": message})

    def flood(self, retry_after: int, *, times: int = 1) -> None:
        """Answer like Telegram's flood control."""
        self.faults.fail(
            429,
            times=times,
            body={
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
        )


def _err(code: int, description: str) -> Response:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, code)
