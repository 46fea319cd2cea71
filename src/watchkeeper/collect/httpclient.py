"""HTTP helpers shared by collectors: per-check clients for custom TLS settings, a session
per scrape target, and the
classification of transport errors into :class:`CollectFailure` reasons."""

from __future__ import annotations

import ssl
from functools import cache

import aiohttp
import httpx

from watchkeeper import __version__
from watchkeeper.collect.base import CollectFailure, TargetError

TARGET_KEEPALIVE_S = 300.0
"""How long a target's idle connection is kept (Prometheus keeps them five minutes too)."""


@cache
def default_tls_context() -> ssl.SSLContext:
    """The certificate store httpx uses by default, loaded once for every target."""
    return httpx.create_ssl_context()


def tls_context(verify_tls: bool, ca_file: str | None) -> ssl.SSLContext | bool:
    """What a check's TLS settings verify with: the default store, its ``ca_file``, or
    nothing (``False``). Raises :class:`TargetError` for an unreadable ``ca_file``."""
    if not verify_tls:
        return False
    if not ca_file:
        return default_tls_context()
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise TargetError(
            f"cannot load ca_file {ca_file!r}: {exc}; give a readable PEM file",
            CollectFailure.CONFIG,
        ) from None


def tls_client(verify_tls: bool, ca_file: str | None) -> httpx.AsyncClient | None:
    """A dedicated client when a check's TLS settings differ from the shared client's;
    ``None`` means "use the shared one"."""
    if verify_tls and not ca_file:
        return None
    return httpx.AsyncClient(verify=tls_context(verify_tls, ca_file))


def target_session(verify: ssl.SSLContext | bool) -> aiohttp.ClientSession:
    """An aiohttp session of one target's own (scrapes), keeping one connection alive
    from one run to the next; create it inside the event loop.

    Measured on a 1,000-series exposition (``bench/scrape_path.py``), a scrape through
    aiohttp costs about a fifth of the CPU of one through httpx, and a pool shared by
    hundreds of targets keeps only a few idle connections (httpx: 20 for 5 s), so most
    targets reconnected on every scrape; Prometheus also keeps one connection per
    target. Like Prometheus it ignores proxy variables and sends no cookies."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(
            ssl=verify, limit=0, limit_per_host=0, keepalive_timeout=TARGET_KEEPALIVE_S
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"User-Agent": f"Watchkeeper/{__version__}"},
    )


def transport_error(exc: httpx.HTTPError, what: str) -> TargetError:
    """A :class:`TargetError` for an httpx exception raised while requesting ``what``."""
    if isinstance(exc, httpx.TimeoutException):
        kind = type(exc).__name__.replace("Timeout", " timeout").strip().lower()
        return TargetError(f"{kind} while requesting {what}", CollectFailure.TIMEOUT)
    return _classified(exc, what)


def session_error(exc: aiohttp.ClientError | TimeoutError, what: str) -> TargetError:
    """A :class:`TargetError` for an aiohttp exception raised while requesting ``what``."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TargetError(f"connect timeout while requesting {what}", CollectFailure.TIMEOUT)
    if isinstance(exc, TimeoutError):
        return TargetError(f"read timeout while requesting {what}", CollectFailure.TIMEOUT)
    return _classified(exc, what)


def _classified(exc: Exception, what: str) -> TargetError:
    cause = _ssl_cause(exc)
    if cause is not None:
        return TargetError(
            f"TLS handshake with {what} failed: {cause}; check the certificate, or set "
            "ca_file / verify_tls for a private CA",
            CollectFailure.TLS,
        )
    if isinstance(exc, httpx.ConnectError | aiohttp.ClientConnectorError):
        why = exc.os_error.strerror if isinstance(exc, aiohttp.ClientConnectorError) else exc
        return TargetError(
            f"cannot connect to {what}: {why or 'connection refused'}; is it running and "
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
