"""HTTP for notifiers: the one place where an HTTP answer or a transport error becomes a
:class:`~watchkeeper.core.errors.DeliveryError` (retryable or permanent, with a reason),
plus the client factory (injected transport) and secret scrubbing.

Classification (Alertmanager's ``notify/util.go`` and healthchecks' transports agree):

    2xx                      success (the channel may still inspect the body)
    408, 5xx                 retryable (timeout / server_error)
    429                      retryable (rate_limited), honouring Retry-After
    401, 403                 permanent (auth): the channel is misconfigured
    other 4xx, 3xx           permanent (client_error)
    timeout                  retryable (timeout)
    refused, reset, DNS      retryable (connection)
"""

from __future__ import annotations

import email.utils
import ssl
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from watchkeeper.core.errors import DeliveryError, DeliveryFailure
from watchkeeper.notify.httpconfig import HTTPClientConfig

MAX_SUMMARY = 300


class Redactor:
    """Replaces every secret value (tokens, webhook URLs and their paths) in a text."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values: set[str] = set()
        for s in secrets:
            if not s or len(s) < 4:
                continue
            values.add(s)
            if "://" in s:
                # the path and query of a secret URL are as secret as the whole URL
                rest = s.split("://", 1)[1]
                path = rest[rest.find("/") :] if "/" in rest else ""
                if len(path) > 4:
                    values.add(path)
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, "<secret>")
        return text


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def body_excerpt(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize(response: httpx.Response, redact: Redactor | None = None) -> str:
    """``"200 OK: <start of body>"``, short enough for the delivery log."""
    head = f"{response.status_code} {response.reason_phrase}".strip()
    body = body_excerpt(response)
    text = f"{head}: {body}" if body else head
    text = redact(text) if redact else text
    return text[:MAX_SUMMARY]


def classify_status(
    status_code: int,
    *,
    service: str,
    detail: str = "",
    retry_after: float | None = None,
) -> DeliveryError | None:
    """The failure an HTTP status means, or ``None`` for success (2xx)."""
    if 200 <= status_code < 300:
        return None
    suffix = f": {detail}" if detail else ""
    if status_code == 429:
        wait = f"; retrying after {retry_after:g}s" if retry_after is not None else ""
        return DeliveryError(
            f"{service} rate limited the request (HTTP 429){suffix}{wait}",
            reason=DeliveryFailure.RATE_LIMITED,
            status_code=status_code,
            retry_after=retry_after,
        )
    if status_code == 408:
        return DeliveryError(
            f"{service} timed out the request (HTTP 408){suffix}",
            reason=DeliveryFailure.TIMEOUT,
            status_code=status_code,
            retry_after=retry_after,
        )
    if status_code >= 500:
        return DeliveryError(
            f"{service} answered HTTP {status_code} (server error){suffix}",
            reason=DeliveryFailure.SERVER_ERROR,
            status_code=status_code,
            retry_after=retry_after,
        )
    if status_code in (401, 403):
        return DeliveryError(
            f"{service} refused the credentials (HTTP {status_code}){suffix}; "
            "check the token, key or URL in the receiver config",
            reason=DeliveryFailure.AUTH,
            status_code=status_code,
        )
    if 300 <= status_code < 400:
        return DeliveryError(
            f"{service} answered with a redirect (HTTP {status_code}){suffix}; "
            "use the final URL in the receiver config",
            reason=DeliveryFailure.CLIENT_ERROR,
            status_code=status_code,
        )
    return DeliveryError(
        f"{service} rejected the request (HTTP {status_code}){suffix}; "
        "check the receiver config and the message template",
        reason=DeliveryFailure.CLIENT_ERROR,
        status_code=status_code,
    )


def check_response(
    response: httpx.Response, *, service: str, now: float, redact: Redactor | None = None
) -> None:
    """Raise the classified :class:`DeliveryError` for a non-2xx answer."""
    if 200 <= response.status_code < 300:
        return
    detail = body_excerpt(response)
    if redact:
        detail = redact(detail)
    error = classify_status(
        response.status_code,
        service=service,
        detail=detail,
        retry_after=parse_retry_after(response.headers.get("retry-after"), now),
    )
    if error is not None:
        raise error


def transport_error(
    exc: Exception, *, service: str, redact: Redactor | None = None
) -> DeliveryError:
    """A :class:`DeliveryError` for an exception raised while talking to the service."""
    text = str(exc) or type(exc).__name__
    if redact:
        text = redact(text)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return DeliveryError(
            f"{service} did not answer in time ({type(exc).__name__})",
            reason=DeliveryFailure.TIMEOUT,
        )
    if isinstance(exc, httpx.TransportError | OSError):
        return DeliveryError(f"cannot reach {service}: {text}", reason=DeliveryFailure.CONNECTION)
    if isinstance(exc, httpx.HTTPError):
        return DeliveryError(f"{service}: {text}", reason=DeliveryFailure.OTHER, retryable=True)
    return DeliveryError(f"{service}: {text}", reason=DeliveryFailure.OTHER, retryable=True)


def malformed(service: str, what: str) -> DeliveryError:
    return DeliveryError(
        f"{service} answered with a malformed response: {what}",
        reason=DeliveryFailure.BAD_RESPONSE,
    )


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    service: str,
    time_limit: float,
    now: float,
    redact: Redactor | None = None,
    check: bool = True,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; transport errors and (with ``check``) non-2xx answers become
    classified :class:`DeliveryError` s whose messages never carry a secret."""
    try:
        response = await client.request(
            method, url, timeout=time_limit if time_limit > 0 else None, **kwargs
        )
    except (httpx.HTTPError, OSError, TimeoutError) as exc:
        raise transport_error(exc, service=service, redact=redact) from None
    if check:
        check_response(response, service=service, now=now, redact=redact)
    return response


