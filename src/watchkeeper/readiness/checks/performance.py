"""``performance.baseline``: a bounded load (``readiness.performance.requests`` at
``concurrency``) against each service's key endpoints — ``readiness.performance.endpoints``,
by default every enabled http check's URL — one endpoint after the other. p50/p95/p99
and the error rate are compared with the SLA and with the stored baseline
(``--baseline FILE``); a regression beyond ``tolerance`` (and above ``min_regression``)
fails. The figures and latency curves are kept in the result's data for the charts."""

from __future__ import annotations

from typing import Any

from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.readiness.baseline import Baseline, read_baseline, write_baseline
from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.config import EndpointSettings, Sla
from watchkeeper.readiness.load import LoadFigures, LoadSpec, run_load
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


def endpoints(ctx: CheckContext) -> list[EndpointSettings]:
    given = ctx.settings.performance.endpoints
    if given is not None:
        return list(given)
    out = []
    for svc in ctx.config.services:
        for check in svc.checks:
            if isinstance(check, HttpCheckConfig) and check.enabled:
                headers = dict(check.headers)
                if check.bearer_token:
                    headers["Authorization"] = f"Bearer {check.bearer_token.reveal()}"
                out.append(
                    EndpointSettings(
                        service=svc.name,
                        url=check.url,
                        method=check.method,
                        headers=headers,
                        body=check.body,
                        expected_status=list(check.expected_status),
                    )
                )
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


class PerformanceBaseline(Check):
    id = "performance.baseline"
    category = Category.PERFORMANCE
    title = "Latency and errors under load, against the SLA and the baseline"
    timeout = 300.0
    exclusive = True

    async def run(self, ctx: CheckContext) -> Verdict:
        settings = ctx.settings.performance
        baseline_path = ctx.options.baseline
        baseline = read_baseline(baseline_path) if baseline_path is not None else {}
        details: list[Detail] = []
        figures: dict[str, dict[str, Any]] = {}
        measured: dict[str, Baseline] = {}
        for ep in endpoints(ctx):
            key = ep.key()
            spec = LoadSpec(
                url=ep.url,
                method=ep.method,
                headers=tuple(ep.headers.items()),
                body=ep.body,
                expected_status=tuple(ep.expected_status),
                requests=ep.requests or settings.requests,
                concurrency=ep.concurrency or settings.concurrency,
                timeout=float(settings.request_timeout),
            )
            got = await run_load(spec, clock=ctx.clock, transport=ctx.transport)
            sla = ep.sla or settings.sla
            base = baseline.get(key)
            status, text = _judge(
                got, sla, base, settings.tolerance, float(settings.min_regression)
            )
            details.append(Detail(key, status, text))
            measured[key] = Baseline(got.p50, got.p95, got.p99, got.error_rate)
            figures[key] = _figures(ep, spec, got, sla, base)
        note = ""
        record = ctx.options.update_baseline or not baseline
        if baseline_path is not None and record and measured:
            write_baseline(baseline_path, measured, ctx.clock.now())
            note = f"; baseline recorded in {baseline_path.name}"
        verdict = from_details(
            details,
            ok=f"{len(details)} endpoints within the SLA"
            + (" and the baseline" if baseline else "")
            + note,
            remediation="find what got slower (recent deploys, the database, a dependency); "
            "when a slower figure is accepted, record a new baseline with --update-baseline",
            nothing="no endpoint to load: add http checks or readiness.performance.endpoints",
            data={"endpoints": figures, "baseline": baseline_path.name if baseline_path else None},
        )
        return verdict


def _judge(
    got: LoadFigures, sla: Sla, base: Baseline | None, tolerance: float, floor: float
) -> tuple[Status, str]:
    text = (
        f"{got.requests} requests in {got.seconds:.1f}s: p50 {ms(got.p50)}, p95 {ms(got.p95)}, "
        f"p99 {ms(got.p99)}, errors {got.error_rate:.1%}"
    )
    problems = []
    for name, limit, value in (
        ("p50", sla.p50, got.p50),
        ("p95", sla.p95, got.p95),
        ("p99", sla.p99, got.p99),
    ):
        if limit is not None and value > float(limit):
            problems.append(f"{name} {ms(value)} above the SLA of {ms(float(limit))}")
    if got.error_rate > sla.max_error_rate:
        problems.append(
            f"error rate {got.error_rate:.1%} above {sla.max_error_rate:.1%} "
            f"(first: {got.first_error})"
        )
    if base is not None:
        for name, old, new in (("p50", base.p50, got.p50), ("p95", base.p95, got.p95)):
            if new > old * (1 + tolerance) and new - old > floor:
                problems.append(
                    f"{name} {ms(new)} is {new / old - 1 if old else 1:.0%} slower than the "
                    f"baseline {ms(old)} (tolerance {tolerance:.0%})"
                )
        if got.error_rate > base.error_rate + 0.01:
            problems.append(f"error rate up from {base.error_rate:.1%}")
        text += f"; baseline p95 {ms(base.p95)}"
    if problems:
        return Status.FAIL, f"{'; '.join(problems)} ({text})"
    return Status.PASS, text


def _figures(
    ep: EndpointSettings, spec: LoadSpec, got: LoadFigures, sla: Sla, base: Baseline | None
) -> dict[str, Any]:
    return {
        "service": ep.service,
        "url": ep.url,
        "method": ep.method,
        "requests": got.requests,
        "concurrency": spec.concurrency,
        "seconds": round(got.seconds, 4),
        "throughput": round(got.throughput, 2),
        "errors": got.errors,
        "error_rate": got.error_rate,
        "p50": got.p50,
        "p95": got.p95,
        "p99": got.p99,
        "mean": got.mean,
        "curve": [round(v, 6) for v in got.curve],
        "sla": {
            "p50": float(sla.p50) if sla.p50 is not None else None,
            "p95": float(sla.p95) if sla.p95 is not None else None,
            "p99": float(sla.p99) if sla.p99 is not None else None,
            "max_error_rate": sla.max_error_rate,
        },
        "baseline": (
            {"p50": base.p50, "p95": base.p95, "p99": base.p99, "error_rate": base.error_rate}
            if base is not None
            else None
        ),
    }
