"""``monitoring.instance_answers``: the running Watchkeeper's readiness probe, dashboard,
JSON API and Prometheus query API answer. Needs a running instance (``--url``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from watchkeeper.readiness.check import Check, CheckContext, from_details, skipped
from watchkeeper.readiness.model import Category, Detail, Status, Verdict

_Judge = Callable[[httpx.Response], tuple[Status, str]]
NO_INSTANCE = (
    "start Watchkeeper (`watchkeeper serve --config FILE`) where it can be reached, or "
    "point the validator at it with --url or readiness.instance.url"
)


class InstanceAnswers(Check):
    id = "monitoring.instance_answers"
    category = Category.MONITORING
    title = "The dashboard and the API answer"

    async def run(self, ctx: CheckContext) -> Verdict:
        inst = ctx.instance
        if not await inst.reachable():
            return skipped(inst.problem, NO_INSTANCE)
        details = [
            await self._probe(ctx, "readiness probe", "/readyz", _ready),
            await self._probe(ctx, "dashboard", "/", _page),
            await self._probe(ctx, "JSON API", "/api/v1/services", _json_api),
            await self._probe(
                ctx, "query API", "/prometheus/api/v1/query", _query, {"query": "up"}
            ),
        ]
        return from_details(
            details,
            ok=f"{inst.base_url}: readiness probe, dashboard, JSON API and query API answer",
            remediation="look at the instance's log for the failing endpoint; a 401 means "
            "the validator needs an API token (readiness.instance.token)",
        )

    async def _probe(
        self,
        ctx: CheckContext,
        what: str,
        path: str,
        judge: _Judge,
        params: dict[str, str] | None = None,
    ) -> Detail:
        t0 = time.perf_counter()
        try:
            resp = await ctx.instance.get(path, params)
        except httpx.HTTPError as exc:
            return Detail(f"{what} {path}", Status.FAIL, f"no answer: {exc}")
        ms = (time.perf_counter() - t0) * 1000
        status, text = judge(resp)
        return Detail(f"{what} {path}", status, f"HTTP {resp.status_code} in {ms:.0f} ms; {text}")


def _ready(resp: httpx.Response) -> tuple[Status, str]:
    try:
        body = resp.json()
    except ValueError:
        return Status.FAIL, "not JSON"
    if resp.status_code == 200 and body.get("status") == "ok":
        return Status.PASS, f"{body.get('targets')} targets, {body.get('rule_groups')} rule groups"
    return Status.FAIL, f"not ready: {'; '.join(body.get('problems') or []) or body}"


def _page(resp: httpx.Response) -> tuple[Status, str]:
    if resp.status_code == 200 and "text/html" in resp.headers.get("content-type", ""):
        return Status.PASS, "the overview page"
    if resp.status_code in (302, 303) and "/login" in resp.headers.get("location", ""):
        return Status.PASS, "redirects to the login page"
    return Status.FAIL, "unexpected answer"


def _json_api(resp: httpx.Response) -> tuple[Status, str]:
    if resp.status_code in (401, 403):
        return Status.WARN, "refused without a token (set readiness.instance.token)"
    try:
        body = resp.json()
    except ValueError:
        return Status.FAIL, "not JSON"
    if resp.status_code == 200 and isinstance(body, dict):
        return Status.PASS, f"{body.get('total', 0)} services"
    return Status.FAIL, "unexpected answer"


def _query(resp: httpx.Response) -> tuple[Status, str]:
    if resp.status_code in (401, 403):
        return Status.WARN, "refused without a token (set readiness.instance.token)"
    try:
        body = resp.json()
    except ValueError:
        return Status.FAIL, "not JSON"
    if resp.status_code == 200 and body.get("status") == "success":
        series = len(body.get("data", {}).get("result", []))
        if series == 0:
            return Status.WARN, "the query `up` returned no series yet"
        return Status.PASS, f"`up` returned {series} series"
    return Status.FAIL, f"error: {body.get('error')}"
