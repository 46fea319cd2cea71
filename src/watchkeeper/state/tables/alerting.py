"""Alert management state: current alerts, silences, acknowledgements, the notification
log, escalation positions, maintenance windows, on-call overrides and the alert history."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

alerting_alerts = sa.Table(
    "alerting_alerts",
    metadata,
    sa.Column("fingerprint", sa.String(32), primary_key=True),
    sa.Column("labels", sa.Text(), nullable=False),  # JSON object
    sa.Column("annotations", sa.Text(), nullable=False),  # JSON object
    sa.Column("starts_at", sa.Double(), nullable=False),
    sa.Column("ends_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.Column("generator_url", sa.Text(), nullable=False, server_default=""),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("timeout", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("resolved_by", sa.String(200), nullable=True),
)

alerting_silences = sa.Table(
    "alerting_silences",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("matchers", sa.Text(), nullable=False),  # JSON list of Alertmanager matchers
    sa.Column("starts_at", sa.Double(), nullable=False),
    sa.Column("ends_at", sa.Double(), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
)
sa.Index("ix_alerting_silences_ends_at", alerting_silences.c.ends_at)

alerting_acks = sa.Table(
    "alerting_acks",
    metadata,
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("group_key", sa.Text(), nullable=False),
    sa.Column("acknowledged_by", sa.String(200), nullable=False),
    sa.Column("acknowledged_at", sa.Double(), nullable=False),
    sa.Column("expires_at", sa.Double(), nullable=True),
    sa.Column("comment", sa.Text(), nullable=False, server_default=""),
)

alerting_nflog = sa.Table(
    "alerting_nflog",
    metadata,
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("receiver", sa.String(200), primary_key=True),
    sa.Column("group_key", sa.Text(), nullable=False),
    sa.Column("firing", sa.Text(), nullable=False),  # JSON list of fingerprints
    sa.Column("resolved", sa.Text(), nullable=False),  # JSON list of fingerprints
    sa.Column("notified_at", sa.Double(), nullable=False),
    sa.Column("repeat_count", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("content", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Double(), nullable=False),
)
sa.Index("ix_alerting_nflog_expires_at", alerting_nflog.c.expires_at)

alerting_escalations = sa.Table(
    "alerting_escalations",
    metadata,
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("group_key", sa.Text(), nullable=False),
    sa.Column("policy", sa.String(200), nullable=False),
    sa.Column("epoch", sa.Integer(), nullable=False),
    sa.Column("cycle", sa.Integer(), nullable=False),
    sa.Column("next_level", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.Double(), nullable=False),
    sa.Column("next_at", sa.Double(), nullable=True),
    sa.Column("reached", sa.Text(), nullable=False),  # JSON list of receivers
    sa.Column("state", sa.String(20), nullable=False),
)

alerting_maintenance_windows = sa.Table(
    "alerting_maintenance_windows",
    metadata,
    sa.Column("id", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),  # config | api
    sa.Column("spec", sa.Text(), nullable=False),  # JSON of the window's definition
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("deleted_at", sa.Double(), nullable=True),
    sa.Column("started_occurrence", sa.Double(), nullable=True),  # announced start
    sa.Column("ended_occurrence", sa.Double(), nullable=True),  # announced end
)

alerting_oncall_overrides = sa.Table(
    "alerting_oncall_overrides",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("rotation", sa.String(200), nullable=False),
    sa.Column("receiver", sa.String(200), nullable=False),
    sa.Column("starts_at", sa.Double(), nullable=False),
    sa.Column("ends_at", sa.Double(), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("comment", sa.Text(), nullable=False, server_default=""),
    sa.Column("created_at", sa.Double(), nullable=False),
)
sa.Index("ix_alerting_oncall_overrides_rotation", alerting_oncall_overrides.c.rotation)

alerting_history = sa.Table(
    "alerting_history",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Double(), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("fingerprint", sa.String(32), nullable=True),
    sa.Column("group_id", sa.String(32), nullable=True),
    sa.Column("labels", sa.Text(), nullable=False),  # JSON object
    sa.Column("actor", sa.String(200), nullable=True),
    sa.Column("detail", sa.Text(), nullable=False),  # JSON object
)
sa.Index("ix_alerting_history_fingerprint", alerting_history.c.fingerprint, alerting_history.c.id)
sa.Index("ix_alerting_history_group", alerting_history.c.group_id, alerting_history.c.id)
sa.Index("ix_alerting_history_at", alerting_history.c.at)
