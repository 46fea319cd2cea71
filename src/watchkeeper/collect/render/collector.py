"""The Render collector (see the package docstring for its series)."""

from __future__ import annotations

from typing import Any, ClassVar

from watchkeeper.collect.apiclient import ApiClient, ApiSpec
from watchkeeper.collect.base import (
    CollectContext,
    CollectFailure,
    CollectorDeps,
    SampleOut,
    TargetError,
)
from watchkeeper.collect.platform import PlatformCollector, parse_time, sample, state_set
from watchkeeper.collect.render.config import RenderCheckConfig
from watchkeeper.core.clock import rfc3339

P = "watchkeeper_render"
STATUSES = (
    "created",
    "queued",
    "build_in_progress",
    "update_in_progress",
    "pre_deploy_in_progress",
    "live",
    "deactivated",
    "build_failed",
    "update_failed",
    "pre_deploy_failed",
    "canceled",
)
FAILED = frozenset({"build_failed", "update_failed", "pre_deploy_failed"})
RUNNING = frozenset(
    {"created", "queued", "build_in_progress", "update_in_progress", "pre_deploy_in_progress"}
)
UNIT_SCALE = {"bytes": 1.0, "kb": 1e3, "mb": 1e6, "gb": 1e9, "ms": 1e-3, "s": 1.0}


