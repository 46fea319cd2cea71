"""Opsgenie Alert API v2: ``POST /v2/alerts`` creates the alert of a group (``alias`` = a
hash of receiver and group key, so Opsgenie deduplicates repeats); acknowledged posts
``/v2/alerts/{alias}/acknowledge?identifierType=alias``, resolved ``…/close``."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar
from urllib.parse import quote

from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import ConfigError
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target, skipped
from watchkeeper.notify.http import malformed, request
from watchkeeper.notify.opsgenie.config import OpsGenieConfig

MESSAGE = "{{ title }}"
DESCRIPTION = (
    "{% for a in alerts %}{{ a.status | upper }}: {{ a.labels.alertname }} "
    "({{ a.labels | pairs }})\n{% if a.annotations.summary %}{{ a.annotations.summary }}\n"
    "{% endif %}{% if a.dashboardURL %}{{ a.dashboardURL }}\n{% endif %}\n{% endfor %}"
)
PRIORITIES = {
    "critical": "P1",
    "page": "P1",
    "error": "P2",
    "high": "P2",
    "warning": "P3",
    "info": "P5",
    "low": "P4",
}


def alias_of(receiver: str, group_key: str, test: str = "") -> str:
    return hashlib.sha256(f"{receiver}\x00{group_key}\x00{test}".encode()).hexdigest()


class OpsGenieNotifier(BaseNotifier):
    channel: ClassVar[str] = "opsgenie"
    stateful: ClassVar[bool] = False

    def __init__(self, config: OpsGenieConfig, ctx: NotifierContext, *, where: str) -> None:
        if config.api_key is None:
            raise ConfigError(
                f"{where}: api_key (or api_key_file) is required, here or as "
                "opsgenie_api_key in alerting.global"
            )
        super().__init__(config, ctx, where=where, secrets=[config.api_key.reveal()])
        self.cfg = config
        self.t_message = self.template("message", config.message, MESSAGE)
        self.t_description = self.template("description", config.description, DESCRIPTION)
        self.t_details = {
            k: self.template(f"details.{k}", v, "") for k, v in config.details.items()
        }
        self.t_note = self.template("note", config.note, "") if config.note else None
        self.t_priority = (
            self.template("priority", config.priority, "") if config.priority else None
        )

    def describe(self) -> str:
        return f"Opsgenie Alert API {safe_target(self.cfg.api_url)}"

    def _headers(self) -> dict[str, str]:
        key = self.cfg.api_key.reveal() if self.cfg.api_key else ""
        return {"Authorization": f"GenieKey {key}", "Content-Type": "application/json"}

    def create_body(self, message: NotificationMessage) -> dict[str, Any]:
        data = self.data(message)
        text = self.t_message.render(data)
        if len(text) > 130:
            text = text[:127] + "..."
        details = {
            k: ", ".join(f"{a}={b}" for a, b in sorted(v.items()))
            if isinstance(v, dict)
            else str(v)
            for k, v in {"labels": message.common_labels}.items()
        }
        details.update({k: t.render(data) for k, t in self.t_details.items()})
        if data["dashboardURL"]:
            details["dashboard"] = data["dashboardURL"]
        body: dict[str, Any] = {
            "message": text,
            "alias": self._alias(message),
            "description": self.t_description.render(data)[:15000],
            "details": details,
            "source": self.cfg.source or "Watchkeeper",
        }
        if self.cfg.entity:
            body["entity"] = self.cfg.entity
        if self.cfg.tags:
            body["tags"] = [t.strip() for t in self.cfg.tags.split(",") if t.strip()]
        if self.cfg.actions:
            body["actions"] = [a.strip() for a in self.cfg.actions.split(",") if a.strip()]
        if self.cfg.responders:
            body["responders"] = [
                {k: v for k, v in r.model_dump().items() if v} for r in self.cfg.responders
            ]
        prio = self.t_priority.render(data) if self.t_priority else ""
        if prio not in ("P1", "P2", "P3", "P4", "P5"):
            prio = PRIORITIES.get(message.common_labels.get("severity", "").lower(), "P3")
        body["priority"] = prio
        if self.t_note is not None:
            body["note"] = self.t_note.render(data)
        return body

    def _alias(self, message: NotificationMessage) -> str:
        return alias_of(
            message.receiver, message.group_key, message.dedup_key if message.is_test else ""
        )

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        base = self.cfg.api_url.rstrip("/")
        alias = quote(self._alias(message), safe="")
        if message.event is NotificationEvent.RESOLVED:
            url, body, what = (
                f"{base}/v2/alerts/{alias}/close?identifierType=alias",
                {"source": "Watchkeeper", "note": "Resolved in Watchkeeper"},
                "close",
            )
        elif message.event is NotificationEvent.ACKNOWLEDGED:
            url, body, what = (
                f"{base}/v2/alerts/{alias}/acknowledge?identifierType=alias",
                {
                    "source": "Watchkeeper",
                    "user": message.acknowledged_by or "Watchkeeper",
                    "note": "Acknowledged in Watchkeeper",
                },
                "acknowledge",
            )
        elif message.event in (
            NotificationEvent.MAINTENANCE_STARTED,
            NotificationEvent.MAINTENANCE_ENDED,
            NotificationEvent.REPORT,
        ):
            return skipped(f"Opsgenie has no action for {message.event.value}")
        else:
            url, body, what = f"{base}/v2/alerts", self.create_body(message), "create"
        response = await request(
            self.client,
            "POST",
            url,
            service="Opsgenie",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            json=body,
            headers=self._headers(),
        )
        try:
            answer = response.json()
        except ValueError:
            raise malformed("Opsgenie", "the body is not JSON") from None
        request_id = answer.get("requestId") if isinstance(answer, dict) else None
        if not isinstance(request_id, str):
            raise malformed("Opsgenie", "no requestId in the answer")
        return DeliveryReceipt(
            response.status_code,
            f"{response.status_code} {answer.get('result', 'accepted')}: {what} "
            f"(request {request_id})",
            remote_id=request_id,
            state={"alias": self._alias(message)},
        )
