"""HTTP helpers shared by collectors: per-check clients for custom TLS settings and the
classification of transport errors into :class:`CollectFailure` reasons."""

from __future__ import annotations

import ssl

import httpx

from watchkeeper.collect.base import CollectFailure, TargetError


def tls_client(verify_tls: bool, ca_file: str | None) -> httpx.AsyncClient | None:
    """A dedicated client when a check's TLS settings differ from the shared client's;
    ``None`` means "use the shared one"."""
    if verify_tls and not ca_file:
        return None
    if not verify_tls:
        return httpx.AsyncClient(verify=False)  # noqa: S501 - the user asked for it
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TargetError(
            f"cannot load ca_file {ca_file!r}: {exc}; give a readable PEM file",
            CollectFailure.CONFIG,
        ) from None
    return httpx.AsyncClient(verify=context)


def transport_error(exc: httpx.HTTPError, what: str) -> TargetError:
    """A :class:`TargetError` for an httpx exception raised while requesting ``what``."""
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
        return TargetError(f"{kind} while requesting {what}", CollectFailure.TIMEOUT)
    cause = _ssl_cause(exc)
    if cause is not None:
        return TargetError(
            f"TLS handshake with {what} failed: {cause}; check the certificate, or set "
            "ca_file / verify_tls for a private CA",
            CollectFailure.TLS,
        )
    if isinstance(exc, httpx.ConnectError):
        return TargetError(
            f"cannot connect to {what}: {exc or 'connection refused'}; is it running and "
            "reachable from Watchkeeper?",
            CollectFailure.CONNECTION,
        )
    if isinstance(exc, httpx.TooManyRedirects):
        return TargetError(f"too many redirects from {what}", CollectFailure.HTTP_STATUS)
    return TargetError(
        f"request to {what} failed: {type(exc).__name__}: {exc}", CollectFailure.CONNECTION
    )


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        return ssl.SSLError(text)
    return None


def redact_url(url: str | httpx.URL) -> str:
    """A URL fit for status texts: no user info, no query string."""
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))
