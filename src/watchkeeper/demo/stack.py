"""The simulated stack the demo monitors: the app (frontend, backend), the platform fakes
(Vercel, Render, Supabase, GitHub) and the webhook sink, each on its own loopback port,
plus synthetic traffic and the incidents that break and heal them."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from typing import Any

import httpx

from watchkeeper.core.clock import Clock
from watchkeeper.demo.config import (
    GITHUB_REPO,
    GITHUB_TOKEN,
    RENDER_SERVICE,
    RENDER_TOKEN,
    SUPABASE_REF,
    SUPABASE_SERVICE_ROLE,
    SUPABASE_TOKEN,
    VERCEL_TOKEN,
    DemoPorts,
)
from watchkeeper.demo.incidents import Incident, IncidentSchedule
from watchkeeper.testing.github import FakeGithub
from watchkeeper.testing.render import FakeRender
from watchkeeper.testing.supabase import FakeSupabase
from watchkeeper.testing.targets import FakeTarget
from watchkeeper.testing.vercel import FakeVercel
from watchkeeper.testing.webhook_sink import WebhookSink


@dataclass
class DemoStack:
    ports: DemoPorts
    clock: Clock
    requests_sent: int = 0

    def __post_init__(self) -> None:
        self.backend = FakeTarget("backend", seed=7)
        self.frontend = FakeTarget("frontend", seed=8)
        self.frontend.set_page_text("Insurance Navigator: compare plans and get a quote")
        self.vercel = FakeVercel(token=VERCEL_TOKEN, clock=self.clock)
        self.render = FakeRender(token=RENDER_TOKEN, service_id=RENDER_SERVICE, clock=self.clock)
        self.supabase = FakeSupabase(
            token=SUPABASE_TOKEN,
            ref=SUPABASE_REF,
            service_role_key=SUPABASE_SERVICE_ROLE,
            clock=self.clock,
        )
        self.github = FakeGithub(token=GITHUB_TOKEN, repo=GITHUB_REPO, clock=self.clock)
        # history to roll back to: an earlier healthy production deploy on each platform
        self.vercel.deploy(state="READY", age=3600.0, build_seconds=58.0)
        self.render.deploy("live", age=600.0)
        self.sink = WebhookSink(port=self.ports.webhook)
        self._servers: list[Any] = []
        self.schedule = IncidentSchedule(self.incidents(), self.clock)

    def start(self) -> None:
        p = self.ports
        servers: list[Any] = [
            self.frontend.serve(p.frontend),
            self.backend.serve(p.backend),
            self.vercel.serve(p.vercel),
            self.render.serve(p.render),
            self.supabase.serve(p.supabase),
            self.github.serve(p.github),
            self.sink,
        ]
        try:
            for server in servers:
                server.start()
                self._servers.append(server)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for server in reversed(self._servers):
            with contextlib.suppress(Exception):
                server.stop()
        self._servers.clear()

    # --- incidents ------------------------------------------------------------------------

    def incidents(self) -> list[Incident]:
        backend, frontend = self.backend, self.frontend
        return [
            Incident(
                "Backend latency spike",
                "the rating service slows every backend answer by 1.5 s",
                25.0,
                lambda: backend.set_latency(1.5),
                lambda: backend.set_latency(0.0),
            ),
            Incident(
                "Burst of 5xx",
                "40 % of quotes fail with HTTP 500",
                40.0,
                lambda: backend.set_error_ratio(0.4),
                lambda: backend.set_error_ratio(0.0),
            ),
            Incident(
                "Frontend down",
                "the frontend answers 503",
                40.0,
                lambda: frontend.fail_with(503),
                lambda: frontend.fail_with(None),
            ),
            Incident(
                "Failed production deploy",
                "the newest Vercel production deployment fails to build; CI fails on main",
                120.0,
                self._break_deploys,
                self._heal_deploys,
            ),
        ]

    def _break_deploys(self) -> None:
        self.vercel.deploy(state="ERROR", error_message='Command "npm run build" exited with 1')
        self.github.add_run("failure", title="feat: plan comparison")

    def _heal_deploys(self) -> None:
        self.vercel.deploy(state="READY")
        self.github.add_run("success", title="fix: plan comparison build")

    # --- traffic ---------------------------------------------------------------------------

    async def traffic(self, rate: float = 8.0) -> None:
        """Customers asking for quotes, about ``rate`` per second, until cancelled."""
        url = f"http://127.0.0.1:{self.ports.backend}/api/quote"
        rng = random.Random(11)
        async with httpx.AsyncClient(timeout=10.0) as client:
            pending: set[asyncio.Task[Any]] = set()
            try:
                while True:
                    task = asyncio.create_task(_quiet(client.post(url, json={"zip": "94107"})))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    self.requests_sent += 1
                    await asyncio.sleep(rng.expovariate(rate))
            finally:
                for task in pending:
                    task.cancel()

    # --- what the dashboard shows -----------------------------------------------------------

    def panel(self) -> dict[str, Any]:
        sink = []
        for d in reversed(self.sink.deliveries()[-12:]):
            names = sorted({a.get("labels", {}).get("alertname", "?") for a in d.alerts})
            sink.append(
                {
                    "status": d.status or "?",
                    "alerts": ", ".join(names),
                    "receiver": d.path.strip("/"),
                    "at": d.received_at,
                }
            )
        return {
            "incidents": list(reversed(self.schedule.log)),
            "sink": sink,
            "first_in": f"{int(self.schedule.first_after)} s after start",
        }


async def _quiet(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        await call
