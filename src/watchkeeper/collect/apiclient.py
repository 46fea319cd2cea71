"""A small JSON API client shared by the platform collectors (Vercel, Render, Supabase,
GitHub): bearer auth, per-call timeouts inside the run's deadline, rate-limit headers
honoured *before* the limit is hit, and every failure turned into a :class:`TargetError`
with a reason — 401/403 become a configuration error that names the token field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from watchkeeper.collect.base import CollectFailure, TargetError
from watchkeeper.collect.httpclient import transport_error
from watchkeeper.core.clock import Clock, rfc3339

ErrorText = Callable[[Any], str | None]

_EPOCH_THRESHOLD = 1_000_000_000  # a reset above this is an epoch time, below it a delay


def _generic_error_text(body: Any) -> str | None:
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return None


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """How one platform's API speaks."""

    name: str  # "Vercel", for messages
    base_url: str
    token_field: str = "token"  # noqa: S105 - the config field to fix on 401/403
    headers: Mapping[str, str] = field(default_factory=dict)
    limit_header: str = "x-ratelimit-limit"
    remaining_header: str = "x-ratelimit-remaining"
    reset_header: str = "x-ratelimit-reset"
    reserve: int = 2  # stop calling when this few requests are left in the window
    error_text: ErrorText = _generic_error_text


@dataclass(slots=True)
class RateLimit:
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # epoch seconds
    blocked_until: float = 0.0


class ApiClient:
    """One client per target; keeps that target's view of the rate limit across runs."""

    def __init__(
        self,
        spec: ApiSpec,
        http: httpx.AsyncClient,
        clock: Clock,
        token: str,
        *,
        call_timeout: float = 10.0,
    ) -> None:
        self.spec = spec
        self.http = http
        self.clock = clock
        self.call_timeout = call_timeout
        self.rate = RateLimit()
        self.calls = 0
        self._headers = {"Accept": "application/json", **spec.headers}
        self._headers["Authorization"] = f"Bearer {token}"
        self._deadline: float | None = None

    def start_run(self, timeout: float) -> None:
        """Set the deadline of this run; each call gets at most what is left of it."""
        self._deadline = self.clock.monotonic() + timeout

    def url(self, path: str) -> str:
        return self.spec.base_url.rstrip("/") + "/" + path.lstrip("/")

    async def get_json(
        self, path: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None
    ) -> Any:
        return self.decode(await self.get(path, params), path)

    async def get(
        self, path_or_url: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None
    ) -> httpx.Response:
        now = self.clock.now()
        if now < self.rate.blocked_until:
            raise TargetError(
                f"backing off the {self.spec.name} API rate limit "
                f"({self.rate.remaining}/{self.rate.limit} requests left) until "
                f"{rfc3339(self.rate.blocked_until)}",
                CollectFailure.RATE_LIMITED,
                detail={"rate_limited_until": self.rate.blocked_until},
            )
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        where = f"{self.spec.name} API {httpx.URL(url).path}"
        timeout = self.call_timeout
        if self._deadline is not None:
            timeout = min(timeout, max(0.05, self._deadline - self.clock.monotonic()))
        try:
            self.calls += 1
            resp = await self.http.get(url, params=params, headers=self._headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise transport_error(exc, where) from None
        self._read_rate_limit(resp)
        if resp.status_code >= 400:
            raise self._status_error(resp, where)
        return resp

    async def post(
        self,
        path: str,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """A POST with the same auth, deadline, rate-limit handling and error reasons as
        :meth:`get` (used by the readiness rollback drill)."""
        now = self.clock.now()
        if now < self.rate.blocked_until:
            raise TargetError(
                f"backing off the {self.spec.name} API rate limit until "
                f"{rfc3339(self.rate.blocked_until)}",
                CollectFailure.RATE_LIMITED,
                detail={"rate_limited_until": self.rate.blocked_until},
            )
        url = path if "://" in path else self.url(path)
        where = f"{self.spec.name} API {httpx.URL(url).path}"
        timeout = self.call_timeout
        if self._deadline is not None:
            timeout = min(timeout, max(0.05, self._deadline - self.clock.monotonic()))
        try:
            self.calls += 1
            resp = await self.http.post(
                url, json=json_body, params=params, headers=self._headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, where) from None
        self._read_rate_limit(resp)
        if resp.status_code >= 400:
            raise self._status_error(resp, where)
        return resp

    def decode(self, resp: httpx.Response, path: str) -> Any:
        try:
            return resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TargetError(
                f"{self.spec.name} API {path} answered malformed JSON ({exc}); "
                "the API may be having trouble",
                CollectFailure.BAD_RESPONSE,
            ) from None

    # ------------------------------------------------------------------ internals
    def _read_rate_limit(self, resp: httpx.Response) -> None:
        h = resp.headers
        limit = _int(h.get(self.spec.limit_header))
        remaining = _int(h.get(self.spec.remaining_header))
        reset = _float(h.get(self.spec.reset_header))
        if limit is not None:
            self.rate.limit = limit
        if remaining is not None:
            self.rate.remaining = remaining
        if reset is not None:
            now = self.clock.now()
            self.rate.reset_at = reset if reset > _EPOCH_THRESHOLD else now + reset
        if (
            remaining is not None
            and remaining <= self.spec.reserve
            and self.rate.reset_at is not None
            and self.rate.reset_at > self.clock.now()
        ):
            self.rate.blocked_until = self.rate.reset_at

    def _status_error(self, resp: httpx.Response, where: str) -> TargetError:
        code = resp.status_code
        try:
            text = self.spec.error_text(resp.json())
        except ValueError:
            text = None
        said = f": {text}" if text else ""
        detail = {"status_code": code}
        if code == 429 or (code == 403 and self.rate.remaining == 0):
            retry = _float(resp.headers.get("retry-after"))
            now = self.clock.now()
            until = now + retry if retry is not None else (self.rate.reset_at or now + 60.0)
            self.rate.blocked_until = max(self.rate.blocked_until, until)
            return TargetError(
                f"{where} is rate limiting Watchkeeper (HTTP {code}{said}); backing off "
                f"until {rfc3339(self.rate.blocked_until)}",
                CollectFailure.RATE_LIMITED,
                detail={**detail, "rate_limited_until": self.rate.blocked_until},
            )
        if code in (401, 403):
            return TargetError(
                f"{where} refused the credentials (HTTP {code}{said}); the "
                f"{self.spec.token_field} is wrong, expired or lacks permission: set a valid "
                f"one in the check's {self.spec.token_field} (or {self.spec.token_field}_file)",
                CollectFailure.AUTH,
                detail=detail,
            )
        if code == 404:
            return TargetError(
                f"{where} was not found (HTTP 404{said}); check the ids in the check's config",
                CollectFailure.CONFIG,
                detail=detail,
            )
        return TargetError(
            f"{where} answered HTTP {code}{said}", CollectFailure.HTTP_STATUS, detail=detail
        )


def _int(value: str | None) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