class RenderCollector(PlatformCollector):
    kind: ClassVar[str] = "render"
    prefix: ClassVar[str] = P

    def __init__(self, config: RenderCheckConfig, deps: CollectorDeps) -> None:
        spec = ApiSpec(
            name="Render",
            base_url=config.base_url,
            limit_header="ratelimit-limit",
            remaining_header="ratelimit-remaining",
            reset_header="ratelimit-reset",
        )
        client = ApiClient(
            spec, deps.http, deps.clock, config.token.reveal(), call_timeout=config.call_timeout
        )
        super().__init__(client)
        self.config = config

    async def read(self, ctx: CollectContext) -> tuple[list[SampleOut], dict[str, Any]]:
        cfg = self.config
        now = ctx.clock.now()
        service = await self.client.get_json(f"/services/{cfg.service_id}")
        if not isinstance(service, dict) or "id" not in service:
            raise TargetError(
                "Render API answered an unexpected service", CollectFailure.BAD_RESPONSE
            )
        details = service.get("serviceDetails") or {}
        suspended = service.get("suspended") == "suspended"
        out: list[SampleOut] = [sample(f"{P}_service_suspended", suspended)]
        detail: dict[str, Any] = {"service": service.get("name"), "suspended": suspended}
        if details.get("plan"):
            detail["plan"] = details.get("plan")
        configured = details.get("numInstances")
        scaling = details.get("autoscaling") or {}
        enabled = bool(scaling.get("enabled"))
        out.append(sample(f"{P}_autoscaling_enabled", enabled))
        low = scaling.get("min") if enabled else configured
        high = scaling.get("max") if enabled else configured
        if isinstance(low, int | float) and isinstance(high, int | float):
            out.append(sample(f"{P}_autoscaling_min_instances", low))
            out.append(sample(f"{P}_autoscaling_max_instances", high))
        instances = await self.client.get_json(f"/services/{cfg.service_id}/instances")
        if isinstance(instances, list):
            out.append(sample(f"{P}_instances", len(instances)))
            detail["instances"] = len(instances)
        out += await self._deploys(now, detail)
        if cfg.metrics:
            out += await self._metrics(now)
        return out, detail

    async def _deploys(self, now: float, detail: dict[str, Any]) -> list[SampleOut]:
        page = await self.client.get_json(
            f"/services/{self.config.service_id}/deploys", {"limit": 20}
        )
        deploys = (
            [w["deploy"] for w in page if isinstance(w, dict) and isinstance(w.get("deploy"), dict)]
            if isinstance(page, list)
            else []
        )
        newest = deploys[0] if deploys else None
        status = str(newest.get("status")) if newest else None
        out = state_set(f"{P}_deploy_status", "status", status, STATUSES)
        out.append(sample(f"{P}_deploy_failed", status in FAILED))
        running = 0.0
        if newest is not None:
            detail.update(newest_deploy=newest.get("id"), newest_deploy_status=status)
            if status in RUNNING:
                created = parse_time(newest.get("createdAt")) or now
                running = max(0.0, now - created)
        out.append(sample(f"{P}_deploy_in_progress_seconds", running))
        live = next((d for d in deploys if d.get("status") == "live"), None)
        if live is not None:
            detail["live_deploy"] = live.get("id")
            older = deploys[deploys.index(live) + 1 :]
            previous = next((d for d in older if d.get("status") == "deactivated"), None)
            if previous is not None:
                detail["rollback_candidate"] = previous.get("id")
                detail["rollback_candidate_finished"] = parse_time(previous.get("finishedAt"))
        finished = next((d for d in deploys if d.get("finishedAt")), None)
        if finished is not None:
            start = parse_time(finished.get("startedAt") or finished.get("createdAt"))
            end = parse_time(finished.get("finishedAt"))
            if start is not None and end is not None and end >= start:
                out.append(sample(f"{P}_deploy_duration_seconds", end - start))
        return out

    async def _metrics(self, now: float) -> list[SampleOut]:
        cfg = self.config
        common: list[tuple[str, Any]] = [
            ("resource", cfg.service_id),
            ("startTime", rfc3339(now - float(cfg.metrics_window))),
            ("endTime", rfc3339(now)),
        ]
        res = [("resolutionSeconds", int(cfg.resolution))]
        out: list[SampleOut] = []
        plan: list[tuple[str, str, list[tuple[str, Any]], dict[str, str], float]] = [
            ("cpu", "cpu_usage_cores", res, {"instance": "instance_id"}, 1.0),
            ("cpu-limit", "cpu_limit_cores", res, {}, 1.0),
            ("memory", "memory_usage_bytes", res, {"instance": "instance_id"}, 1.0),
            ("memory-limit", "memory_limit_bytes", res, {}, 1.0),
            ("instance-count", "instance_count", res, {}, 1.0),
            (
                "http-requests",
                "http_requests_per_second",
                [*res, ("aggregateBy", "statusCode")],
                {"statusCode": "status_code"},
                1.0 / float(cfg.resolution),
            ),
            (
                "http-latency",
                "http_latency_seconds",
                [*res, *(("quantile", q) for q in cfg.latency_quantiles)],
                {"quantile": "quantile"},
                1.0,
            ),
            ("bandwidth", "bandwidth_bytes", [], {}, 1.0),
        ]
        for endpoint, name, params, keep, scale in plan:
            series = await self.client.get_json(f"/metrics/{endpoint}", [*common, *params])
            out += _series_samples(f"{P}_{name}", series, keep, scale)
        return out


def _series_samples(name: str, series: Any, keep: dict[str, str], scale: float) -> list[SampleOut]:
    """The newest point of each series; label fields renamed by ``keep``; units scaled."""
    if not isinstance(series, list):
        raise TargetError(
            f"Render API metrics for {name} are not a list of series", CollectFailure.BAD_RESPONSE
        )
    out: list[SampleOut] = []
    for s in series:
        if not isinstance(s, dict):
            continue
        values = [v for v in s.get("values") or [] if isinstance(v, dict) and "value" in v]
        if not values:
            continue
        newest = max(values, key=lambda v: parse_time(v.get("timestamp")) or 0.0)
        labels = {
            keep[f["field"]]: str(f.get("value", ""))
            for f in s.get("labels") or []
            if isinstance(f, dict) and f.get("field") in keep
        }
        unit = str(s.get("unit") or "").lower()
        factor = UNIT_SCALE.get(unit, 1.0) * scale
        if name.endswith("_latency_seconds") and unit not in ("ms", "s"):
            factor = 1e-3 * scale  # Render reports latency in ms
        try:
            value = float(newest["value"]) * factor
        except (TypeError, ValueError):
            continue
        out.append(({"__name__": name, **labels}, value, None))
    return out
