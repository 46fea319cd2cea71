"""What every channel's notifier shares: the build context (HTTP clients with the injected
transport, the clock, templates, the external URL) and a small base class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from watchkeeper.core.clock import Clock, SystemClock
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.http import ClientFactory, Redactor
from watchkeeper.notify.httpconfig import HTTPClientConfig
from watchkeeper.notify.templating import Template, Templates, template_data


@dataclass
class NotifierContext:
    clients: ClientFactory = field(default_factory=ClientFactory)
    clock: Clock = field(default_factory=SystemClock)
    templates: Templates = field(default_factory=Templates)
    external_url: str = ""


def safe_target(url: str) -> str:
    """``https://hooks.slack.com/…``: scheme and host only (paths and queries may hold
    tokens)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return "(invalid URL)"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"


class BaseNotifier:
    """Base of the HTTP notifiers. Subclasses set ``channel`` and implement ``send``."""

    channel: ClassVar[str] = ""
    # whether send() reads or writes the group's state (threads, message ids); the worker
    # skips loading and saving it for channels that do not
    stateful: ClassVar[bool] = True

    def __init__(
        self,
        config: Any,
        ctx: NotifierContext,
        *,
        where: str,
        secrets: Sequence[str | None] = (),
    ) -> None:
        self.config = config
        self.ctx = ctx
        self.where = where
        self.send_resolved: bool = bool(getattr(config, "send_resolved", True))
        self.warnings: list[str] = []
        http_config: HTTPClientConfig | None = getattr(config, "http_config", None)
        self.http_config = http_config
        all_secrets = list(secrets)
        if http_config is not None:
            all_secrets.extend(http_config.secret_values())
        self.redact = Redactor(all_secrets)
        self.client: httpx.AsyncClient = ctx.clients.client(http_config)
        self.timeout = float(getattr(config, "timeout", 10.0) or 0.0)

    def template(
        self, name: str, source: str | None, default: str, *, html: bool = False
    ) -> Template:
        return self.ctx.templates.compile(
            source, default=default, where=f"{self.where}.{name}", html=html, warnings=self.warnings
        )

    def data(self, message: NotificationMessage) -> dict[str, Any]:
        if not message.external_url and self.ctx.external_url:
            from dataclasses import replace

            message = replace(message, external_url=self.ctx.external_url)
        return template_data(message)

    def auth_headers(self) -> dict[str, str]:
        return self.http_config.auth_headers() if self.http_config else {}

    def now(self) -> float:
        return self.ctx.clock.now()

    def describe(self) -> str:
        """Where this integration sends, without secrets (for ``notify test`` and the API)."""
        return self.channel


def skipped(why: str) -> DeliveryReceipt:
    return DeliveryReceipt(status_code=None, summary=f"skipped: {why}", skipped=True)
