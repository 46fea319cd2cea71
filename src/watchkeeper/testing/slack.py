"""A fake Slack: incoming webhooks (``POST /services/T…/B…/<token>``) and the Web API's
``chat.postMessage`` and ``chat.update`` (``POST /api/<method>`` with a bearer token),
checking requests as Slack does and answering in its shapes::

    with FakeSlack(bot_tokens={"xoxb-1"}, webhook_tokens={"abc"}) as slack:
        slack.webhook_url("abc")            # .../services/T000/B000/abc
        slack.api_url                       # .../api/
        slack.messages                      # {ts: FakeSlackMessage}

Incoming webhooks answer ``200 ok`` or an error word as text (``invalid_payload``,
``no_text``, ``invalid_blocks`` with 400; ``invalid_token`` 403; ``channel_not_found`` 404;
``channel_is_archived`` 410). The Web API answers HTTP 200 with ``{"ok": false, "error":
…}`` for its errors (``not_authed``, ``invalid_auth``, ``channel_not_found``, ``no_text``,
``invalid_blocks``, ``message_not_found``, ``msg_too_long``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from watchkeeper.testing.faults import FakeService

BLOCK_TYPES = {"section", "header", "context", "actions", "divider", "image", "rich_text", "input"}
MAX_BLOCKS = 50
MAX_TEXT = 40_000


@dataclass
class FakeSlackMessage:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    attachments: list[Any]
    updates: list[dict[str, Any]] = field(default_factory=list)


def blocks_problem(blocks: Any) -> str | None:
    """Why Slack would refuse these blocks (``None`` when they are fine)."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "blocks must be a list of at most 50"
    for block in blocks:
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return f"unknown block type {block.get('type') if isinstance(block, dict) else block!r}"
        text = block.get("text")
        if block["type"] == "header":
            if not isinstance(text, dict) or text.get("type") != "plain_text":
                return "header text must be plain_text"
            if len(text.get("text", "")) > 150:
                return "header text longer than 150"
        if block["type"] == "section":
            if text is None and not block.get("fields"):
                return "section needs text or fields"
            if isinstance(text, dict) and len(text.get("text", "")) > 3000:
                return "section text longer than 3000"
            if len(block.get("fields") or []) > 10:
                return "section has more than 10 fields"
        if block["type"] == "actions":
            for el in block.get("elements", []):
                if el.get("type") == "button" and len(el.get("text", {}).get("text", "")) > 75:
                    return "button text longer than 75"
    return None


def _all_blocks(body: dict[str, Any]) -> list[Any]:
    blocks = list(body.get("blocks") or [])
    for att in body.get("attachments") or []:
        if isinstance(att, dict):
            blocks.extend(att.get("blocks") or [])
    return blocks


class FakeSlack(FakeService):
    def __init__(
        self,
        *,
        bot_tokens: set[str] | None = None,
        webhook_tokens: set[str] | None = None,
        channels: set[str] | None = None,
        archived: set[str] | None = None,
        port: int = 0,
    ) -> None:
        self.bot_tokens = bot_tokens or {"xoxb-test-token"}
        self.webhook_tokens = webhook_tokens or {"webhook-token"}
        self.channels = channels  # None: any channel exists
        self.archived = archived or set()
        self.messages: dict[str, FakeSlackMessage] = {}
        self.webhook_posts: list[dict[str, Any]] = []
        self._ts = itertools.count(1)
        super().__init__(port=port)

    def routes(self) -> list[Any]:
        return [
            Route("/services/{team}/{bot}/{token}", self._webhook, methods=["POST"]),
            Route("/api/{method}", self._api, methods=["POST"]),
        ]

    def reset(self) -> None:
        """Forget what was received and every planned fault (between tests)."""
        self.faults.clear()
        with self.lock:
            self.messages.clear()
            self.webhook_posts.clear()

    def webhook_url(self, token: str = "webhook-token") -> str:  # noqa: S107
        return f"{self.url}/services/T0000/B0000/{token}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # -- incoming webhooks ---------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        if request.path_params["token"] not in self.webhook_tokens:
            return PlainTextResponse("invalid_token", status_code=403)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(body, dict):
            return PlainTextResponse("invalid_payload", status_code=400)
        problem = self._message_problem(body)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        channel = body.get("channel")
        if channel in self.archived:
            return PlainTextResponse("channel_is_archived", status_code=410)
        if channel and self.channels is not None and channel not in self.channels:
            return PlainTextResponse("channel_not_found", status_code=404)
        with self.lock:
            self.webhook_posts.append(body)
        return PlainTextResponse("ok")

    def _message_problem(self, body: dict[str, Any]) -> str | None:
        if not body.get("text") and not _all_blocks(body):
            return "no_text"
        if len(str(body.get("text", ""))) > MAX_TEXT:
            return "msg_too_long"
        if blocks_problem(_all_blocks(body)):
            return "invalid_blocks"
        return None

    # -- Web API -------------------------------------------------------------------------

    async def _api(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return _err("not_authed")
        if auth.removeprefix("Bearer ") not in self.bot_tokens:
            return _err("invalid_auth")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _err("invalid_json")
        method = request.path_params["method"]
        if method == "chat.postMessage":
            return self._post(body)
        if method == "chat.update":
            return self._update(body)
        return _err("unknown_method", 404)

    def _post(self, body: dict[str, Any]) -> Response:
        channel = body.get("channel")
        if not channel or (self.channels is not None and channel not in self.channels):
            return _err("channel_not_found")
        if channel in self.archived:
            return _err("is_archived")
        problem = self._message_problem(body)
        if problem:
            return _err(problem)
        ts = f"1700000000.{next(self._ts):06d}"
        msg = FakeSlackMessage(
            channel=channel,
            ts=ts,
            text=str(body.get("text", "")),
            blocks=list(body.get("blocks") or []),
            attachments=list(body.get("attachments") or []),
        )
        with self.lock:
            self.messages[ts] = msg
        return JSONResponse(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": msg.text, "ts": ts}}
        )

    def _update(self, body: dict[str, Any]) -> Response:
        ts, channel = body.get("ts"), body.get("channel")
        with self.lock:
            msg = self.messages.get(str(ts))
        if msg is None or msg.channel != channel:
            return _err("message_not_found")
        problem = self._message_problem(body)
        if problem:
            return _err(problem)
        with self.lock:
            msg.updates.append(body)
            msg.text = str(body.get("text", msg.text))
            msg.attachments = list(body.get("attachments") or msg.attachments)
        return JSONResponse({"ok": True, "channel": channel, "ts": ts, "text": msg.text})


def _err(code: str, status: int = 200) -> Response:
    return JSONResponse({"ok": False, "error": code}, status_code=status)
