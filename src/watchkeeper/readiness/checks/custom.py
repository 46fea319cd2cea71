"""``custom.<name>``: a team's own checks from ``readiness.custom`` — an HTTP assertion
(run by the http collector: status, body contains, JSON paths, latency) or a SQL query
whose result must equal ``expect`` (first column of the first row) or have
``expect_rows`` rows. One check per entry."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

import psycopg

from watchkeeper.collect.base import CollectContext, CollectorDeps, Target
from watchkeeper.collect.http.collector import HttpCollector
from watchkeeper.collect.http.config import BodyAssertions, HttpCheckConfig
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import now_ms
from watchkeeper.core.labels import Labels
from watchkeeper.readiness.check import Check, CheckContext, failed, passed
from watchkeeper.readiness.config import CustomCheckSettings, HttpAssertion, SqlAssertion
from watchkeeper.readiness.model import Category, Verdict


class CustomCheck(Check):
    id: ClassVar[str] = "custom"
    category: ClassVar[Category] = Category.CUSTOM
    title: ClassVar[str] = "Custom check"

    def __init__(self, settings: CustomCheckSettings) -> None:
        self.settings = settings

    @classmethod
    def instances(cls, config: WatchkeeperConfig) -> Sequence[Check]:
        return [cls(c) for c in config.readiness.custom]

    @property
    def check_id(self) -> str:
        return f"custom.{self.settings.name}"

    @property
    def check_title(self) -> str:
        return self.settings.title or self.settings.name

    @property
    def check_category(self) -> Category:
        return self.settings.category

    def time_limit(self, settings: Any) -> float:
        if self.settings.timeout is not None and self.check_id not in settings.timeouts:
            return float(self.settings.timeout)
        return super().time_limit(settings)

    async def run(self, ctx: CheckContext) -> Verdict:
        fix = self.settings.remediation
        if self.settings.http is not None:
            return await _http(ctx, self.settings.http, fix)
        if self.settings.sql is not None:
            return await asyncio.to_thread(_sql, self.settings.sql, fix)
        raise ValueError("a custom check needs http or sql")  # the config model refuses this


async def _http(ctx: CheckContext, spec: HttpAssertion, fix: str) -> Verdict:
    config = HttpCheckConfig(
        url=spec.url,
        method=spec.method,
        headers=spec.headers,
        body=spec.body,
        expected_status=spec.expected_status,
        body_assertions=BodyAssertions(contains=spec.contains, json_path=spec.json_path),
        max_latency=spec.max_latency,
        verify_tls=spec.verify_tls,
        ca_file=str(ctx.base_dir / spec.ca_file) if spec.ca_file else None,
    )
    collector = HttpCollector(config, CollectorDeps(clock=ctx.clock, http=ctx.http))
    target = Target("readiness", "custom", "http", "readiness", spec.url, 30.0, 30.0, Labels())
    try:
        result = await collector.collect(
            CollectContext(target, ctx.clock, ctx.http, now_ms(ctx.clock))
        )
    finally:
        await collector.close()
    code = result.detail.get("status_code")
    took = result.detail.get("latency_ms")
    shown = f"{spec.method} {spec.url}: HTTP {code}" + (
        f" in {float(took):.0f} ms" if isinstance(took, int | float) else ""
    )
    if result.is_healthy:
        return passed(f"{shown}; every assertion holds")
    return failed(f"{shown}; {result.error}", fix or "fix what the assertion error says")


def _sql(spec: SqlAssertion, fix: str) -> Verdict:
    try:
        with psycopg.connect(spec.dsn.reveal(), connect_timeout=10) as conn:
            # The query is the team's own, from the config file.
            rows = conn.execute(spec.query).fetchall()  # type: ignore[call-overload]
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return failed(f"the query failed: {first}", fix or "fix the query or the dsn")
    problems = []
    if spec.expect_rows is not None and len(rows) != spec.expect_rows:
        problems.append(f"{len(rows)} rows, expected {spec.expect_rows}")
    if "expect" in spec.model_fields_set:
        got = rows[0][0] if rows and rows[0] else None
        if not _equal(got, spec.expect):
            problems.append(f"got {got!r}, expected {spec.expect!r}")
    if problems:
        return failed("; ".join(problems), fix or "find out why the data is not as expected")
    shown = repr(rows[0][0]) if rows and rows[0] else "none"
    return passed(f"{len(rows)} rows; first value {shown} as expected")


def _equal(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return got is want
    if isinstance(want, bool) or isinstance(got, bool):
        return bool(got) is bool(want) and str(got).lower() in ("true", "false", "t", "f")
    if isinstance(want, int | float):
        try:
            return float(got) == float(want)
        except (TypeError, ValueError):
            return False
    return str(got) == str(want)
