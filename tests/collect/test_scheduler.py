"""The scheduler as timelines on a fake clock, with scripted collectors."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import ClassVar

import httpx
import pytest
from prometheus_client import CollectorRegistry

from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    CollectResult,
    TargetError,
)
from watchkeeper.collect.config import CheckBase
from watchkeeper.collect.scheduler import Scheduler, stable_offset
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.enums import CheckStatus

from .support import RecordingStore, scheduled


class ScriptCheck(CheckBase):
    type: str = "script"


class ScriptCollector:
    """Runs ``behaviour(ctx)``; records start times and the highest concurrency seen."""

    kind: ClassVar[str] = "script"

    def __init__(self, behaviour: Callable[[CollectContext], object]) -> None:
        self.behaviour = behaviour
        self.starts: list[float] = []
        self.active = 0
        self.max_active = 0
        self.closed = False

    async def collect(self, ctx: CollectContext) -> CollectResult:
        self.starts.append(ctx.clock.now())
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            out = self.behaviour(ctx)
            if asyncio.iscoroutine(out):
                out = await out
            if not isinstance(out, CollectResult):
                raise TypeError("behaviour must return a CollectResult")
            return out
        finally:
            self.active -= 1

    async def close(self) -> None:
        self.closed = True


def gauge(*names: str) -> Callable[[CollectContext], CollectResult]:
    return lambda ctx: CollectResult(samples=[({"__name__": n}, 1.0, None) for n in names])


class Harness:
    def __init__(self, clock: FakeClock, store: RecordingStore) -> None:
        self.clock = clock
        self.store = store
        self.collectors: dict[str, ScriptCollector] = {}
        self.behaviours: dict[str, Callable[[CollectContext], object]] = {}
        self.kinds: dict[str, type[ScriptCollector]] = {}
        self.registry = CollectorRegistry()
        self.http = httpx.AsyncClient()
        self.scheduler = Scheduler(
            store,
            clock=clock,
            http=self.http,
            registry=self.registry,
            collector_factory=self.factory,
        )

    def factory(self, st: ScheduledTarget, deps: CollectorDeps) -> ScriptCollector:
        kind = self.kinds.get(st.key, ScriptCollector)
        collector = kind(self.behaviours.get(st.key, gauge("m")))
        self.collectors[st.key] = collector
        return collector

    def target(self, name: str, interval: float = 10.0, timeout: float = 5.0) -> ScheduledTarget:
        return scheduled(ScriptCheck(name=name), interval=interval, timeout=timeout)

    async def close(self) -> None:
        await self.scheduler.stop()
        await self.http.aclose()


@pytest.fixture
async def harness(fake_clock: FakeClock, store: RecordingStore):  # type: ignore[no-untyped-def]
    h = Harness(fake_clock, store)
    yield h
    await h.close()


def test_offset_is_stable_and_inside_the_interval() -> None:
    a = stable_offset("backend/metrics", 15.0)
    assert a == stable_offset("backend/metrics", 15.0)
    assert 0 <= a < 15.0
    offsets = {round(stable_offset(f"svc/check{i}", 10.0), 3) for i in range(50)}
    assert len(offsets) > 40  # spread over the interval, not bunched


async def test_runs_every_interval_at_the_target_phase(harness: Harness) -> None:
    st = harness.target("a", interval=10.0)
    await harness.scheduler.start([st])
    await harness.clock.advance(35)
    starts = harness.collectors[st.key].starts
    assert len(starts) in (3, 4)
    phase = stable_offset(st.key, 10.0)
    for t in starts:
        assert (t % 10.0) == pytest.approx(phase, abs=1e-6)
    assert [round(b - a, 6) for a, b in itertools.pairwise(starts)] == [10.0] * (len(starts) - 1)


async def test_targets_are_spread_over_the_interval(harness: Harness) -> None:
    targets = [harness.target(f"t{i}", interval=10.0) for i in range(20)]
    await harness.scheduler.start(targets)
    await harness.clock.advance(10)
    first = sorted(harness.collectors[t.key].starts[0] % 10 for t in targets)
    assert first[-1] - first[0] > 5  # not all at the same instant


async def test_writes_samples_with_target_labels_and_synthetic_series(harness: Harness) -> None:
    st = harness.target("a")
    await harness.scheduler.start([st])
    await harness.scheduler.run_once(st.key)
    names = {lbls.name for lbls, _, _ in harness.store.last_batch()}
    assert names == {
        "m",
        "up",
        "scrape_duration_seconds",
        "scrape_samples_scraped",
        "scrape_samples_post_metric_relabeling",
        "scrape_series_added",
    }
    m = next(lbls for lbls, _, _ in harness.store.last_batch() if lbls.name == "m")
    assert m.to_dict() == {
        "__name__": "m",
        "service": "backend",
        "check": "a",
        "job": "backend",
        "instance": "a",
    }
    assert harness.store.latest("up") == 1.0
    assert harness.store.latest("scrape_samples_scraped") == 1.0
    assert harness.store.latest("scrape_series_added") == 1.0
    assert harness.store.batches[-1][0] == "backend/a"


async def test_slow_target_never_overlaps_itself_and_counts_skipped_runs(
    harness: Harness,
) -> None:
    async def slow(ctx: CollectContext) -> CollectResult:
        await ctx.clock.sleep(25)  # longer than the interval; the timeout cuts it at 5
        return CollectResult()

    st = harness.target("slow", interval=10.0, timeout=10.0)
    harness.behaviours[st.key] = slow
    await harness.scheduler.start([st])
    await harness.clock.advance(60)
    collector = harness.collectors[st.key]
    assert collector.max_active == 1
    status = harness.scheduler.status(st.key)
    assert status is not None
    assert status.reason is CollectFailure.TIMEOUT


async def test_timeout_marks_the_target_down_with_a_clear_error(harness: Harness) -> None:
    async def hang(ctx: CollectContext) -> CollectResult:
        await ctx.clock.sleep(3600)
        return CollectResult()

    st = harness.target("hang", interval=10.0, timeout=2.0)
    harness.behaviours[st.key] = hang
    await harness.scheduler.start([st])
    task = asyncio.create_task(harness.scheduler.run_once(st.key))
    await harness.clock.advance(2.5)
    status = await task
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.TIMEOUT
    assert status.error is not None
    assert "timeout of 2s" in status.error
    assert harness.store.latest("up") == 0.0
    assert harness.store.latest("scrape_duration_seconds") == pytest.approx(2.0)


async def test_a_timed_out_collector_still_writes_its_failure_series(harness: Harness) -> None:
    class ProbeLike(ScriptCollector):
        def failed_result(self, err: TargetError, duration: float) -> CollectResult:
            return CollectResult(
                samples=[({"__name__": "probe_success"}, 0.0, None)],
                healthy=False,
                error=str(err),
                reason=err.reason,
            )

    async def hang(ctx: CollectContext) -> CollectResult:
        await ctx.clock.sleep(3600)
        return CollectResult(samples=[({"__name__": "probe_success"}, 1.0, None)])

    st = harness.target("probe", interval=10.0, timeout=2.0)
    harness.behaviours[st.key] = hang
    harness.kinds[st.key] = ProbeLike
    await harness.scheduler.start([st])
    task = asyncio.create_task(harness.scheduler.run_once(st.key))
    await harness.clock.advance(2.5)
    status = await task
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.TIMEOUT
    assert harness.store.latest("probe_success") == 0.0


async def test_a_run_that_overruns_its_slot_skips_the_next_slot(harness: Harness) -> None:
    async def slow(ctx: CollectContext) -> CollectResult:
        await ctx.clock.sleep(14)
        return CollectResult()

    st = harness.target("slow", interval=10.0, timeout=10.0)
    harness.behaviours[st.key] = slow
    # the timeout is clamped to the interval, so build the target with a longer one
    from dataclasses import replace

    st = ScheduledTarget(replace(st.target, timeout=20.0), st.check)
    harness.behaviours[st.key] = slow
    await harness.scheduler.start([st])
    await harness.clock.advance(45)
    status = harness.scheduler.status(st.key)
    assert status is not None
    assert status.skipped >= 1
    assert harness.collectors[st.key].max_active == 1
    skipped = harness.registry.get_sample_value(
        "watchkeeper_collect_skipped_runs_total", {"kind": "script"}
    )
    assert skipped == status.skipped


async def test_series_that_disappear_get_staleness_markers(harness: Harness) -> None:
    st = harness.target("a")
    names = ["x", "y"]
    harness.behaviours[st.key] = lambda ctx: gauge(*names)(ctx)
    await harness.scheduler.start([st])
    await harness.scheduler.run_once(st.key)
    assert harness.store.stale() == []
    names.remove("y")
    await harness.scheduler.run_once(st.key)
    stale = harness.store.stale()
    assert [s.name for s in stale] == ["y"]
    assert stale[0]["service"] == "backend"


async def test_a_target_going_down_marks_all_its_series_stale(harness: Harness) -> None:
    st = harness.target("a")
    fail = [False]

    def behaviour(ctx: CollectContext) -> CollectResult:
        if fail[0]:
            raise TargetError("connection refused", CollectFailure.CONNECTION)
        return gauge("x", "y")(ctx)

    harness.behaviours[st.key] = behaviour
    await harness.scheduler.start([st])
    await harness.scheduler.run_once(st.key)
    fail[0] = True
    status = await harness.scheduler.run_once(st.key)
    assert status.status is CheckStatus.DOWN
    assert status.reason is CollectFailure.CONNECTION
    assert status.consecutive_failures == 1
    assert sorted(s.name for s in harness.store.stale()) == ["x", "y"]
    assert harness.store.latest("up") == 0.0


async def test_samples_with_explicit_timestamps_are_not_marked_stale(harness: Harness) -> None:
    st = harness.target("a")
    emit = [True]

    def behaviour(ctx: CollectContext) -> CollectResult:
        return CollectResult(
            samples=[({"__name__": "pushed"}, 1.0, 1_600_000_000_000)] if emit[0] else []
        )

    harness.behaviours[st.key] = behaviour
    await harness.scheduler.start([st])
    await harness.scheduler.run_once(st.key)
    assert harness.store.samples[0][1] == 1_600_000_000_000
    emit[0] = False
    await harness.scheduler.run_once(st.key)
    assert harness.store.stale() == []


async def test_removed_target_gets_stale_markers_for_all_series_and_is_closed(
    harness: Harness,
) -> None:
    a, b = harness.target("a"), harness.target("b")
    await harness.scheduler.start([a, b])
    await harness.scheduler.run_once(a.key)
    harness.store.clear()
    await harness.scheduler.reconfigure([b])
    stale_names = sorted(s.name for s in harness.store.stale())
    assert stale_names == sorted(
        [
            "m",
            "up",
            "scrape_duration_seconds",
            "scrape_samples_scraped",
            "scrape_samples_post_metric_relabeling",
            "scrape_series_added",
        ]
    )
    assert harness.collectors[a.key].closed
    assert [s.key for s in harness.scheduler.statuses()] == [b.key]


async def test_reconfigure_keeps_unchanged_targets_state_and_phase(harness: Harness) -> None:
    a, b = harness.target("a"), harness.target("b")
    await harness.scheduler.start([a, b])
    await harness.clock.advance(25)
    collector_a = harness.collectors[a.key]
    runs_before = harness.scheduler.status(a.key).runs  # type: ignore[union-attr]
    assert runs_before >= 2
    await harness.scheduler.reconfigure([a, harness.target("c")])
    assert harness.collectors[a.key] is collector_a
    assert harness.scheduler.status(a.key).runs == runs_before  # type: ignore[union-attr]
    await harness.clock.advance(20)
    phase = stable_offset(a.key, 10.0)
    assert all((t % 10.0) == pytest.approx(phase, abs=1e-6) for t in collector_a.starts)
    assert harness.collectors[b.key].closed


async def test_reconfigure_with_a_changed_check_rebuilds_its_collector(harness: Harness) -> None:
    a = harness.target("a", interval=10.0)
    await harness.scheduler.start([a])
    first = harness.collectors[a.key]
    await harness.scheduler.reconfigure([harness.target("a", interval=20.0)])
    assert harness.collectors[a.key] is not first
    assert first.closed
    assert harness.scheduler.status(a.key).interval == 20.0  # type: ignore[union-attr]


async def test_a_collector_bug_is_reported_as_internal_and_the_loop_goes_on(
    harness: Harness,
) -> None:
    def broken(ctx: CollectContext) -> CollectResult:
        raise ZeroDivisionError("oops")

    st = harness.target("broken", interval=10.0)
    harness.behaviours[st.key] = broken
    await harness.scheduler.start([st])
    await harness.clock.advance(30)
    status = harness.scheduler.status(st.key)
    assert status is not None
    assert status.runs >= 2
    assert status.reason is CollectFailure.INTERNAL
    assert status.error is not None
    assert "ZeroDivisionError: oops" in status.error


async def test_unhealthy_result_is_down_but_up_stays_one(harness: Harness) -> None:
    st = harness.target("probe")
    harness.behaviours[st.key] = lambda ctx: CollectResult(
        samples=[({"__name__": "probe_success"}, 0.0, None)],
        healthy=False,
        error="status 500, expected 2xx",
        reason=CollectFailure.HTTP_STATUS,
        detail={"status_code": 500},
    )
    await harness.scheduler.start([st])
    status = await harness.scheduler.run_once(st.key)
    assert status.status is CheckStatus.DOWN
    assert status.up is True
    assert status.detail == {"status_code": 500}
    assert harness.store.latest("up") == 1.0
    assert harness.store.latest("probe_success") == 0.0


async def test_self_metrics_count_runs_by_outcome(harness: Harness) -> None:
    ok, bad = harness.target("ok"), harness.target("bad")

    def refuse(ctx: CollectContext) -> CollectResult:
        raise TargetError("no", CollectFailure.AUTH)

    harness.behaviours[bad.key] = refuse
    await harness.scheduler.start([ok, bad])
    await harness.scheduler.run_once(ok.key)
    await harness.scheduler.run_once(bad.key)
    value = harness.registry.get_sample_value
    assert value("watchkeeper_collect_runs_total", {"kind": "script", "outcome": "ok"}) == 1
    assert value("watchkeeper_collect_runs_total", {"kind": "script", "outcome": "auth"}) == 1
    assert value("watchkeeper_collect_targets", {"kind": "script"}) == 2
    status = harness.scheduler.status(bad.key)
    assert status is not None
    assert status.to_dict()["config_error"] is True


async def test_status_listener_sees_every_run(harness: Harness, store: RecordingStore) -> None:
    seen: list[str] = []
    scheduler = Scheduler(
        store,
        clock=harness.clock,
        http=harness.http,
        collector_factory=harness.factory,
        on_status=lambda s: seen.append(s.status.value),
    )
    st = harness.target("a")
    await scheduler.start([st])
    await scheduler.run_once(st.key)
    await scheduler.stop()
    assert "up" in seen


async def test_duplicate_target_keys_are_refused(harness: Harness) -> None:
    with pytest.raises(ValueError, match="share the key"):
        await harness.scheduler.start([harness.target("a"), harness.target("a")])
