"""SMS through Twilio's Messages API: one ``POST /2010-04-01/Accounts/{sid}/Messages.json``
(form-encoded, basic auth) per recipient. Recipients already reached are remembered in the
group's state, so a retry after a partial failure does not text anyone twice."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.base import DeliveryReceipt, NotificationMessage
from watchkeeper.notify.channel import BaseNotifier, NotifierContext, safe_target
from watchkeeper.notify.http import malformed, request
from watchkeeper.notify.sms.config import SMSConfig

MESSAGE = (
    "{{ title }}{% if commonAnnotations.summary %}: {{ commonAnnotations.summary }}{% endif %}"
    "{% if dashboardURL %} {{ dashboardURL }}{% endif %}"
)
MAX_BODY = 1600
_PERMANENT_CODES = {21211, 21408, 21610, 21614, 21606, 21612, 21660}


class SMSNotifier(BaseNotifier):
    channel: ClassVar[str] = "sms"

    def __init__(self, config: SMSConfig, ctx: NotifierContext, *, where: str) -> None:
        super().__init__(config, ctx, where=where, secrets=[config.auth_token.reveal()])
        self.cfg = config
        self.t_message = self.template("message", config.message, MESSAGE)

    def describe(self) -> str:
        return f"Twilio SMS {safe_target(self.cfg.api_url)} → {len(self.cfg.to)} number(s)"

    def text(self, message: NotificationMessage) -> str:
        text = self.t_message.render(self.data(message))
        return text if len(text) <= MAX_BODY else text[: MAX_BODY - 1] + "…"

    async def send(self, message: NotificationMessage, state: dict[str, Any]) -> DeliveryReceipt:
        import base64

        url = (
            f"{self.cfg.api_url.rstrip('/')}/2010-04-01/Accounts/{self.cfg.account_sid}"
            "/Messages.json"
        )
        raw = f"{self.cfg.account_sid}:{self.cfg.auth_token.reveal()}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        body = self.text(message)
        progress = state.setdefault("sms_sent", {})
        if set(progress) - {message.dedup_key}:
            for key in list(progress):
                if key != message.dedup_key:
                    del progress[key]
        done: list[str] = progress.setdefault(message.dedup_key, [])
        sids: list[str] = []
        for number in self.cfg.to:
            if number in done:
                continue
            form = {"To": number, "Body": body}
            if self.cfg.messaging_service_sid:
                form["MessagingServiceSid"] = self.cfg.messaging_service_sid
            else:
                form["From"] = self.cfg.from_ or ""
            response = await request(
                self.client,
                "POST",
                url,
                service="Twilio",
                time_limit=self.timeout,
                now=self.now(),
                redact=self.redact,
                check=False,
                data=form,
                headers=headers,
            )
            if response.status_code >= 300:
                raise _error(response, len(done), len(self.cfg.to), self.now())
            try:
                sid = str(response.json()["sid"])
            except (ValueError, KeyError, TypeError):
                raise malformed("Twilio", "no message sid in the answer") from None
            done.append(number)
            sids.append(sid)
        return DeliveryReceipt(
            201,
            f"201 queued: {len(sids)} SMS ({', '.join(sids) or 'all sent before'})",
            remote_id=sids[0] if sids else None,
        )


def _error(response: Any, sent: int, total: int, now: float) -> DeliveryError:
    from watchkeeper.notify.http import classify_status, parse_retry_after

    try:
        answer = response.json()
    except ValueError:
        answer = {}
    code = answer.get("code") if isinstance(answer, dict) else None
    text = str(answer.get("message", "")) if isinstance(answer, dict) else ""
    detail = f"Twilio error {code}: {text}" if code else text
    detail += f" ({sent} of {total} recipients reached)"
    error = classify_status(
        response.status_code,
        service="Twilio",
        detail=detail,
        retry_after=parse_retry_after(response.headers.get("retry-after"), now),
    )
    if error is None:
        return DeliveryError(detail, reason=DeliveryFailure.OTHER)
    if code in _PERMANENT_CODES:
        error.reason, error.retryable = DeliveryFailure.CLIENT_ERROR, False
    return error
