"""The stage contract: one small async protocol, a frozen typed context, and the two
combinators (sequence and fan-out)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from watchkeeper.alerting.acks import Acknowledgement
from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.routing import Route
from watchkeeper.core.enums import NotificationEvent
from watchkeeper.core.errors import WatchkeeperError
from watchkeeper.core.labels import Labels


class MuteKind(StrEnum):
    INHIBITED = "inhibited"
    SILENCED = "silenced"
    MAINTENANCE = "maintenance"
    SUPPRESSED = "suppressed"  # by a firing alert of a service it depends on
    FLAPPING = "flapping"


@dataclass(frozen=True, slots=True)
class Mute:
    kind: MuteKind
    by: tuple[str, ...]  # silence ids, window ids, source fingerprints


@dataclass(frozen=True, slots=True)
class GroupRef:
    key: str
    id: str
    labels: Labels
    route: Route


@dataclass(frozen=True, slots=True)
class Sent:
    receiver: str  # the receiver the route (or policy) names
    target: str  # the receiver the outbox got (an on-call rotation resolves to a person)
    event: NotificationEvent
    dedup_key: str
    queued: int
    fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NotifyContext:
    """What a stage sees. Stages return a new context (``dataclasses.replace``)."""

    now: float
    group: GroupRef
    alerts: tuple[Alert, ...]
    all_alerts: tuple[Alert, ...] = ()  # the group's alerts before any was muted
    receivers: tuple[str, ...] = ()  # the fan-out's targets
    receiver: str = ""  # set inside a fan-out branch
    muted: tuple[tuple[str, Mute], ...] = ()  # (fingerprint, why)
    ack: Acknowledgement | None = None
    force: str | None = None  # why this must go out even if nothing changed
    event: NotificationEvent | None = None
    content: str = ""  # digest of the alerts being notified
    discriminator: str = ""  # separates events of one kind in the dedup key
    repeat_count: int = 0
    escalation_level: int | None = None
    firing_ids: tuple[str, ...] = ()
    resolved_ids: tuple[str, ...] = ()
    sent: tuple[Sent, ...] = ()
    stopped: bool = False

    def stop(self) -> NotifyContext:
        return replace(self, stopped=True)

    def firing(self) -> tuple[Alert, ...]:
        return tuple(a for a in self.alerts if not a.resolved(self.now))


class Stage(Protocol):
    async def exec(self, ctx: NotifyContext) -> NotifyContext: ...


class PipelineError(WatchkeeperError):
    """One or more branches of a fan-out failed; ``partial`` holds what the others did."""

    def __init__(self, failures: Sequence[BaseException], partial: NotifyContext) -> None:
        self.failures = list(failures)
        self.partial = partial
        super().__init__("; ".join(f"{type(f).__name__}: {f}" for f in self.failures))


class MultiStage:
    """Run stages in order until one stops the context."""

    def __init__(self, *stages: Stage) -> None:
        self.stages = stages

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        for stage in self.stages:
            if ctx.stopped:
                break
            ctx = await stage.exec(ctx)
        return ctx


class FanoutStage:
    """Run every branch on its own copy of the context, concurrently; one failing branch
    never cancels its siblings. Results are merged; failures are collected and raised
    together once every branch has finished."""

    def __init__(self, *branches: Stage) -> None:
        self.branches = branches

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        return await _fan_out(ctx, [(b, ctx) for b in self.branches])


class ForEachReceiver:
    """A fan-out with one branch per receiver of the context (``ctx.receivers``)."""

    def __init__(self, branch: Stage) -> None:
        self.branch = branch

    async def exec(self, ctx: NotifyContext) -> NotifyContext:
        return await _fan_out(ctx, [(self.branch, replace(ctx, receiver=r)) for r in ctx.receivers])


async def _fan_out(
    ctx: NotifyContext, runs: Sequence[tuple[Stage, NotifyContext]]
) -> NotifyContext:
    results: list[NotifyContext | BaseException]
    if len(runs) == 1:  # one branch: no task to spawn (the common case, and the fast one)
        stage, branch_ctx = runs[0]
        try:
            results = [await stage.exec(branch_ctx)]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            results = [exc]
    else:
        results = list(
            await asyncio.gather(*(st.exec(c) for st, c in runs), return_exceptions=True)
        )
    sent = list(ctx.sent)
    failures: list[BaseException] = []
    for result in results:
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            failures.append(result)
        else:
            sent.extend(s for s in result.sent if s not in ctx.sent)
    merged = replace(ctx, sent=tuple(sent))
    if failures:
        raise PipelineError(failures, merged)
    return merged


def mute_alerts(
    ctx: NotifyContext, kind: MuteKind, why: Callable[[Alert], Sequence[str]]
) -> NotifyContext:
    """Drop the alerts ``why`` names a reason for, recording the reason."""
    keep: list[Alert] = []
    muted = list(ctx.muted)
    for alert in ctx.alerts:
        by = why(alert)
        if by:
            muted.append((alert.fingerprint, Mute(kind, tuple(by))))
        else:
            keep.append(alert)
    if len(keep) == len(ctx.alerts):
        return ctx
    return replace(ctx, alerts=tuple(keep), muted=tuple(muted))
