"""``watchkeeper demo``: start the simulated stack, run Watchkeeper on it with the
embedded store, inject incidents on a schedule, and print a summary at the end."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from watchkeeper.alerting.history import HistoryEvent
from watchkeeper.config.loader import load_config
from watchkeeper.core.clock import SystemClock
from watchkeeper.demo.config import DemoPorts, demo_config
from watchkeeper.demo.stack import DemoStack
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.server import Server
from watchkeeper.security.crypto import KeyRing, generate_key, write_keyring_file
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.testing import tools

MARKER = ".watchkeeper-demo"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class DemoSummary:
    seconds: float
    checks_run: int
    samples_stored: int
    alerts_fired: int
    alerts_resolved: int
    notifications_delivered: int
    notifications_failed: int
    incidents: list[str]

    def lines(self) -> list[str]:
        return [
            f"Demo finished after {self.seconds:.0f} s.",
            f"  checks run:               {self.checks_run}",
            f"  samples stored:           {self.samples_stored}",
            f"  alerts fired / resolved:  {self.alerts_fired} / {self.alerts_resolved}",
            f"  notifications delivered:  {self.notifications_delivered}"
            + (f" ({self.notifications_failed} failed)" if self.notifications_failed else ""),
            f"  incidents injected:       {', '.join(self.incidents) or 'none'}",
        ]


def default_postgres_dsn() -> str | None:
    """The local PostgreSQL the demo watches too, when one answers."""
    return tools.postgres_dsn() if tools.postgres_available(0.5) else None


def prepare_data_dir(data_dir: Path) -> None:
    """A fresh directory for each demo; only a directory the demo made is wiped."""
    if data_dir.exists():
        if not (data_dir / MARKER).exists() and any(data_dir.iterdir()):
            raise SystemExit(
                f"{data_dir} exists and was not made by the demo; choose another --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("made by watchkeeper demo; deleted at the next demo run\n")


def ports_free(ports: list[int]) -> list[int]:
    busy = []
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                busy.append(port)
    return busy


@dataclass(frozen=True, slots=True)
class DemoSchedule:
    """When incidents start; tests start one sooner and pick which."""

    first_after: float = 15.0
    period: float = 150.0
    only: tuple[str, ...] = ()  # incident names, in order; empty = all
    duration: float | None = None  # overrides every incident's own duration


async def run_demo(
    port: int,
    data_dir: Path,
    *,
    duration: float | None,
    postgres_dsn: str | None,
    schedule: DemoSchedule | None = None,
    announce: bool = True,
    stop_when: Callable[[DemoStack], bool] | None = None,
) -> DemoSummary:
    """Run the demo for ``duration`` seconds (``None``: until stopped), or until
    ``stop_when(stack)`` holds, whichever comes first."""
    ports = DemoPorts(port)
    busy = ports_free(ports.all())
    if busy:
        raise SystemExit(
            f"ports {', '.join(map(str, busy))} are in use; the demo needs {port}..{port + 7}. "
            "Stop what uses them or pick another --port."
        )
    prepare_data_dir(data_dir)
    write_keyring_file(data_dir / "secret.key", KeyRing.single(generate_key()))
    config_path = data_dir / "watchkeeper.yaml"
    config_path.write_text(demo_config(port, data_dir, postgres_dsn=postgres_dsn), encoding="utf-8")
    loaded = load_config(config_path)
    clock = SystemClock()
    stack = DemoStack(ports, clock)
    plan = schedule or DemoSchedule()
    stack.schedule.first_after = plan.first_after
    stack.schedule.period = plan.period
    if plan.only:
        by_name = {i.name: i for i in stack.schedule.incidents}
        stack.schedule.incidents = [by_name[name] for name in plan.only]
    if plan.duration is not None:
        stack.schedule.incidents = [
            replace(i, duration=plan.duration) for i in stack.schedule.incidents
        ]
    stack.start()
    rt = Runtime(loaded)
    password = secrets.token_urlsafe(12)
    with rt.db.begin() as conn:
        rt.security.users.create(conn, system_principal("demo"), ADMIN, password, Role.ADMIN)
    server = Server(rt)
    server.app.state.demo = stack
    started = clock.monotonic()
    if announce:
        print(f"Dashboard: {server.url()}/   (log in as {ADMIN} / {password} to ack and silence)")
        print(f"Simulated services on ports {port + 1}..{port + 7}; data in {data_dir}")
        print(
            f"The first incident starts {plan.first_after:.0f} s after start; "
            "Ctrl-C stops the demo."
        )
    background = [
        asyncio.create_task(stack.traffic(), name="demo-traffic"),
        asyncio.create_task(stack.schedule.run(), name="demo-incidents"),
    ]

    async def until() -> None:
        deadline = None if duration is None else clock.monotonic() + duration
        while deadline is None or clock.monotonic() < deadline:
            if stop_when is not None and stop_when(stack):
                return
            await asyncio.sleep(0.5)

    summary: list[DemoSummary] = []

    def collect() -> None:
        summary.append(_summary(rt, stack, clock.monotonic() - started))

    try:
        await server.run(until=until, before_stop=collect)
    finally:
        for task in background:
            task.cancel()
        for task in background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        stack.stop()
    return summary[0]


def _summary(rt: Runtime, stack: DemoStack, seconds: float) -> DemoSummary:
    from watchkeeper.notify.records import AttemptOutcome

    history = rt.history.query(events=[HistoryEvent.FIRING, HistoryEvent.RESOLVED], limit=1000)
    return DemoSummary(
        seconds=seconds,
        checks_run=sum(s.runs for s in rt.scheduler.statuses()),
        samples_stored=rt.store.stats().samples_appended_total,
        alerts_fired=sum(1 for e in history if e.event is HistoryEvent.FIRING),
        alerts_resolved=sum(1 for e in history if e.event is HistoryEvent.RESOLVED),
        notifications_delivered=rt.notify.log.count(outcome=AttemptOutcome.DELIVERED),
        notifications_failed=rt.notify.log.count(outcome=AttemptOutcome.FAILED),
        incidents=[r.name for r in stack.schedule.log],
    )
