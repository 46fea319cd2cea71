"""The Supabase collector (see the package docstring for its series)."""

from __future__ import annotations

import base64
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
from watchkeeper.collect.scrape.collector import fetch_exposition
from watchkeeper.collect.scrape.parse import ACCEPT_HEADER, parse_exposition
from watchkeeper.collect.supabase.config import SupabaseCheckConfig

P = "watchkeeper_supabase"
PROJECT_STATUSES = (
    "ACTIVE_HEALTHY",
    "ACTIVE_UNHEALTHY",
    "COMING_UP",
    "INACTIVE",
    "RESTORING",
    "UPGRADING",
    "PAUSING",
    "RESTARTING",
    "UNKNOWN",
)
BACKUP_STATUSES = ("COMPLETED", "FAILED", "PENDING", "REMOVED", "ARCHIVED", "CANCELLED")
USAGE_FIELDS = {
    "total_auth_requests": "auth",
    "total_realtime_requests": "realtime",
    "total_rest_requests": "rest",
    "total_storage_requests": "storage",
}


class SupabaseCollector(PlatformCollector):
    kind: ClassVar[str] = "supabase"
    prefix: ClassVar[str] = P

    def __init__(self, config: SupabaseCheckConfig, deps: CollectorDeps) -> None:
        spec = ApiSpec(name="Supabase", base_url=config.base_url)
        client = ApiClient(
            spec, deps.http, deps.clock, config.token.reveal(), call_timeout=config.call_timeout
        )
        super().__init__(client)
        self.config = config

    async def read(self, ctx: CollectContext) -> tuple[list[SampleOut], dict[str, Any]]:
        cfg = self.config
        now = ctx.clock.now()
        base = f"/v1/projects/{cfg.project_ref}"
        project = await self.client.get_json(base)
        if not isinstance(project, dict):
            raise TargetError(
                "Supabase API answered an unexpected project", CollectFailure.BAD_RESPONSE
            )
        status = str(project.get("status") or "UNKNOWN")
        out = state_set(f"{P}_project_status", "status", status, PROJECT_STATUSES)
        out.append(sample(f"{P}_project_healthy", status == "ACTIVE_HEALTHY"))
        detail: dict[str, Any] = {"project": project.get("name"), "status": status}
        health = await self.client.get_json(
            f"{base}/health", [("services", c) for c in cfg.components]
        )
        unhealthy: list[str] = []
        for item in health if isinstance(health, list) else []:
            if not isinstance(item, dict) or "name" not in item:
                continue
            ok = item.get("status") == "ACTIVE_HEALTHY"
            if not ok:
                unhealthy.append(f"{item['name']}: {item.get('error') or item.get('status')}")
            out.append(sample(f"{P}_component_healthy", ok, component=str(item["name"])))
        if unhealthy:
            detail["unhealthy_components"] = unhealthy
        out += await self._backups(base, now, detail)
        if cfg.usage:
            out += await self._usage(base)
        if cfg.service_role_key is not None:
            out += await self._metrics(ctx, detail)
        return out, detail

    async def _backups(self, base: str, now: float, detail: dict[str, Any]) -> list[SampleOut]:
        body = await self.client.get_json(f"{base}/database/backups")
        if not isinstance(body, dict):
            raise TargetError(
                "Supabase API answered an unexpected backups object", CollectFailure.BAD_RESPONSE
            )
        backups = [b for b in body.get("backups") or [] if isinstance(b, dict)]
        counts = {s: 0 for s in BACKUP_STATUSES}
        newest: float | None = None
        for b in backups:
            st = str(b.get("status"))
            counts[st] = counts.get(st, 0) + 1
            if st == "COMPLETED":
                ts = parse_time(b.get("inserted_at"))
                if ts is not None and (newest is None or ts > newest):
                    newest = ts
        pitr = bool(body.get("pitr_enabled"))
        physical = body.get("physical_backup_data") or {}
        latest_physical = parse_time(physical.get("latest_physical_backup_date_unix"))
        if pitr and latest_physical is not None and (newest is None or latest_physical > newest):
            newest = latest_physical
        out = [sample(f"{P}_backups", n, status=s) for s, n in counts.items()]
        out.append(sample(f"{P}_pitr_enabled", pitr))
        if newest is not None:
            out.append(sample(f"{P}_newest_backup_timestamp_seconds", newest))
            out.append(sample(f"{P}_newest_backup_age_seconds", max(0.0, now - newest)))
            detail["newest_backup_age_hours"] = round((now - newest) / 3600, 2)
        else:
            detail["newest_backup_age_hours"] = None
        return out

    async def _usage(self, base: str) -> list[SampleOut]:
        body = await self.client.get_json(
            f"{base}/analytics/endpoints/usage.api-counts", {"interval": "1hr"}
        )
        rows = body.get("result") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not rows:
            return []
        newest = max(
            (r for r in rows if isinstance(r, dict)),
            key=lambda r: parse_time(r.get("timestamp")) or 0.0,
        )
        return [
            sample(f"{P}_api_requests", float(newest.get(field_) or 0), api=api)
            for field_, api in USAGE_FIELDS.items()
        ]

    async def _metrics(self, ctx: CollectContext, detail: dict[str, Any]) -> list[SampleOut]:
        key = self.config.service_role_key
        if key is None:
            return []
        raw = f"service_role:{key.reveal()}".encode()
        text, content_type = await fetch_exposition(
            self.client.http,
            self.config.resolved_metrics_url(),
            headers={
                "Accept": ACCEPT_HEADER,
                "Authorization": "Basic " + base64.b64encode(raw).decode(),
            },
            timeout_s=min(float(self.config.call_timeout), ctx.target.timeout),
        )
        parsed = parse_exposition(text, content_type)
        detail["metrics_endpoint_samples"] = len(parsed)
        return [(p.labels, p.value, p.timestamp_ms) for p in parsed]
