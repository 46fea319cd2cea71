"""Readiness runs: each ``watchkeeper validate`` (from the CLI, the API or the schedule)
with its summary and the full versioned JSON report, for the latest report and its
history."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

readiness_runs = sa.Table(
    "readiness_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # the report's overall status
    sa.Column("trigger", sa.String(16), nullable=False),  # cli, api, dashboard, schedule
    sa.Column("passed", sa.Integer, nullable=False),
    sa.Column("warned", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("skipped", sa.Integer, nullable=False),
    sa.Column("errored", sa.Integer, nullable=False),
    sa.Column("config", sa.String(256), nullable=False, server_default=""),
    sa.Column("report", sa.Text, nullable=False),  # JSON of Report.to_dict()
    sa.Index("ix_readiness_runs_started_at", "started_at"),
)
