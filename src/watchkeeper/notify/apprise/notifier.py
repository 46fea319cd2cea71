"""Apprise: one Apprise object per URL, sent one after another; URLs already reached for a
notification are kept in the group's state so a retry reaches only the others.

Apprise reports a boolean and log lines; the HTTP status in those lines (``error=404``)
classifies the failure like every other channel (4xx permanent, 429 and 5xx retryable)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import apprise

from watchkeeper.core.errors import ConfigError, DeliveryError, DeliveryFailure
from watchkeeper.notify.apprise.config import AppriseConfig
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext
from watchkeeper.notify.http import classify_status

TITLE = "{{ title }}"
BODY = (
    "{% for a in alerts[:10] %}**{{ a.annotations.summary or a.labels.alertname }}**"
    "{% if a.status == 'resolved' %} (resolved){% endif %}\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n{% endif %}"
    "{% if a.dashboardURL %}{{ a.dashboardURL }}\n{% endif %}\n"
    "{% endfor %}{% if alerts | length > 10 %}…and {{ alerts | length - 10 }} more{% endif %}"
)
_CODE = re.compile(r"(?:error=|\()(\d{3})\b")


class AppriseNotifier(BaseNotifier):
    channel: ClassVar[str] = "apprise"

    def __init__(self, config: AppriseConfig, ctx: NotifierContext, *, where: str) -> None:
        urls = [u.reveal() for u in config.urls]
        self.services: list[apprise.Apprise] = []
        self.schemes: list[str] = []
        for i, url in enumerate(urls):
            if apprise.Apprise.instantiate(url) is None:
                raise ConfigError(
                    f"{where}.urls[{i}]: Apprise does not understand this URL (scheme "
                    f"{url.split('://', 1)[0]!r}); see the Apprise wiki for the URL formats"
                )
            service = apprise.Apprise()
            service.add(url)
            self.services.append(service)
            self.schemes.append(url.split("://", 1)[0])
        super().__init__(config, ctx, where=where, secrets=urls)
        self.cfg = config
        self.t_title = self.template("title", config.title, TITLE)
        self.t_body = self.template("body", config.body, BODY, html=config.format == "html")

    def describe(self) -> str:
        return "Apprise " + ", ".join(f"{s}://…" for s in self.schemes)

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        data = self.data(message)
        title, body = self.t_title.render(data), self.t_body.render(data)
        kind = (
            apprise.NotifyType.INFO
            if message.is_test
            else apprise.NotifyType.SUCCESS
            if message.status.value == "resolved"
            else apprise.NotifyType.WARNING
            if message.event.value == "acknowledged"
            else apprise.NotifyType.FAILURE
        )
        progress = state.setdefault("apprise_sent", {})
        for key in [k for k in progress if k != message.dedup_key]:
            del progress[key]
        done: list[int] = progress.setdefault(message.dedup_key, [])
        sent = 0
        for index, service in enumerate(self.services):
            if index in done:
                continue
            result = await service.async_notify(
                body=body,
                title=title,
                notify_type=kind,
                body_format=self.cfg.format,
                timeout=float(self.cfg.timeout),
            )
            if not result:
                raise self._failure(result, index, len(done))
            done.append(index)
            sent += 1
        return DeliveryReceipt(
            None, f"sent through {sent} Apprise URL(s) ({len(done)} of {len(self.services)})"
        )

    def _failure(self, result: Any, index: int, reached: int) -> DeliveryError:
        scheme = self.schemes[index]
        lines = [self.redact(str(entry.message)) for entry in result.logs()]
        status = getattr(result, "status", None)
        where = f"Apprise {scheme}:// (url {index}; {reached} reached before)"
        if status is not None and status.name == "TIMEOUT":
            return DeliveryError(f"{where} timed out", reason=DeliveryFailure.TIMEOUT)
        codes = [int(m.group(1)) for line in lines for m in _CODE.finditer(line)]
        detail = lines[-1] if lines else "no details"
        if codes:
            classified = classify_status(codes[-1], service=where, detail=detail)
            if classified is not None:
                return classified
        return DeliveryError(f"{where} failed: {detail}", reason=DeliveryFailure.CONNECTION)
