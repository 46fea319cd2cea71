"""What a readiness run produces: one :class:`CheckResult` per check, gathered in a
:class:`Report` with its summary and exit code, and the versioned JSON form of both.

A result's ``status`` is one of pass / warn / fail / skip / error:

* ``pass``: the evidence shows the stack is ready in this respect;
* ``warn``: it works, but something should be looked at;
* ``fail``: the evidence shows a problem (the remediation says how to fix it);
* ``skip``: the check did not apply or was not asked for (the evidence says why);
* ``error``: the check itself could not run (it timed out or crashed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from watchkeeper import __version__

REPORT_SCHEMA = "watchkeeper.readiness/v1"
REPORT_VERSION = 1


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a credential
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Category(StrEnum):
    MONITORING = "monitoring"
    ALERTING = "alerting"
    BACKUPS = "backups"
    SCALING = "scaling"
    CICD = "cicd"
    DEPLOY = "deploy"
    PERFORMANCE = "performance"
    SECURITY = "security"
    CUSTOM = "custom"

    @property
    def heading(self) -> str:
        return _CATEGORY_TITLES[self]


_CATEGORY_TITLES = {
    Category.MONITORING: "Monitoring",
    Category.ALERTING: "Alerting",
    Category.BACKUPS: "Backups",
    Category.SCALING: "Scaling",
    Category.CICD: "CI/CD",
    Category.DEPLOY: "Deploy and rollback",
    Category.PERFORMANCE: "Performance baseline",
    Category.SECURITY: "Security",
    Category.CUSTOM: "Custom checks",
}

# How bad a status is when several are combined (higher is worse).
_SEVERITY = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.ERROR: 3, Status.FAIL: 4}


class FailOn(StrEnum):
    """Which statuses make the exit code 1."""

    FAIL = "fail"
    WARN = "warn"


def worst(statuses: Iterable[Status]) -> Status:
    """The combined status of several items: fail over error over warn over pass; skip
    only when everything was skipped (an empty list is a skip too)."""
    found = list(statuses)
    if not found:
        return Status.SKIP
    return max(found, key=lambda s: _SEVERITY[s])


@dataclass(frozen=True, slots=True)
class Detail:
    """One item a check looked at (a target, a receiver, an endpoint, ...)."""

    subject: str
    status: Status
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "status": self.status.value, "evidence": self.evidence}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Detail:
        return cls(str(raw["subject"]), Status(raw["status"]), str(raw.get("evidence", "")))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a check returns; the runner adds who it is and how long it took."""

    status: Status
    evidence: str
    remediation: str = ""
    details: tuple[Detail, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    category: Category
    title: str
    status: Status
    evidence: str
    remediation: str
    duration: float  # seconds
    details: tuple[Detail, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category.value,
            "title": self.title,
            "status": self.status.value,
            "evidence": self.evidence,
            "remediation": self.remediation,
            "duration_seconds": round(self.duration, 4),
            "details": [d.to_dict() for d in self.details],
            "data": dict(self.data),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> CheckResult:
        return cls(
            id=str(raw["id"]),
            category=Category(raw["category"]),
            title=str(raw["title"]),
            status=Status(raw["status"]),
            evidence=str(raw.get("evidence", "")),
            remediation=str(raw.get("remediation", "")),
            duration=float(raw.get("duration_seconds", 0.0)),
            details=tuple(Detail.from_dict(d) for d in raw.get("details", [])),
            data=dict(raw.get("data") or {}),
        )


@dataclass(frozen=True, slots=True)
class Summary:
    passed: int = 0
    warned: int = 0
    failed: int = 0
    skipped: int = 0
    errored: int = 0

    @classmethod
    def of(cls, results: Iterable[CheckResult]) -> Summary:
        counts = dict.fromkeys(Status, 0)
        for r in results:
            counts[r.status] += 1
        return cls(
            passed=counts[Status.PASS],
            warned=counts[Status.WARN],
            failed=counts[Status.FAIL],
            skipped=counts[Status.SKIP],
            errored=counts[Status.ERROR],
        )

    @property
    def total(self) -> int:
        return self.passed + self.warned + self.failed + self.skipped + self.errored

    def line(self) -> str:
        return (
            f"{self.total} checks: {self.passed} passed, {self.warned} warned, "
            f"{self.failed} failed, {self.errored} errors, {self.skipped} skipped"
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "total": self.total,
            "pass": self.passed,
            "warn": self.warned,
            "fail": self.failed,
            "skip": self.skipped,
            "error": self.errored,
        }


@dataclass(frozen=True, slots=True)
class Report:
    started_at: float
    finished_at: float
    results: tuple[CheckResult, ...]
    config: str = ""  # which config file was validated (its name, for people)
    options: Mapping[str, Any] = field(default_factory=dict)
    version: str = __version__

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)

    @property
    def summary(self) -> Summary:
        return Summary.of(self.results)

    @property
    def status(self) -> Status:
        """The overall status: the worst result (skip only when nothing ran)."""
        return worst(r.status for r in self.results)

    def exit_code(self, fail_on: FailOn = FailOn.FAIL) -> int:
        """0 when nothing failed, 1 when a check failed or could not run (also on a
        warning with ``fail_on=warn``)."""
        bad = {Status.FAIL, Status.ERROR}
        if fail_on is FailOn.WARN:
            bad.add(Status.WARN)
        return 1 if any(r.status in bad for r in self.results) else 0

    def by_category(self) -> list[tuple[Category, list[CheckResult]]]:
        """Results grouped by category, in the categories' order."""
        groups: list[tuple[Category, list[CheckResult]]] = []
        for category in Category:
            items = [r for r in self.results if r.category is category]
            if items:
                groups.append((category, items))
        return groups

    def result(self, check_id: str) -> CheckResult | None:
        return next((r for r in self.results if r.id == check_id), None)

    def to_dict(self) -> dict[str, Any]:
        from watchkeeper.core.clock import rfc3339

        return {
            "schema": REPORT_SCHEMA,
            "version": REPORT_VERSION,
            "watchkeeper_version": self.version,
            "config": self.config,
            "started_at": rfc3339(self.started_at),
            "finished_at": rfc3339(self.finished_at),
            "started_at_unix": self.started_at,
            "finished_at_unix": self.finished_at,
            "duration_seconds": round(self.duration, 3),
            "status": self.status.value,
            "summary": self.summary.to_dict(),
            "options": dict(self.options),
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Report:
        """Read a report written by :meth:`to_dict` (raises ValueError for another schema
        or a newer version)."""
        if raw.get("schema") != REPORT_SCHEMA:
            raise ValueError(
                f"not a Watchkeeper readiness report (schema {raw.get('schema')!r}, "
                f"expected {REPORT_SCHEMA!r})"
            )
        version = raw.get("version")
        if not isinstance(version, int) or version > REPORT_VERSION:
            raise ValueError(
                f"readiness report version {version!r} is newer than this Watchkeeper reads "
                f"({REPORT_VERSION}); upgrade Watchkeeper"
            )
        results: Sequence[Mapping[str, Any]] = raw.get("results") or []
        return cls(
            started_at=float(raw["started_at_unix"]),
            finished_at=float(raw["finished_at_unix"]),
            results=tuple(CheckResult.from_dict(r) for r in results),
            config=str(raw.get("config", "")),
            options=dict(raw.get("options") or {}),
            version=str(raw.get("watchkeeper_version", "")),
        )
