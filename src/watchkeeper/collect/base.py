"""The collector contract.

A collector is a small async class built from its validated config model. The scheduler
calls :meth:`Collector.collect` once per interval per target, bounded by a timeout, and
turns the :class:`CollectResult` into stored samples, ``up``-style meta series and the
check status the dashboard shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import httpx

from watchkeeper.core.clock import Clock
from watchkeeper.core.labels import Labels


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


@dataclass(slots=True)
class CollectResult:
    """What one run produced.

    ``samples`` carry the collector's own labels; the scheduler adds the target labels
    (unless ``honor_labels`` says the exposed ones win). ``timestamp_ms`` of ``None`` means
    "the scrape time".
    """

    samples: list[tuple[Mapping[str, str] | Labels, float, int | None]] = field(
        default_factory=list
    )
    up: bool = True
    error: str | None = None  # why the target is down, for people
    detail: dict[str, Any] = field(default_factory=dict)  # latency, status code, ...
    honor_labels: bool = False


class Collector(Protocol):
    kind: ClassVar[str]

    async def collect(self, ctx: CollectContext) -> CollectResult: ...

    async def close(self) -> None: ...
