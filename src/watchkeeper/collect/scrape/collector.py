"""The ``scrape`` collector: fetches a metrics endpoint with Prometheus' content
negotiation and parses text format 0.0.4 or OpenMetrics."""

from __future__ import annotations

import base64
import ssl
from itertools import repeat
from typing import ClassVar

import aiohttp
import httpx

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.httpclient import (
    redact_url,
    session_error,
    target_session,
    tls_client,
    tls_context,
    transport_error,
)
from watchkeeper.collect.scrape.config import ScrapeConfig
from watchkeeper.collect.scrape.parse import ACCEPT_HEADER, parse_exposition_cached
from watchkeeper.collect.series import SERIES_CACHE_MAX
from watchkeeper.core.labels import Labels


class ScrapeCollector:
    """Scrapes through a session of its own (see
    :func:`~watchkeeper.collect.httpclient.target_session`) when its owner allows it
    (``deps.client_per_target``), otherwise through the shared httpx client."""

    kind: ClassVar[str] = "scrape"

    def __init__(self, config: ScrapeConfig, deps: CollectorDeps) -> None:
        self.config = config
        self._tls: ssl.SSLContext | bool | None = None
        self._own_client: httpx.AsyncClient | None = None
        if deps.client_per_target:
            self._tls = tls_context(config.verify_tls, config.ca_file)
        else:
            self._own_client = tls_client(config.verify_tls, config.ca_file)
        self._session: aiohttp.ClientSession | None = None  # opened by the first scrape
        self._series: dict[str, Labels] = {}  # label sets seen here, by series text
        self._headers_for: tuple[float, dict[str, str]] | None = None

    async def close(self) -> None:
        if self._own_client is not None:
            await self._own_client.aclose()
        if self._session is not None:
            await self._session.close()

    def _headers(self, timeout: float) -> dict[str, str]:
        """The request headers, built once per timeout (they change only with it)."""
        if self._headers_for is not None and self._headers_for[0] == timeout:
            return self._headers_for[1]
        cfg = self.config
        headers = {
            **cfg.headers,
            "Accept": ACCEPT_HEADER,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}",
        }
        if cfg.basic_auth is not None:
            raw = f"{cfg.basic_auth.username}:{cfg.basic_auth.password.reveal()}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        elif cfg.bearer_token:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        self._headers_for = (timeout, headers)
        return headers

    async def collect(self, ctx: CollectContext) -> CollectResult:
        cfg = self.config
        headers = self._headers(ctx.target.timeout)
        if self._tls is not None and self._session is None:
            self._session = target_session(self._tls)
        text, content_type = await fetch_exposition(
            self._session or self._own_client or ctx.http,
            cfg.url,
            params=cfg.params,
            headers=headers,
            timeout_s=ctx.target.timeout,
            body_size_limit=cfg.body_size_limit,
        )
        if len(self._series) > SERIES_CACHE_MAX:
            self._series = {}  # the series churned: start again rather than grow
        labels, values, stamps = parse_exposition_cached(text, content_type, self._series)
        n = len(labels)
        detail = {"content_type": content_type, "samples": n}
        if cfg.sample_limit and n > cfg.sample_limit:
            return CollectResult(
                up=False,
                error=f"sample_limit exceeded: the target exposed {n} samples, the "
                f"limit is {cfg.sample_limit}; raise sample_limit or drop series at the target",
                reason=CollectFailure.LIMIT,
                detail=detail,
                samples_scraped=n,
            )
        times = stamps if stamps is not None and cfg.honor_timestamps else repeat(None, n)
        samples: list[SampleOut] = list(zip(labels, values, times, strict=True))
        return CollectResult(samples=samples, honor_labels=cfg.honor_labels, detail=detail)


async def fetch_exposition(
    client: httpx.AsyncClient | aiohttp.ClientSession,
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str],
    timeout_s: float,
    body_size_limit: int = 50 * 1024 * 1024,
) -> tuple[str, str]:
    """GET a metrics endpoint through an httpx client or an aiohttp session, following
    no redirect; (body text, content type). Raises :class:`TargetError`."""
    body = _Body(url, body_size_limit)
    if isinstance(client, aiohttp.ClientSession):
        try:
            async with client.get(
                url,
                params=params,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                allow_redirects=False,
            ) as resp:
                _check_status(url, resp.status, resp.reason or "")
                async for chunk in resp.content.iter_chunked(_READ_SIZE):
                    body.add(chunk)
                content_type = resp.headers.get("Content-Type", "")
                encoding = resp.charset
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise session_error(exc, redact_url(url)) from None
    else:
        try:
            async with client.stream(
                "GET", url, params=params, headers=headers, timeout=timeout_s
            ) as r:
                _check_status(url, r.status_code, r.reason_phrase)
                async for chunk in r.aiter_bytes():
                    body.add(chunk)
                content_type = r.headers.get("content-type", "")
                encoding = r.charset_encoding
        except httpx.HTTPError as exc:
            raise transport_error(exc, redact_url(url)) from None
    return body.text(encoding or "utf-8"), content_type


_READ_SIZE = 256 * 1024


def _check_status(url: str, status: int, reason: str) -> None:
    if status == 200:
        return
    where = redact_url(url)
    if status in (401, 403):
        raise TargetError(
            f"{where} refused the credentials (HTTP {status}); check "
            "basic_auth / bearer_token in the check's config",
            CollectFailure.AUTH,
            detail={"status_code": status},
        )
    raise TargetError(
        f"{where} answered HTTP {status} {reason}, expected 200",
        CollectFailure.HTTP_STATUS,
        detail={"status_code": status},
    )


class _Body:
    """A response body read in chunks, refused past ``limit`` bytes."""

    def __init__(self, url: str, limit: int) -> None:
        self.url = url
        self.limit = limit
        self.size = 0
        self.chunks: list[bytes] = []

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TargetError(
                f"{redact_url(self.url)} sent more than body_size_limit ({self.limit} bytes)",
                CollectFailure.LIMIT,
            )
        self.chunks.append(chunk)

    def text(self, encoding: str) -> str:
        try:
            return b"".join(self.chunks).decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise TargetError(
                f"{redact_url(self.url)} sent a body that is not {encoding} text: {exc}",
                CollectFailure.BAD_RESPONSE,
            ) from None
