"""Email over SMTP (``smtplib`` in a worker thread): STARTTLS (required unless
``require_tls: false``) or implicit TLS, AUTH, a plain-text and an HTML part.

Threading: the first message of an incident gets a ``Message-ID`` that is stored in the
group's state; later messages of the group (acknowledged, escalated, resolved) carry
``In-Reply-To`` and ``References`` pointing at it, so mail clients show one thread. After
the resolved message the next firing starts a new thread."""

from __future__ import annotations

import asyncio
import hashlib
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from typing import Any, ClassVar

from watchkeeper.core.clock import to_datetime
from watchkeeper.core.enums import AlertStatus
from watchkeeper.core.errors import ConfigError, DeliveryError, DeliveryFailure
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext
from watchkeeper.notify.email.config import EmailConfig
from watchkeeper.notify.http import tls_context

_POLICY = policy.SMTP.clone(max_line_length=998)  # no folding of long Message-IDs
SUBJECT = "{{ title }}"
TEXT = (
    "{{ title }}\n\n{% for a in alerts %}[{{ a.status | upper }}] "
    "{{ a.annotations.summary or a.labels.alertname }}\n"
    "{% if a.annotations.description %}{{ a.annotations.description }}\n{% endif %}"
    "Labels: {{ a.labels | pairs }}\nStarted: {{ a.startsAt }}\n"
    "{% if a.dashboardURL %}Open: {{ a.dashboardURL }}\n{% endif %}"
    "{% if a.generatorURL %}Source: {{ a.generatorURL }}\n{% endif %}\n{% endfor %}"
    "{% if acknowledged_by %}Acknowledged by {{ acknowledged_by }}\n{% endif %}"
    "-- \nSent by Watchkeeper to receiver {{ receiver }}\n"
)
HTML = (
    '<!doctype html><html><body style="font-family:sans-serif">'
    "<h2 style=\"color:{{ '#2eb67d' if status == 'resolved' else '#e01e5a' }}\">{{ title }}</h2>"
    '{% for a in alerts %}<div style="border-left:4px solid '
    "{{ '#2eb67d' if a.status == 'resolved' else '#e01e5a' }};padding:4px 12px;margin:12px 0\">"
    "<p><b>[{{ a.status | upper }}] {{ a.annotations.summary or a.labels.alertname }}</b></p>"
    "{% if a.annotations.description %}<p>{{ a.annotations.description }}</p>{% endif %}"
    '<p style="color:#555">{% for k, v in a.labels | dictsort %}<code>{{ k }}={{ v }}</code> '
    "{% endfor %}</p><p>Started {{ a.startsAt }}"
    '{% if a.dashboardURL %} · <a href="{{ a.dashboardURL }}">Open in Watchkeeper</a>{% endif %}'
    '{% if a.generatorURL %} · <a href="{{ a.generatorURL }}">Source</a>{% endif %}</p></div>'
    "{% endfor %}{% if acknowledged_by %}<p>Acknowledged by {{ acknowledged_by }}</p>{% endif %}"
    '<p style="color:#888;font-size:small">Sent by Watchkeeper to receiver {{ receiver }}</p>'
    "</body></html>"
)


def split_hostport(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"smarthost {value!r} must be host:port, e.g. smtp.example.com:587")
    return host.strip("[]"), int(port)


