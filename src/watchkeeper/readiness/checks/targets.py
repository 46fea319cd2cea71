"""What the monitoring checks look at: each configured target's last run, as the running
instance reports it (``/api/v1/checks``) or, without one, as the validator's own run of
the collectors found it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from watchkeeper.collect.platform import parse_time
from watchkeeper.collect.targets import build_targets
from watchkeeper.readiness.check import CheckContext


@dataclass(frozen=True, slots=True)
class TargetView:
    key: str
    service: str
    kind: str
    interval: float
    status: str  # up / down / unknown
    up: bool | None
    last_success: float | None
    error: str | None
    auth_error: bool
    samples: int
    observed: bool  # False: push target without a running instance to ask


@dataclass(frozen=True, slots=True)
class TargetViews:
    source: str  # where the evidence comes from, for people
    live: bool  # True: a running instance; False: the validator's own collector run
    targets: list[TargetView]


async def target_views(ctx: CheckContext) -> TargetViews:
    scheduled = build_targets(ctx.config)
    refused = ""
    reported: dict[str, dict[str, Any]] | None = None
    if await ctx.instance.reachable():
        try:
            reported = {str(item.get("key")): item for item in await ctx.instance.checks()}
        except (PermissionError, httpx.HTTPError, ValueError) as exc:
            refused = f"the instance at {ctx.instance.base_url} did not list its checks: {exc}"
    if reported is not None:
        views = []
        for st in scheduled:
            item = reported.get(st.key)
            if item is None:
                views.append(
                    TargetView(
                        st.key,
                        st.target.service,
                        st.target.kind,
                        st.target.interval,
                        "missing",
                        None,
                        None,
                        "the running instance does not run this check; reload it "
                        "(POST /-/reload or SIGHUP) so it uses this configuration",
                        False,
                        0,
                        True,
                    )
                )
                continue
            views.append(
                TargetView(
                    key=st.key,
                    service=st.target.service,
                    kind=st.target.kind,
                    interval=float(item.get("interval_seconds") or st.target.interval),
                    status=str(item.get("status") or "unknown"),
                    up=item.get("up"),
                    last_success=parse_time(item.get("last_success")),
                    error=item.get("error"),
                    auth_error=bool(item.get("config_error")),
                    samples=int(item.get("samples") or 0),
                    observed=True,
                )
            )
        return TargetViews(f"the running instance at {ctx.instance.base_url}", True, views)
    collected = await ctx.evidence.collected()
    views = [
        TargetView(
            key=t.key,
            service=t.service,
            kind=t.kind,
            interval=t.scheduled.target.interval,
            status=t.status.status.value,
            up=t.status.up,
            last_success=t.status.last_success,
            error=t.status.error,
            auth_error=t.status.is_auth_error,
            samples=t.status.samples,
            observed=True,
        )
        for t in collected.targets
    ]
    views += [
        TargetView(
            st.key,
            st.target.service,
            st.target.kind,
            st.target.interval,
            "unknown",
            None,
            None,
            None,
            False,
            0,
            False,
        )
        for st in collected.push_targets
    ]
    source = f"the validator's own run of each collector ({refused or ctx.instance.problem})"
    return TargetViews(source, False, views)


def ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