class ClientFactory:
    """Builds ``httpx.AsyncClient`` s for notifiers. Tests and benchmarks inject a transport;
    every client built is closed by :meth:`aclose`."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._clients: list[httpx.AsyncClient] = []
        self._default: httpx.AsyncClient | None = None

    def client(self, config: HTTPClientConfig | None = None) -> httpx.AsyncClient:
        if config is None:
            if self._default is None:
                self._default = self._build(None)
            return self._default
        return self._build(config)

    def _build(self, config: HTTPClientConfig | None) -> httpx.AsyncClient:
        kwargs: dict[str, Any] = {
            "follow_redirects": config.follow_redirects if config else True,
            "headers": {"User-Agent": "Watchkeeper"},
            "limits": httpx.Limits(max_connections=50, max_keepalive_connections=20),
        }
        if self._transport is not None:
            kwargs["transport"] = self._transport
        elif config is not None:
            if config.tls_config is not None:
                kwargs["verify"] = tls_context(config.tls_config)
            if config.proxy_url:
                kwargs["proxy"] = config.proxy_url
            kwargs["trust_env"] = config.proxy_from_environment
        client = httpx.AsyncClient(**kwargs)
        self._clients.append(client)
        return client

    async def aclose(self) -> None:
        clients, self._clients, self._default = self._clients, [], None
        for client in clients:
            await client.aclose()


def tls_context(tls: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=tls.ca_file or None, cadata=tls.ca or None)
    if tls.cert_file:
        key = tls.key.reveal() if tls.key else None
        if key is None:
            ctx.load_cert_chain(tls.cert_file)
        else:
            import os
            import tempfile

            # ssl reads keys from files only; the key (inline or read from key_file) goes
            # to a private temporary file for the duration of the call
            fd, path = tempfile.mkstemp(prefix="wk-key-")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(key)
                ctx.load_cert_chain(tls.cert_file, path)
            finally:
                os.unlink(path)
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def merge_headers(*parts: Mapping[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in parts:
        if part:
            out.update(part)
    return out
