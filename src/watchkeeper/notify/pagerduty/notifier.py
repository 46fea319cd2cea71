"""PagerDuty Events API v2: one incident per alert group, tied together by a stable
``dedup_key`` (a hash of the receiver and group key): firing triggers, acknowledged
acknowledges, resolved resolves; severity comes from the ``severity`` label."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import ConfigError
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target, skipped
from watchkeeper.notify.http import malformed, request
from watchkeeper.notify.pagerduty.config import PagerdutyConfig

SUMMARY = (
    "{{ title }}{% if commonAnnotations.summary %}: {{ commonAnnotations.summary }}{% endif %}"
)
MAX_SUMMARY = 1024
SEVERITIES = ("critical", "error", "warning", "info")
_SEVERITY_MAP = {
    "critical": "critical",
    "page": "critical",
    "p1": "critical",
    "high": "critical",
    "error": "error",
    "major": "error",
    "p2": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "p3": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
    "p4": "info",
    "p5": "info",
}
_ACTIONS = {
    NotificationEvent.FIRING: "trigger",
    NotificationEvent.REPEAT: "trigger",
    NotificationEvent.ESCALATED: "trigger",
    NotificationEvent.FLAPPING: "trigger",
    NotificationEvent.UNACKNOWLEDGED: "trigger",
    NotificationEvent.TEST: "trigger",
    NotificationEvent.ACKNOWLEDGED: "acknowledge",
    NotificationEvent.RESOLVED: "resolve",
}


def severity_of(value: str | None) -> str:
    return _SEVERITY_MAP.get((value or "").strip().lower(), "critical")


def incident_key(receiver: str, group_key: str, *, test: str = "") -> str:
    raw = f"{receiver}\x00{group_key}\x00{test}".encode()
    return "wk-" + hashlib.sha256(raw).hexdigest()[:40]


class PagerDutyNotifier(BaseNotifier):
    channel: ClassVar[str] = "pagerduty"
    stateful: ClassVar[bool] = False

    def __init__(self, config: PagerdutyConfig, ctx: NotifierContext, *, where: str) -> None:
        if config.routing_key is None:
            raise ConfigError(
                f"{where}: service_key is the retired Events API v1; use routing_key "
                "(an Events API v2 integration key)"
            )
        super().__init__(config, ctx, where=where, secrets=[config.routing_key.reveal()])
        self.cfg = config
        self.t_summary = self.template("description", config.description, SUMMARY)
        self.t_details = {
            k: self.template(f"details.{k}", v, "") for k, v in config.details.items()
        }
        self.t_severity = (
            self.template("severity", config.severity, "") if config.severity else None
        )
        self.t_client_url = (
            self.template("client_url", config.client_url, "") if config.client_url else None
        )

    def describe(self) -> str:
        return f"PagerDuty Events API v2 {safe_target(self.cfg.url)}"

    def event(self, message: NotificationMessage) -> dict[str, Any] | None:
        action = _ACTIONS.get(message.event)
        if action is None:
            return None
        data = self.data(message)
        key = incident_key(
            message.receiver, message.group_key, test=message.dedup_key if message.is_test else ""
        )
        routing = self.cfg.routing_key.reveal() if self.cfg.routing_key else ""
        body: dict[str, Any] = {"routing_key": routing, "event_action": action, "dedup_key": key}
        if action != "trigger":
            return body
        summary = self.t_summary.render(data)
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        sev = self.t_severity.render(data) if self.t_severity else ""
        sev = (
            sev if sev in SEVERITIES else severity_of(sev or message.common_labels.get("severity"))
        )
        details: dict[str, Any] = {
            "firing": [_instance(a) for a in data["firing"]],
            "resolved": [_instance(a) for a in data["resolved"]],
            "num_firing": len(data["firing"]),
            "num_resolved": len(data["resolved"]),
            "event": message.event.value,
        }
        if message.escalation_level is not None:
            details["escalation_level"] = message.escalation_level
        details.update({k: t.render(data) for k, t in self.t_details.items()})
        payload: dict[str, Any] = {
            "summary": summary,
            "source": self.cfg.source or self.cfg.client,
            "severity": sev,
            "timestamp": rfc3339(min((a.starts_at for a in message.alerts), default=None)),
            "custom_details": details,
        }
        for name, value in (
            ("component", self.cfg.component),
            ("group", self.cfg.group),
            ("class", self.cfg.class_),
        ):
            if value:
                payload[name] = value
        links = [{"href": link.href, "text": link.text} for link in self.cfg.links]
        if data["dashboardURL"]:
            links.insert(0, {"href": data["dashboardURL"], "text": "Open in Watchkeeper"})
        for a in message.alerts[:1]:
            if a.generator_url:
                links.append({"href": a.generator_url, "text": "Source"})
        body.update(
            payload=payload,
            client=self.cfg.client,
            client_url=(self.t_client_url.render(data) if self.t_client_url else "")
            or data["dashboardURL"]
            or message.external_url,
            links=links,
            images=[i.model_dump(exclude_defaults=True) for i in self.cfg.images],
        )
        return body

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        body = self.event(message)
        if body is None:
            return skipped(f"PagerDuty has no action for {message.event.value}")
        response = await request(
            self.client,
            "POST",
            self.cfg.url,
            service="PagerDuty",
            time_limit=self.timeout,
            now=self.now(),
            redact=self.redact,
            json=body,
            headers=self.auth_headers(),
        )
        try:
            answer = response.json()
        except ValueError:
            raise malformed("PagerDuty", "the body is not JSON") from None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise malformed(
                "PagerDuty",
                f"status {answer.get('status') if isinstance(answer, dict) else answer!r}",
            )
        key = str(answer.get("dedup_key", body["dedup_key"]))
        return DeliveryReceipt(
            response.status_code,
            f"{response.status_code} {answer.get('message', 'Event processed')}: "
            f"{body['event_action']} {key}",
            remote_id=key,
            state={"dedup_key": key},
        )


def _instance(alert: dict[str, Any]) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert["labels"].items()))
    summary = alert["annotations"].get("summary", "")
    return f"{labels}{' — ' + summary if summary else ''}"
