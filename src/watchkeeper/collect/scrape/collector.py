"""The ``scrape`` collector: fetches a metrics endpoint with Prometheus' content
negotiation and parses text format 0.0.4 or OpenMetrics."""

from __future__ import annotations

import base64
from typing import ClassVar

import httpx

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.httpclient import redact_url, tls_client, transport_error
from watchkeeper.collect.scrape.config import ScrapeConfig
from watchkeeper.collect.scrape.parse import ACCEPT_HEADER, parse_exposition_cached
from watchkeeper.collect.series import SERIES_CACHE_MAX
from watchkeeper.core.labels import Labels


class ScrapeCollector:
    kind: ClassVar[str] = "scrape"

    def __init__(self, config: ScrapeConfig, deps: CollectorDeps) -> None:
        self.config = config
        self._own_client = tls_client(config.verify_tls, config.ca_file)
        self._series: dict[tuple[str, str | None], Labels] = {}  # label sets seen here

    async def close(self) -> None:
        if self._own_client is not None:
            await self._own_client.aclose()

    async def collect(self, ctx: CollectContext) -> CollectResult:
        cfg = self.config
        headers = {
            **cfg.headers,
            "Accept": ACCEPT_HEADER,
            "X-Prometheus-Scrape-Timeout-Seconds": f"{ctx.target.timeout:g}",
        }
        if cfg.basic_auth is not None:
            raw = f"{cfg.basic_auth.username}:{cfg.basic_auth.password.reveal()}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode()
        elif cfg.bearer_token:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        text, content_type = await fetch_exposition(
            self._own_client or ctx.http,
            cfg.url,
            params=cfg.params,
            headers=headers,
            timeout_s=ctx.target.timeout,
            body_size_limit=cfg.body_size_limit,
        )
        if len(self._series) > SERIES_CACHE_MAX:
            self._series = {}  # the series churned: start again rather than grow
        parsed = parse_exposition_cached(text, content_type, self._series)
        detail = {"content_type": content_type, "samples": len(parsed)}
        if cfg.sample_limit and len(parsed) > cfg.sample_limit:
            return CollectResult(
                up=False,
                error=f"sample_limit exceeded: the target exposed {len(parsed)} samples, the "
                f"limit is {cfg.sample_limit}; raise sample_limit or drop series at the target",
                reason=CollectFailure.LIMIT,
                detail=detail,
                samples_scraped=len(parsed),
            )
        honor_ts = cfg.honor_timestamps
        samples: list[SampleOut] = (
            list(parsed) if honor_ts else [(labels, value, None) for labels, value, _ in parsed]
        )
        return CollectResult(samples=samples, honor_labels=cfg.honor_labels, detail=detail)


async def fetch_exposition(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: dict[str, str] | None = None,
    headers: dict[str, str],
    timeout_s: float,
    body_size_limit: int = 50 * 1024 * 1024,
) -> tuple[str, str]:
    """GET a metrics endpoint; (body text, content type). Raises :class:`TargetError`."""
    where = redact_url(url)
    try:
        async with client.stream(
            "GET", url, params=params, headers=headers, timeout=timeout_s
        ) as resp:
            if resp.status_code in (401, 403):
                raise TargetError(
                    f"{where} refused the credentials (HTTP {resp.status_code}); check "
                    "basic_auth / bearer_token in the check's config",
                    CollectFailure.AUTH,
                    detail={"status_code": resp.status_code},
                )
            if resp.status_code != 200:
                raise TargetError(
                    f"{where} answered HTTP {resp.status_code} {resp.reason_phrase}, expected 200",
                    CollectFailure.HTTP_STATUS,
                    detail={"status_code": resp.status_code},
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > body_size_limit:
                    raise TargetError(
                        f"{where} sent more than body_size_limit ({body_size_limit} bytes)",
                        CollectFailure.LIMIT,
                    )
                chunks.append(chunk)
            content_type = resp.headers.get("content-type", "")
            encoding = resp.charset_encoding or "utf-8"
    except httpx.HTTPError as exc:
        raise transport_error(exc, where) from None
    try:
        text = b"".join(chunks).decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise TargetError(
            f"{where} sent a body that is not {encoding} text: {exc}", CollectFailure.BAD_RESPONSE
        ) from None
    return text, content_type
