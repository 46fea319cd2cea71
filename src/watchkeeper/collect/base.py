"""The collector contract.

A collector is a small async class built from its validated config model. The scheduler
calls :meth:`Collector.collect` once per interval per target, bounded by a timeout, and
turns the :class:`CollectResult` into stored samples, ``up``-style meta series and the
check status the dashboard shows.

Failures classify themselves: a collector raises :class:`TargetError` (or returns a result
with ``up=False``) carrying a :class:`CollectFailure` reason. Anything else a collector
raises is caught by the scheduler and reported as ``internal``: a broken target never
stops the scheduler.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import httpx

from watchkeeper.collect.heartbeat.book import HeartbeatBook
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import CollectError
from watchkeeper.core.labels import Labels


class CollectFailure(StrEnum):
    """Why a run did not succeed; shown on the target status."""

    TIMEOUT = "timeout"  # the run or one call exceeded its timeout
    CONNECTION = "connection"  # refused, reset, DNS
    HTTP_STATUS = "http_status"  # an unexpected status code
    AUTH = "auth"  # 401/403: the credentials in the config are wrong or expired
    RATE_LIMITED = "rate_limited"  # 429 or backing off before the limit
    BAD_RESPONSE = "bad_response"  # malformed JSON or exposition text
    LIMIT = "limit"  # a configured limit (sample_limit) was exceeded
    ASSERTION = "assertion"  # an http check assertion failed (body, latency, status)
    TLS = "tls"  # certificate invalid or about to expire
    MISSED = "missed"  # a push source (heartbeat) did not report in time
    CONFIG = "config"  # the config cannot produce a request
    INTERNAL = "internal"  # a bug: an exception the collector did not expect


class TargetError(CollectError):
    """A target could not be collected; the scheduler reports it down with ``reason``."""

    def __init__(
        self,
        message: str,
        reason: CollectFailure,
        *,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = dict(detail or {})


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to collect: a check of a service, with the labels its series carry."""

    service: str
    name: str  # check name, unique within the service
    kind: str  # registry key: http, scrape, postgres, vercel, ...
    job: str
    instance: str
    interval: float
    timeout: float
    labels: Labels  # target labels added to every series (job, instance, service, ...)

    @property
    def key(self) -> str:
        return f"{self.service}/{self.name}"


@dataclass(frozen=True, slots=True)
class CollectContext:
    target: Target
    clock: Clock
    http: httpx.AsyncClient
    scrape_time_ms: int


SampleOut = tuple[Mapping[str, str] | Labels, float, int | None]
"""(labels including ``__name__``, value, timestamp in ms or ``None`` for the run time)."""


@dataclass(slots=True)
class CollectResult:
    """What one run produced.

    ``samples`` carry the collector's own labels; the scheduler adds the target labels
    (unless ``honor_labels`` says the exposed ones win). ``timestamp_ms`` of ``None`` means
    "the scrape time".

    ``up`` says whether the source could be read (the ``up`` series). ``healthy`` says
    whether what was read is good (the status the dashboard shows); ``None`` means "same
    as ``up``". An http probe that ran but failed is ``up=True, healthy=False``, as
    blackbox_exporter reports ``up 1`` with ``probe_success 0``.
    """

    samples: list[SampleOut] = field(default_factory=list)
    up: bool = True
    error: str | None = None  # why the target is down, for people
    detail: dict[str, Any] = field(default_factory=dict)  # latency, status code, ...
    honor_labels: bool = False
    healthy: bool | None = None
    reason: CollectFailure | None = None
    samples_scraped: int | None = None  # before limits; default len(samples)

    @property
    def is_healthy(self) -> bool:
        return self.up if self.healthy is None else self.healthy


class Collector(Protocol):
    """A collector may also define ``failed_result(error: TargetError, duration: float) ->
    CollectResult``: what to report when the scheduler ends a run (its timeout), so that a
    probe that never answered still writes its failure series (``probe_success 0``)."""

    kind: ClassVar[str]

    async def collect(self, ctx: CollectContext) -> CollectResult: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CollectorDeps:
    """What a collector may use besides its config; built once by the runtime."""

    clock: Clock
    http: httpx.AsyncClient
    heartbeats: HeartbeatBook = field(default_factory=HeartbeatBook)
    # Whether a long-lived collector that fetches one endpoint again and again (scrape)
    # keeps a client of its own rather than use ``http``; only an owner that closes its
    # collectors (the scheduler) sets it.
    client_per_target: bool = False
