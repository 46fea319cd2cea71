"""What the platform collectors (Vercel, Render, Supabase, GitHub) share: the run
skeleton around :class:`~watchkeeper.collect.apiclient.ApiClient`, the last good samples
re-sent while backing off a rate limit, and small helpers for samples and timestamps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

from watchkeeper.collect.apiclient import ApiClient
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectResult,
    SampleOut,
    TargetError,
)
from watchkeeper.core.clock import rfc3339


def sample(name: str, value: float, **labels: str) -> SampleOut:
    return ({"__name__": name, **labels}, float(value), None)


def state_set(name: str, label: str, current: str | None, states: Iterable[str]) -> list[SampleOut]:
    """One series per known state, 1 for the current one (kube-state-metrics style)."""
    known = list(dict.fromkeys([*states, *([current] if current else [])]))
    return [sample(name, 1.0 if s == current else 0.0, **{label: s}) for s in known]


def parse_time(value: Any) -> float | None:
    """Epoch seconds from RFC 3339 (``Z`` or offset), ``YYYY-MM-DD HH:MM:SS`` (UTC) or
    epoch milliseconds; ``None`` when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 1000.0 if value > 10_000_000_000 else float(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class PlatformCollector(ABC):
    """Runs :meth:`read` with the client's deadline; on a rate-limit back-off re-sends the
    last good samples (marked in the status detail) for up to ``max_stale`` seconds."""

    kind: ClassVar[str]
    prefix: ClassVar[str]  # watchkeeper_<kind>

    def __init__(self, client: ApiClient, *, max_stale: float = 600.0) -> None:
        self.client = client
        self.max_stale = max_stale
        self._last: tuple[float, list[SampleOut], dict[str, Any]] | None = None

    @abstractmethod
    async def read(self, ctx: CollectContext) -> tuple[list[SampleOut], dict[str, Any]]:
        """Samples and status detail of one run; raise :class:`TargetError` on failure."""

    async def close(self) -> None:
        return None

    async def collect(self, ctx: CollectContext) -> CollectResult:
        self.client.start_run(ctx.target.timeout)
        now = ctx.clock.now()
        try:
            samples, detail = await self.read(ctx)
        except TargetError as exc:
            last = self._last
            limit = max(self.max_stale, 3 * ctx.target.interval)
            if exc.reason is CollectFailure.RATE_LIMITED and last and now - last[0] <= limit:
                detail = {**last[2], "rate_limited": str(exc), "data_from": rfc3339(last[0])}
                return CollectResult(samples=last[1] + self._rate_samples(), detail=detail)
            exc.detail.setdefault("api_calls", self.client.calls)
            raise
        self._last = (now, samples, detail)
        return CollectResult(samples=samples + self._rate_samples(), detail=detail)

    def _rate_samples(self) -> list[SampleOut]:
        rate = self.client.rate
        out: list[SampleOut] = []
        if rate.remaining is not None:
            out.append(sample(f"{self.prefix}_api_rate_limit_remaining", rate.remaining))
        if rate.limit is not None:
            out.append(sample(f"{self.prefix}_api_rate_limit", rate.limit))
        return out
