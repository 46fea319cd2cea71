"""Run the checks: in parallel (``readiness.concurrency`` at once), each bounded by its
timeout, a crash or a timeout turned into an ``error`` result, progress reported as each
check starts and ends.

    report = await validate(loaded, RunOptions(), clock=SystemClock())
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Protocol

import httpx

from watchkeeper import __version__
from watchkeeper.config.loader import LoadedConfig
from watchkeeper.config.yamlsource import problem
from watchkeeper.core.clock import Clock
from watchkeeper.core.errors import ConfigError
from watchkeeper.readiness.check import Check, CheckContext, RunOptions
from watchkeeper.readiness.config import semantic_problems
from watchkeeper.readiness.evidence import Evidence
from watchkeeper.readiness.instance import InstanceClient
from watchkeeper.readiness.model import CheckResult, Report, Status, Verdict

log = logging.getLogger(__name__)


class Progress(Protocol):
    def started(self, check: Check) -> None: ...

    def finished(self, result: CheckResult) -> None: ...


class _Silent:
    def started(self, check: Check) -> None:
        return None

    def finished(self, result: CheckResult) -> None:
        return None


def check_config(loaded: LoadedConfig) -> None:
    """Raise :class:`ConfigError` (file:line) for problems in the readiness section."""
    problems = [
        problem(loaded.source.find(path), path, message)
        for path, message in semantic_problems(loaded.config)
    ]
    if problems:
        raise ConfigError(problems)


def select_checks(loaded: LoadedConfig, options: RunOptions) -> list[Check]:
    from watchkeeper.readiness.registry import CHECKS

    checks: list[Check] = []
    for cls in CHECKS:
        for check in cls.instances(loaded.config):
            if options.only and check.check_category not in options.only:
                continue
            checks.append(check)
    return checks


async def validate(
    loaded: LoadedConfig,
    options: RunOptions,
    *,
    clock: Clock,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    env: Mapping[str, str] | None = None,
    checks: Sequence[Check] | None = None,
) -> Report:
    """Run every selected check and return the report (nothing is stored here)."""
    check_config(loaded)
    chosen = list(checks) if checks is not None else select_checks(loaded, options)
    settings = loaded.config.readiness
    shown = progress or _Silent()
    started = clock.now()
    async with httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        timeout=httpx.Timeout(30.0),
        headers={"User-Agent": f"Watchkeeper/{__version__} readiness"},
    ) as http:
        evidence = Evidence(loaded.config, clock=clock, http=http)
        base = options.instance_url or settings.instance.url or loaded.config.server.base_url()
        ctx = CheckContext(
            loaded=loaded,
            options=options,
            clock=clock,
            http=http,
            evidence=evidence,
            instance=InstanceClient(base, http, settings.instance),
            env=env,
            transport=transport,
        )
        gate = asyncio.Semaphore(settings.concurrency)
        done: dict[int, CheckResult] = {}
        try:
            shared = [(i, c) for i, c in enumerate(chosen) if not c.exclusive]
            found = await asyncio.gather(*(_run_one(c, ctx, gate, shown) for _, c in shared))
            done.update((i, r) for (i, _), r in zip(shared, found, strict=True))
            for i, check in enumerate(chosen):
                if check.exclusive:  # alone, so nothing else disturbs what it measures
                    done[i] = await _run_one(check, ctx, gate, shown)
        finally:
            evidence.close()
        results = [done[i] for i in range(len(chosen))]
    return Report(
        started_at=started,
        finished_at=clock.now(),
        results=tuple(results),
        config=loaded.path.name if loaded.path else "",
        options=options.to_dict(),
    )


async def _run_one(
    check: Check, ctx: CheckContext, gate: asyncio.Semaphore, progress: Progress
) -> CheckResult:
    async with gate:
        progress.started(check)
        t0 = ctx.clock.monotonic()
        verdict = await _verdict(check, ctx)
        result = CheckResult(
            id=check.check_id,
            category=check.check_category,
            title=check.check_title,
            status=verdict.status,
            evidence=verdict.evidence,
            remediation=verdict.remediation,
            duration=max(0.0, ctx.clock.monotonic() - t0),
            details=verdict.details,
            data=verdict.data,
        )
        progress.finished(result)
        return result


class _Timeout(Exception):
    pass


async def _bounded(call: Coroutine[Any, Any, Verdict], limit: float, clock: Clock) -> Verdict:
    """Race the check against ``clock.sleep(limit)``, so timeouts follow the clock."""
    work = asyncio.ensure_future(call)
    timer = asyncio.ensure_future(clock.sleep(limit))
    try:
        done, _ = await asyncio.wait({work, timer}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        timer.cancel()
        raise
    if work in done:
        timer.cancel()
        return work.result()
    work.cancel()
    with contextlib.suppress(BaseException):
        await work
    raise _Timeout


async def _verdict(check: Check, ctx: CheckContext) -> Verdict:
    if check.check_id in ctx.settings.skip:
        return Verdict(Status.SKIP, "listed in readiness.skip")
    limit = check.time_limit(ctx.settings)
    try:
        return await _bounded(check.run(ctx), limit, ctx.clock)
    except _Timeout:
        return Verdict(
            Status.ERROR,
            f"the check did not finish within {limit:g}s",
            f"raise readiness.timeouts.{check.check_id} or find out what is slow",
        )
    except ConfigError as exc:
        return Verdict(
            Status.ERROR,
            "configuration problem: " + "; ".join(exc.problems),
            "fix the configuration as the message says",
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a check bug must not stop the others
        log.exception("readiness check %s crashed", check.check_id)
        return Verdict(
            Status.ERROR,
            f"the check crashed: {type(exc).__name__}: {exc}",
            "this is a bug in the check; report it with the message above",
        )
