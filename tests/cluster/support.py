"""In-process cluster members on real PostgreSQL for the election, fence and claim tests."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from watchkeeper.cluster.config import ClusterConfig
from watchkeeper.cluster.fence import Fence
from watchkeeper.cluster.node import ClusterNode, ClusterView
from watchkeeper.cluster.session import ClusterSession, MemberInfo
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.durations import Duration

HEARTBEAT = 0.2
MEMBER_TIMEOUT = 1.0
SESSION_TIMEOUT = 2.0


@dataclass
class Hooks:
    """Records what the node asked of the runtime."""

    elected_terms: list[int] = field(default_factory=list)
    lost_reasons: list[str] = field(default_factory=list)
    views: list[ClusterView] = field(default_factory=list)
    isolations: int = 0

    async def elected(self, term: int) -> None:
        self.elected_terms.append(term)

    async def lost(self, reason: str) -> None:
        self.lost_reasons.append(reason)

    async def round(self, view: ClusterView, session: ClusterSession) -> None:
        self.views.append(view)

    async def isolated(self) -> None:
        self.isolations += 1


def config(name: str) -> ClusterConfig:
    return ClusterConfig(
        instance_id=name,
        heartbeat_interval=Duration(HEARTBEAT),
        member_timeout=Duration(MEMBER_TIMEOUT),
        session_timeout=Duration(SESSION_TIMEOUT),
    )


def make_node(dsn: str, name: str, hooks: Hooks | None = None) -> ClusterNode:
    me = MemberInfo(name, f"http://{name}.test:9100", "testhost", os.getpid(), "test")
    return ClusterNode(
        dsn,
        config(name),
        me,
        clock=SystemClock(),
        fence=Fence(name),
        hooks=hooks or Hooks(),
    )


async def until(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def terminate_backend(dsn: str, pid: int) -> None:
    """End one PostgreSQL session as an administrator would, and wait (up to 10 s) until
    it has exited, so its locks are gone: without the timeout argument
    ``pg_terminate_backend`` only signals the backend and returns at once."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
