"""The ``http`` synthetic check.

Series (blackbox_exporter names and meanings):

* ``probe_success`` 1/0, ``probe_duration_seconds`` (request to last body byte);
* ``probe_http_status_code``, ``probe_http_content_length`` (-1 when not given),
  ``probe_http_uncompressed_body_length``, ``probe_http_redirects``, ``probe_http_ssl``,
  ``probe_http_version``;
* ``probe_ssl_earliest_cert_expiry`` (epoch seconds, https only);
* ``probe_failed_due_to_regex`` 1 when a body substring/regex assertion failed;
* Watchkeeper's additions: ``probe_failed_due_to_json_path``,
  ``probe_failed_due_to_latency``, ``probe_failed_due_to_status``.

A probe that ran but failed is ``up 1`` with ``probe_success 0`` and a DOWN status whose
error says which assertion failed.
"""

from __future__ import annotations

import json
import re
import ssl
import time
from datetime import UTC
from typing import Any, ClassVar

import httpx
from cryptography import x509

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.collect.httpclient import redact_url, tls_client, transport_error

_MISSING = object()


class HttpCollector:
    kind: ClassVar[str] = "http"

    def __init__(self, config: HttpCheckConfig, deps: CollectorDeps) -> None:
        self.config = config
        self._deps = deps
        self._own_client = tls_client(config.verify_tls, config.ca_file)
        self._regexes = [re.compile(r) for r in config.body_assertions.regex]

    async def close(self) -> None:
        if self._own_client is not None:
            await self._own_client.aclose()

    async def collect(self, ctx: CollectContext) -> CollectResult:
        cfg = self.config
        client = self._own_client or ctx.http
        headers = dict(cfg.headers)
        if cfg.bearer_token:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        where = redact_url(cfg.url)
        t0 = time.perf_counter()
        try:
            async with client.stream(
                cfg.method,
                cfg.url,
                headers=headers,
                content=cfg.body.encode("utf-8") if cfg.body is not None else None,
                timeout=probe_timeout(ctx.target.timeout),
                follow_redirects=cfg.follow_redirects,
            ) as resp:
                cert_expiry = _peer_cert_expiry(resp)
                body = await _read_limited(resp, cfg.max_body_bytes)
        except httpx.HTTPError as exc:
            err = transport_error(exc, where)
            return self._failed(err, time.perf_counter() - t0)
        duration = time.perf_counter() - t0
        return self._evaluate(resp, body, duration, cert_expiry, ctx.clock.now())

    def failed_result(self, err: TargetError, duration: float) -> CollectResult:
        """The probe's failure series when the scheduler's timeout ends the run first."""
        return self._failed(err, duration)

    def _failed(self, err: TargetError, duration: float) -> CollectResult:
        samples: list[SampleOut] = [
            ({"__name__": "probe_success"}, 0.0, None),
            ({"__name__": "probe_duration_seconds"}, duration, None),
            ({"__name__": "probe_http_status_code"}, 0.0, None),
        ]
        return CollectResult(
            samples=samples,
            up=True,
            healthy=False,
            error=str(err),
            reason=err.reason,
            detail={"latency_ms": round(duration * 1000, 3)},
        )

    def _evaluate(
        self,
        resp: httpx.Response,
        body: bytes,
        duration: float,
        cert_expiry: float | None,
        now: float,
    ) -> CollectResult:
        cfg = self.config
        failures: list[tuple[CollectFailure, str]] = []
        code = resp.status_code
        status_ok = code in cfg.expected_status if cfg.expected_status else 200 <= code < 300
        if not status_ok:
            expected = ", ".join(map(str, cfg.expected_status)) if cfg.expected_status else "2xx"
            failures.append((CollectFailure.HTTP_STATUS, f"status {code}, expected {expected}"))
        text = body.decode(resp.encoding or "utf-8", errors="replace")
        regex_failed = self._check_text(text, failures)
        json_failed = self._check_json(text, failures)
        latency_failed = cfg.max_latency is not None and duration > float(cfg.max_latency)
        if latency_failed:
            failures.append(
                (
                    CollectFailure.ASSERTION,
                    f"took {duration * 1000:.0f} ms, above max_latency "
                    f"{float(cfg.max_latency or 0) * 1000:.0f} ms",
                )
            )
        detail: dict[str, Any] = {
            "status_code": code,
            "latency_ms": round(duration * 1000, 3),
            "content_length": len(body),
            "redirects": len(resp.history),
            "final_url": redact_url(resp.url),
        }
        if cert_expiry is not None:
            days_left = (cert_expiry - now) / 86400
            detail["tls_expires_at"] = cert_expiry
            detail["tls_days_left"] = round(days_left, 2)
            if cert_expiry <= now:
                failures.append((CollectFailure.TLS, "the TLS certificate has expired"))
            elif cert_expiry - now < float(cfg.tls_expiry_warning):
                detail["tls_warning"] = f"the TLS certificate expires in {days_left:.1f} days"
        success = not failures
        length_header = resp.headers.get("content-length")
        samples: list[SampleOut] = [
            ({"__name__": "probe_success"}, 1.0 if success else 0.0, None),
            ({"__name__": "probe_duration_seconds"}, duration, None),
            ({"__name__": "probe_http_status_code"}, float(code), None),
            (
                {"__name__": "probe_http_content_length"},
                float(length_header) if length_header and length_header.isdigit() else -1.0,
                None,
            ),
            ({"__name__": "probe_http_uncompressed_body_length"}, float(len(body)), None),
            ({"__name__": "probe_http_redirects"}, float(len(resp.history)), None),
            ({"__name__": "probe_http_ssl"}, 1.0 if resp.url.scheme == "https" else 0.0, None),
            ({"__name__": "probe_http_version"}, _http_version(resp.http_version), None),
            ({"__name__": "probe_failed_due_to_regex"}, 1.0 if regex_failed else 0.0, None),
            ({"__name__": "probe_failed_due_to_json_path"}, 1.0 if json_failed else 0.0, None),
            ({"__name__": "probe_failed_due_to_latency"}, 1.0 if latency_failed else 0.0, None),
            ({"__name__": "probe_failed_due_to_status"}, 0.0 if status_ok else 1.0, None),
        ]
        if cert_expiry is not None:
            samples.append(({"__name__": "probe_ssl_earliest_cert_expiry"}, cert_expiry, None))
        error = None
        reason = None
        if failures:
            reason = failures[0][0]
            error = f"{cfg.method} {redact_url(cfg.url)}: " + "; ".join(m for _, m in failures)
        return CollectResult(
            samples=samples, up=True, healthy=success, error=error, reason=reason, detail=detail
        )

    def _check_text(self, text: str, failures: list[tuple[CollectFailure, str]]) -> bool:
        a = self.config.body_assertions
        failed = False
        for needle in a.contains:
            if needle not in text:
                failures.append((CollectFailure.ASSERTION, f"body does not contain {needle!r}"))
                failed = True
        for needle in a.not_contains:
            if needle in text:
                failures.append((CollectFailure.ASSERTION, f"body contains {needle!r}"))
                failed = True
        for rx in self._regexes:
            if rx.search(text) is None:
                failures.append(
                    (CollectFailure.ASSERTION, f"body does not match regex {rx.pattern!r}")
                )
                failed = True
        return failed

    def _check_json(self, text: str, failures: list[tuple[CollectFailure, str]]) -> bool:
        paths = self.config.body_assertions.json_path
        if not paths:
            return False
        try:
            doc = json.loads(text)
        except ValueError as exc:
            failures.append((CollectFailure.ASSERTION, f"body is not JSON ({exc})"))
            return True
        failed = False
        for path, expected in paths.items():
            actual = json_lookup(doc, path)
            if actual is _MISSING:
                failures.append((CollectFailure.ASSERTION, f"JSON path {path!r} not found"))
                failed = True
            elif not _json_equal(actual, expected):
                failures.append(
                    (
                        CollectFailure.ASSERTION,
                        f"JSON path {path!r} is {json.dumps(actual)}, expected "
                        f"{json.dumps(expected)}",
                    )
                )
                failed = True
        return failed


def json_lookup(doc: Any, path: str) -> Any:
    """Follow a dotted path (``checks.db``, ``items.0.name``); ``_MISSING`` if absent."""
    node = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif (
            isinstance(node, list)
            and part.lstrip("-").isdigit()
            and -len(node) <= int(part) < len(node)
        ):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def probe_timeout(target_timeout: float) -> float:
    """A little less than the run's timeout, so a slow answer is reported by the probe
    (``probe_success 0``) before the scheduler cuts the run off."""
    return max(target_timeout * 0.9, target_timeout - 0.5)


def _json_equal(actual: Any, expected: Any) -> bool:
    """Equality as YAML users expect it: 1 == 1.0, but true is not 1."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return float(actual) == float(expected)
    return bool(actual == expected)


async def _read_limited(resp: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def _peer_cert_expiry(resp: httpx.Response) -> float | None:
    stream = resp.extensions.get("network_stream")
    if stream is None or not hasattr(stream, "get_extra_info"):
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if not isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    cert = x509.load_der_x509_certificate(der)
    return cert.not_valid_after_utc.astimezone(UTC).timestamp()


def _http_version(version: str) -> float:
    match = re.search(r"(\d+(?:\.\d+)?)", version)
    return float(match.group(1)) if match else 0.0