class EmailNotifier(BaseNotifier):
    channel: ClassVar[str] = "email"

    def __init__(self, config: EmailConfig, ctx: NotifierContext, *, where: str) -> None:
        if not config.smarthost:
            raise ConfigError(
                f"{where}.smarthost: set the SMTP server as host:port, here or as "
                "smtp_smarthost in alerting.global"
            )
        if not config.from_:
            raise ConfigError(
                f"{where}.from: set the sender address, here or as smtp_from in alerting.global"
            )
        try:
            self.host, self.port = split_hostport(config.smarthost)
        except ValueError as exc:
            raise ConfigError(f"{where}.smarthost: {exc}") from None
        secrets = [s.reveal() for s in (config.auth_password, config.auth_secret) if s]
        super().__init__(config, ctx, where=where, secrets=secrets)
        self.cfg = config
        self.implicit = (
            config.force_implicit_tls if config.force_implicit_tls is not None else self.port == 465
        )
        headers = dict(config.headers)
        subject_src = next((v for k, v in headers.items() if k.lower() == "subject"), None)
        self.t_subject = self.template("headers.Subject", subject_src, SUBJECT)
        self.t_headers = {
            k: self.template(f"headers.{k}", v, "")
            for k, v in headers.items()
            if k.lower() != "subject"
        }
        self.t_text = self.template("text", config.text, TEXT)
        self.t_html = self.template("html", config.html, HTML, html=True)
        self.recipients = [addr for _, addr in getaddresses([config.to]) if addr]
        if not self.recipients:
            raise ConfigError(f"{where}.to: no valid address in {config.to!r}")
        self.domain = (config.from_.rpartition("@")[2] or "watchkeeper").strip(">")

    def describe(self) -> str:
        mode = "implicit TLS" if self.implicit else ("STARTTLS" if self.cfg.require_tls else "SMTP")
        return f"SMTP {self.host}:{self.port} ({mode}) → {', '.join(self.recipients)}"

    def build(self, message: NotificationMessage, state: dict[str, Any]) -> EmailMessage:
        data = self.data(message)
        group = hashlib.sha256(f"{message.receiver}\x00{message.group_key}".encode()).hexdigest()
        mail = EmailMessage(policy=_POLICY)
        mail["Subject"] = self.t_subject.render(data).replace("\n", " ")
        mail["From"] = self.cfg.from_ or ""
        mail["To"] = self.cfg.to
        mail["Date"] = format_datetime(to_datetime(self.now()))
        message_id = f"<wk.{group[:16]}.{message.dedup_key}@{self.domain}>"
        mail["Message-ID"] = message_id
        root = state.get("thread_root") if state.get("open") else None
        if root and not message.is_test:
            mail["In-Reply-To"] = root
            mail["References"] = root
        mail["X-Watchkeeper-Event"] = message.event.value
        mail["X-Watchkeeper-Receiver"] = message.receiver
        if message.is_test:
            mail["X-Watchkeeper-Test"] = "true"
        for name, template in self.t_headers.items():
            if name in mail:
                del mail[name]
            mail[name] = template.render(data).replace("\n", " ")
        mail.set_content(self.t_text.render(data))
        mail.add_alternative(self.t_html.render(data), subtype="html")
        return mail

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        mail = self.build(message, state)
        reply = await asyncio.to_thread(self._deliver, mail)
        new_state: dict[str, Any] = {}
        if not message.is_test:
            if not (state.get("open") and state.get("thread_root")):
                new_state["thread_root"] = mail["Message-ID"]
            new_state["open"] = message.status is not AlertStatus.RESOLVED
        return DeliveryReceipt(250, reply, remote_id=str(mail["Message-ID"]), state=new_state)

    # -- SMTP (in a thread) --------------------------------------------------------------

    def _context(self) -> ssl.SSLContext:
        if self.cfg.tls_config is not None:
            return tls_context(self.cfg.tls_config)
        return ssl.create_default_context()

    def _deliver(self, mail: EmailMessage) -> str:
        timeout = float(self.cfg.timeout) or 60.0
        try:
            ctx = self._context()
            smtp: smtplib.SMTP
            if self.implicit:
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.cfg.hello,
                    timeout=timeout,
                    context=ctx,
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.cfg.hello, timeout=timeout
                )
            with smtp:
                smtp.ehlo()
                if not self.implicit:
                    if smtp.has_extn("starttls"):
                        smtp.starttls(context=ctx)
                        smtp.ehlo()
                    elif self.cfg.require_tls:
                        raise DeliveryError(
                            f"{self.host}:{self.port} does not offer STARTTLS and require_tls is "
                            "on; enable TLS on the server or set require_tls: false",
                            reason=DeliveryFailure.CONFIG,
                        )
                if self.cfg.auth_username:
                    password = self.cfg.auth_password.reveal() if self.cfg.auth_password else ""
                    smtp.login(self.cfg.auth_username, password)
                smtp.send_message(mail, self.cfg.from_, self.recipients)
            return f"250 accepted for {len(self.recipients)} recipient(s) by {self.host}"
        except DeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                f"SMTP login refused ({exc.smtp_code}); check auth_username and auth_password",
                reason=DeliveryFailure.AUTH,
                status_code=exc.smtp_code,
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [c for c, _ in exc.recipients.values()]
            temporary = all(400 <= c < 500 for c in codes)
            raise DeliveryError(
                "SMTP server refused the recipients: "
                + "; ".join(
                    f"{r} ({c} {m.decode(errors='replace')})"
                    for r, (c, m) in exc.recipients.items()
                ),
                reason=DeliveryFailure.SERVER_ERROR if temporary else DeliveryFailure.CLIENT_ERROR,
                status_code=codes[0] if codes else None,
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            temporary = 400 <= exc.smtp_code < 500
            raise DeliveryError(
                f"SMTP server answered {exc.smtp_code} {self.redact(text)}",
                reason=DeliveryFailure.SERVER_ERROR if temporary else DeliveryFailure.CLIENT_ERROR,
                status_code=exc.smtp_code,
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                f"SMTP server does not support a required feature: {exc}",
                reason=DeliveryFailure.CONFIG,
            ) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"TLS certificate of {self.host} not trusted ({exc.verify_message}); set "
                "tls_config.ca_file to its CA",
                reason=DeliveryFailure.CONFIG,
            ) from None
        except TimeoutError:
            raise DeliveryError(
                f"SMTP server {self.host}:{self.port} did not answer in time",
                reason=DeliveryFailure.TIMEOUT,
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            if "timed out" in str(exc):
                raise DeliveryError(
                    f"SMTP server {self.host}:{self.port} did not answer in time",
                    reason=DeliveryFailure.TIMEOUT,
                ) from None
            raise DeliveryError(
                f"cannot talk to SMTP server {self.host}:{self.port}: "
                f"{self.redact(str(exc)) or type(exc).__name__}",
                reason=DeliveryFailure.CONNECTION,
            ) from None
