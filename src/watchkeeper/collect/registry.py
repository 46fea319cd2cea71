"""The explicit table of collector kinds. Adding a kind = one package + one line in
:data:`COLLECTORS` (and its config model in :data:`CheckConfig`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field

from watchkeeper.collect.base import Collector, CollectorDeps
from watchkeeper.collect.config import CheckBase
from watchkeeper.collect.github.collector import GithubCollector
from watchkeeper.collect.github.config import GithubCheckConfig
from watchkeeper.collect.heartbeat.collector import HeartbeatCollector
from watchkeeper.collect.heartbeat.config import HeartbeatCheckConfig
from watchkeeper.collect.http.collector import HttpCollector
from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.collect.postgres.collector import PostgresCollector
from watchkeeper.collect.postgres.config import PostgresCheckConfig
from watchkeeper.collect.render.collector import RenderCollector
from watchkeeper.collect.render.config import RenderCheckConfig
from watchkeeper.collect.scrape.collector import ScrapeCollector
from watchkeeper.collect.scrape.config import ScrapeConfig
from watchkeeper.collect.supabase.collector import SupabaseCollector
from watchkeeper.collect.supabase.config import SupabaseCheckConfig
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.collect.vercel.collector import VercelCollector
from watchkeeper.collect.vercel.config import VercelCheckConfig


@dataclass(frozen=True, slots=True)
class CollectorKind:
    config: type[CheckBase]
    collector: Callable[[Any, CollectorDeps], Collector]


COLLECTORS: dict[str, CollectorKind] = {
    "http": CollectorKind(HttpCheckConfig, HttpCollector),
    "scrape": CollectorKind(ScrapeConfig, ScrapeCollector),
    "vercel": CollectorKind(VercelCheckConfig, VercelCollector),
    "render": CollectorKind(RenderCheckConfig, RenderCollector),
    "supabase": CollectorKind(SupabaseCheckConfig, SupabaseCollector),
    "github": CollectorKind(GithubCheckConfig, GithubCollector),
    "postgres": CollectorKind(PostgresCheckConfig, PostgresCollector),
    "heartbeat": CollectorKind(HeartbeatCheckConfig, HeartbeatCollector),
}

CHECK_CONFIGS = tuple(kind.config for kind in COLLECTORS.values())

CheckConfig = Annotated[
    HttpCheckConfig
    | ScrapeConfig
    | VercelCheckConfig
    | RenderCheckConfig
    | SupabaseCheckConfig
    | GithubCheckConfig
    | PostgresCheckConfig
    | HeartbeatCheckConfig,
    Field(discriminator="type"),
]


def build_collector(scheduled: ScheduledTarget, deps: CollectorDeps) -> Collector:
    """The collector of a scheduled target, from the table."""
    kind = COLLECTORS.get(scheduled.target.kind)
    if kind is None:
        raise ValueError(
            f"unknown check type {scheduled.target.kind!r}; known: {', '.join(COLLECTORS)}"
        )
    if not isinstance(scheduled.check, kind.config):
        raise TypeError(
            f"{scheduled.target.kind} target needs a {kind.config.__name__}, "
            f"got {type(scheduled.check).__name__}"
        )
    return kind.collector(scheduled.check, deps)
