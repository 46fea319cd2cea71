"""Alert quality and reports: operators' labels of resolved alerts, the digests sent, and
the learnt state of anomaly rules (so detectors survive restarts)."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

alert_labels = sa.Table(
    "alert_labels",
    metadata,
    # one firing episode of one alert: its label-set fingerprint and when it fired
    sa.Column("incident", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("fired_at", sa.Float, nullable=False),
    sa.Column("rule", sa.String(256), nullable=False),  # alertname
    sa.Column("label", sa.String(16), nullable=False),  # actionable, noise, duplicate
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("labelled_by", sa.String(256), nullable=False),
    sa.Column("labelled_at", sa.Float, nullable=False),
    sa.Index("ix_alert_labels_fired_at", "fired_at"),
)

report_digests = sa.Table(
    "report_digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # daily, weekly
    sa.Column("period_start", sa.Float, nullable=False),
    sa.Column("period_end", sa.Float, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("receivers", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("body", sa.Text, nullable=False),  # JSON of Digest.to_dict()
    sa.UniqueConstraint("kind", "period_end", name="uq_report_digests_kind_period_end"),
)

anomaly_state = sa.Table(
    "anomaly_state",
    metadata,
    sa.Column("rule", sa.String(256), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),  # JSON of AnomalyEvaluator.state()
    sa.Column("updated_at", sa.Float, nullable=False),
)
