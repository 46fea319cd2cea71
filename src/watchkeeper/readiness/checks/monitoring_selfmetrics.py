"""``monitoring.self_metrics``: the running instance exports its own metrics at
``/metrics`` in a format Prometheus reads (parsed with the scrape collector's parser)."""

from __future__ import annotations

import httpx

from watchkeeper.collect.base import TargetError
from watchkeeper.collect.scrape.parse import parse_exposition
from watchkeeper.readiness.check import Check, CheckContext, failed, passed, skipped
from watchkeeper.readiness.checks.monitoring_instance import NO_INSTANCE
from watchkeeper.readiness.model import Category, Verdict


class SelfMetrics(Check):
    id = "monitoring.self_metrics"
    category = Category.MONITORING
    title = "Self-metrics are exported"

    async def run(self, ctx: CheckContext) -> Verdict:
        inst = ctx.instance
        if not await inst.reachable():
            return skipped(inst.problem, NO_INSTANCE)
        url = inst.url("/metrics")
        try:
            resp = await inst.get("/metrics")
        except httpx.HTTPError as exc:
            return failed(f"{url}: no answer ({exc})", "look at the instance's log")
        if resp.status_code != 200:
            return failed(
                f"{url} answered HTTP {resp.status_code}",
                "the /metrics endpoint must be public for Prometheus scrapers; check a proxy "
                "in front of Watchkeeper",
            )
        try:
            samples = parse_exposition(resp.text, resp.headers.get("content-type"))
        except TargetError as exc:
            return failed(f"{url}: {exc}", "this is a bug in Watchkeeper's exposition; report it")
        own = {
            s.labels["__name__"] for s in samples if s.labels["__name__"].startswith("watchkeeper_")
        }
        if not own:
            return failed(
                f"{url} exports {len(samples)} samples but no watchkeeper_* metric",
                "make sure the URL points at Watchkeeper and not at another service",
            )
        return passed(
            f"{url}: {len(samples)} samples, {len(own)} watchkeeper_* metrics "
            f"(e.g. {', '.join(sorted(own)[:3])})",
            data={"samples": len(samples), "metrics": len(own)},
        )
