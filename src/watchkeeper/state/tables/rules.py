"""Rule-side alert state, so that ``for`` timers and firing alerts survive a restart."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

rule_alerts = sa.Table(
    "rule_alerts",
    metadata,
    sa.Column("group_key", sa.String(512), primary_key=True),
    sa.Column("rule", sa.String(256), primary_key=True),
    sa.Column("fingerprint", sa.String(32), primary_key=True),
    sa.Column("record", sa.Text, nullable=False),  # JSON of ActiveAlert.to_record()
    sa.Column("updated_at", sa.Float, nullable=False),
)
