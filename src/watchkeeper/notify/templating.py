"""Jinja2 templates for notifications, over Alertmanager's template data.

Templates see the names Alertmanager's ``template.Data`` has, in two spellings:
``status``/``Status``, ``alerts``/``Alerts`` (each with ``labels``, ``annotations``,
``startsAt``, ``endsAt``, ``generatorURL``, ``fingerprint``, ``dashboardURL``), ``firing`` and
``resolved`` (Alertmanager's ``.Alerts.Firing``/``.Alerts.Resolved``), ``groupLabels``,
``commonLabels``, ``commonAnnotations``, ``externalURL``, ``receiver``, ``groupKey``, plus
Watchkeeper's ``event``, ``title``, ``is_test``, ``escalation_level``, ``acknowledged_by``.
Templates run in Jinja's sandbox: they come from config files.

Alertmanager's Go templates (``{{ template "slack.default.title" . }}``, ``{{ .Status }}``)
are not Jinja: a field holding one falls back to the channel's default and the notifier
reports a warning, so an Alertmanager receiver block still loads and sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.enums import AlertStatus, NotificationEvent
from watchkeeper.core.errors import ConfigError, DeliveryError, DeliveryFailure
from watchkeeper.notify.base import AlertData, NotificationMessage

_GO_TEMPLATE = re.compile(
    r"\{\{-?\s*(?:template\s|define\s|range\s|with\s|\.[A-Za-z]|end\s*-?\}\})"
)


def looks_like_go_template(source: str) -> bool:
    return bool(_GO_TEMPLATE.search(source))


def dashboard_link(message: NotificationMessage, alert: AlertData) -> str:
    if alert.dashboard_url:
        return alert.dashboard_url
    base = message.external_url.rstrip("/")
    return f"{base}/alerts/{alert.fingerprint}" if base else ""


def event_tag(message: NotificationMessage) -> str:
    """``FIRING:2``, ``RESOLVED``, ``ACKNOWLEDGED``, ``ESCALATED L2``, ``TEST`` …"""
    ev = message.event
    if ev is NotificationEvent.TEST:
        return "TEST"
    if ev in (NotificationEvent.FIRING, NotificationEvent.REPEAT):
        if message.status is AlertStatus.RESOLVED:
            return "RESOLVED"
        firing = sum(1 for a in message.alerts if a.status is AlertStatus.FIRING)
        return f"FIRING:{firing}"
    if ev is NotificationEvent.ESCALATED and message.escalation_level is not None:
        return f"ESCALATED L{message.escalation_level}"
    return ev.value.upper().replace("_", " ")


def subject(message: NotificationMessage) -> str:
    """Alertmanager's default subject: ``[FIRING:2] HighLatency backend (critical)``."""
    group = " ".join(v for _, v in sorted(message.group_labels.items()))
    extra = " ".join(
        v for k, v in sorted(message.common_labels.items()) if k not in message.group_labels
    )
    text = f"[{event_tag(message)}] {group or 'alerts'}"
    if extra:
        text += f" ({extra})"
    return text


def alert_data(message: NotificationMessage, alert: AlertData) -> dict[str, Any]:
    d: dict[str, Any] = {
        "status": alert.status.value,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
        "dashboardURL": dashboard_link(message, alert),
    }
    d.update(
        Status=d["status"],
        Labels=d["labels"],
        Annotations=d["annotations"],
        StartsAt=d["startsAt"],
        EndsAt=d["endsAt"],
        GeneratorURL=d["generatorURL"],
        Fingerprint=d["fingerprint"],
    )
    return d


def template_data(message: NotificationMessage) -> dict[str, Any]:
    alerts = [alert_data(message, a) for a in message.alerts]
    firing = [a for a in alerts if a["status"] == AlertStatus.FIRING.value]
    resolved = [a for a in alerts if a["status"] == AlertStatus.RESOLVED.value]
    data: dict[str, Any] = {
        "receiver": message.receiver,
        "status": message.status.value,
        "event": message.event.value,
        "alerts": alerts,
        "firing": firing,
        "resolved": resolved,
        "groupLabels": dict(message.group_labels),
        "commonLabels": dict(message.common_labels),
        "commonAnnotations": dict(message.common_annotations),
        "externalURL": message.external_url,
        "groupKey": message.group_key,
        "truncatedAlerts": message.truncated_alerts,
        "is_test": message.is_test,
        "escalation_level": message.escalation_level,
        "acknowledged_by": message.acknowledged_by,
        "title": subject(message),
        "tag": event_tag(message),
        "dashboardURL": (
            dashboard_link(message, message.alerts[0])
            if len(message.alerts) == 1
            else (message.external_url.rstrip("/") + "/alerts" if message.external_url else "")
        ),
    }
    data.update(
        Receiver=data["receiver"],
        Status=data["status"],
        Alerts=alerts,
        GroupLabels=data["groupLabels"],
        CommonLabels=data["commonLabels"],
        CommonAnnotations=data["commonAnnotations"],
        ExternalURL=data["externalURL"],
    )
    return data


def _pairs(value: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))


class Template:
    """One compiled template field; :meth:`render` never raises anything but a permanent
    :class:`DeliveryError` that names the field."""

    def __init__(self, compiled: jinja2.Template, where: str) -> None:
        self._compiled = compiled
        self.where = where

    def render(self, data: Mapping[str, Any]) -> str:
        try:
            return self._compiled.render(data).strip()
        except jinja2.TemplateError as exc:
            raise DeliveryError(
                f"template {self.where} failed: {exc}; fix the template in the receiver config",
                reason=DeliveryFailure.CONFIG,
            ) from None


class Templates:
    """Compiles template fields in Jinja's sandbox (plain text, or HTML with autoescape)."""

    def __init__(self) -> None:
        common: dict[str, Any] = {
            "undefined": jinja2.ChainableUndefined,
        }
        self._text = SandboxedEnvironment(autoescape=False, **common)
        self._html = SandboxedEnvironment(autoescape=True, **common)
        self._cache: dict[tuple[str, bool], jinja2.Template] = {}  # compiled, by source
        for env in (self._text, self._html):
            env.filters["pairs"] = _pairs
            env.filters["rfc3339"] = rfc3339

    def compile(
        self,
        source: str | None,
        *,
        default: str,
        where: str,
        html: bool = False,
        warnings: list[str] | None = None,
    ) -> Template:
        """Compile ``source`` (or ``default`` when it is empty or an Alertmanager Go
        template). A syntax error is a :class:`ConfigError` naming ``where``."""
        env = self._html if html else self._text
        text = default
        if source:
            if looks_like_go_template(source):
                if warnings is not None:
                    warnings.append(
                        f"{where}: Alertmanager Go template syntax is not supported, the "
                        "default is used; write the template in Jinja2 (e.g. "
                        "{{ commonLabels.alertname }})"
                    )
            else:
                text = source
        key = (text, html)
        compiled = self._cache.get(key)
        if compiled is not None:
            return Template(compiled, where)
        try:
            compiled = env.from_string(text)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"{where}: template syntax error on line {exc.lineno}: {exc.message}; "
                "templates are Jinja2 ({{ commonLabels.alertname }}, {% for a in alerts %})"
            ) from None
        self._cache[key] = compiled
        return Template(compiled, where)
