"""Readiness runs in the state database (``readiness_runs``): save a report, read the
latest one, page through the history, read one run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import NotFoundError
from watchkeeper.readiness.model import Report, Status
from watchkeeper.state.db import Database
from watchkeeper.state.tables.readiness import readiness_runs

R = readiness_runs


class Trigger(StrEnum):
    CLI = "cli"
    API = "api"
    DASHBOARD = "dashboard"  # the readiness page's "Run now"
    SCHEDULE = "schedule"


@dataclass(frozen=True, slots=True)
class RunSummary:
    id: int
    started_at: float
    finished_at: float
    status: Status
    trigger: Trigger
    passed: int
    warned: int
    failed: int
    skipped: int
    errored: int
    config: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": rfc3339(self.started_at),
            "finished_at": rfc3339(self.finished_at),
            "duration_seconds": round(self.finished_at - self.started_at, 3),
            "status": self.status.value,
            "trigger": self.trigger.value,
            "summary": {
                "pass": self.passed,
                "warn": self.warned,
                "fail": self.failed,
                "skip": self.skipped,
                "error": self.errored,
            },
            "config": self.config,
        }


class ReadinessStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, report: Report, trigger: Trigger) -> int:
        s = report.summary
        with self.db.begin() as conn:
            new_id = conn.execute(
                sa.insert(R)
                .values(
                    started_at=report.started_at,
                    finished_at=report.finished_at,
                    status=report.status.value,
                    trigger=trigger.value,
                    passed=s.passed,
                    warned=s.warned,
                    failed=s.failed,
                    skipped=s.skipped,
                    errored=s.errored,
                    config=report.config[:256],
                    report=json.dumps(report.to_dict(), default=str),
                )
                .returning(R.c.id)
            ).scalar_one()
        return int(new_id)

    def latest(self) -> tuple[RunSummary, Report] | None:
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(R).order_by(R.c.started_at.desc(), R.c.id.desc()).limit(1)
            ).first()
        return (_summary(row), _report(row)) if row is not None else None

    def get(self, run_id: int) -> tuple[RunSummary, Report]:
        with self.db.connect() as conn:
            row = conn.execute(sa.select(R).where(R.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no readiness run {run_id}")
        return _summary(row), _report(row)

    def history(self, *, limit: int = 50, offset: int = 0) -> tuple[list[RunSummary], int]:
        """Newest first, without the reports; and how many runs there are in all."""
        columns = [c for c in R.c if c.name != "report"]
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(*columns)
                .order_by(R.c.started_at.desc(), R.c.id.desc())
                .limit(max(1, min(limit, 1000)))
                .offset(max(0, offset))
            ).all()
            total = int(conn.execute(sa.select(sa.func.count()).select_from(R)).scalar_one())
        return [_summary(r) for r in rows], total

    def prune(self, keep: int) -> int:
        """Delete all but the newest ``keep`` runs; returns how many were deleted."""
        with self.db.begin() as conn:
            ids = (
                conn.execute(
                    sa.select(R.c.id).order_by(R.c.started_at.desc(), R.c.id.desc()).offset(keep)
                )
                .scalars()
                .all()
            )
            if ids:
                conn.execute(sa.delete(R).where(R.c.id.in_(ids)))
        return len(ids)


def _summary(row: Any) -> RunSummary:
    return RunSummary(
        id=int(row.id),
        started_at=float(row.started_at),
        finished_at=float(row.finished_at),
        status=Status(row.status),
        trigger=Trigger(row.trigger),
        passed=int(row.passed),
        warned=int(row.warned),
        failed=int(row.failed),
        skipped=int(row.skipped),
        errored=int(row.errored),
        config=str(row.config),
    )


def _report(row: Any) -> Report:
    return Report.from_dict(json.loads(row.report))
