"""A report with every status and category and performance figures, for the format tests."""

from __future__ import annotations

from watchkeeper.readiness.model import Category, CheckResult, Detail, Report, Status

T0 = 1_800_000_000.0


def curve(base: float) -> list[float]:
    return [base * (1 + i / 50) for i in range(101)]


def sample_report() -> Report:
    perf = {
        "endpoints": {
            "backend/health": {
                "service": "backend",
                "url": "https://api.example.com/health",
                "method": "GET",
                "requests": 100,
                "concurrency": 10,
                "seconds": 1.2,
                "throughput": 83.3,
                "errors": 0,
                "error_rate": 0.0,
                "p50": 0.021,
                "p95": 0.048,
                "p99": 0.060,
                "mean": 0.024,
                "curve": curve(0.02),
                "sla": {"p50": None, "p95": 1.0, "p99": 2.0, "max_error_rate": 0.01},
                "baseline": {"p50": 0.02, "p95": 0.045, "p99": 0.055, "error_rate": 0.0},
            },
            "frontend/": {
                "service": "frontend",
                "url": "https://www.example.com/",
                "method": "GET",
                "requests": 100,
                "concurrency": 10,
                "seconds": 0.9,
                "throughput": 111.0,
                "errors": 1,
                "error_rate": 0.01,
                "p50": 0.011,
                "p95": 0.030,
                "p99": 0.041,
                "mean": 0.013,
                "curve": curve(0.01),
                "sla": {"p50": None, "p95": 1.0, "p99": 2.0, "max_error_rate": 0.01},
                "baseline": None,
            },
        },
        "baseline": "baseline.json",
    }
    results = (
        CheckResult(
            "monitoring.targets_up",
            Category.MONITORING,
            "No target is down",
            Status.PASS,
            "all 8 targets are up",
            "",
            0.41,
            (Detail("backend/health", Status.PASS, "up"),),
        ),
        CheckResult(
            "alerting.test_notifications",
            Category.ALERTING,
            "Each receiver delivers a test notification",
            Status.FAIL,
            "oncall: webhook[0] → https://hooks | example: rejected after 1 attempt(s): 403",
            "fix the failing channel's URL",
            2.5,
            (Detail("oncall: webhook[0]", Status.FAIL, "rejected: 403 <forbidden>"),),
        ),
        CheckResult(
            "backups.newest_backup",
            Category.BACKUPS,
            "The newest backup is recent",
            Status.WARN,
            "newest backup 20.0h old",
            "take a backup",
            0.3,
        ),
        CheckResult(
            "deploy.rollback_drill",
            Category.DEPLOY,
            "Rollback drill on staging",
            Status.SKIP,
            "not asked to drill",
            "run with --rollback-drill",
            0.0,
        ),
        CheckResult(
            "security.certificate",
            Category.SECURITY,
            "TLS certificates are valid for long enough",
            Status.ERROR,
            "the check did not finish within 30s",
            "raise readiness.timeouts.security.certificate",
            30.0,
        ),
        CheckResult(
            "performance.baseline",
            Category.PERFORMANCE,
            "Latency and errors under load",
            Status.PASS,
            "2 endpoints within the SLA and the baseline",
            "",
            2.2,
            data=perf,
        ),
    )
    return Report(T0, T0 + 35.5, results, config="watchkeeper.yaml", options={"only": []})
