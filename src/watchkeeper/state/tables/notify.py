"""Notification tables: messages (one per receiver and dedup key), deliveries (the outbox:
one row per channel integration), the delivery log (one row per attempt), per-group channel
state (message ids for threads and updates) and channel health."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

notify_messages = sa.Table(
    "notify_messages",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("receiver", sa.String(200), nullable=False),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("group_key", sa.Text(), nullable=False),
    sa.Column("group_id", sa.String(32), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("payload", sa.Text(), nullable=False),
    sa.Column("payload_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.UniqueConstraint("receiver", "dedup_key", name="uq_notify_messages_receiver_dedup"),
)
sa.Index("ix_notify_messages_created_at", notify_messages.c.created_at)

notify_deliveries = sa.Table(
    "notify_deliveries",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column(
        "message_id",
        _ID,
        sa.ForeignKey("notify_messages.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("receiver", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("integration", sa.Integer(), nullable=False),
    sa.Column("group_id", sa.String(32), nullable=False),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
    sa.Column("next_attempt_at", sa.Double(), nullable=False),
    sa.Column("lease_owner", sa.String(100), nullable=True),
    sa.Column("lease_until", sa.Double(), nullable=True),
    sa.Column("finished_at", sa.Double(), nullable=True),
    sa.Column("last_reason", sa.String(40), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_status_code", sa.Integer(), nullable=True),
    sa.Column("response_summary", sa.Text(), nullable=True),
    sa.UniqueConstraint(
        "message_id", "channel", "integration", name="uq_notify_deliveries_integration"
    ),
)
sa.Index(
    "ix_notify_deliveries_due", notify_deliveries.c.status, notify_deliveries.c.next_attempt_at
)
sa.Index(
    "ix_notify_deliveries_group",
    notify_deliveries.c.receiver,
    notify_deliveries.c.group_id,
    notify_deliveries.c.channel,
    notify_deliveries.c.integration,
    notify_deliveries.c.status,
)
sa.Index("ix_notify_deliveries_message", notify_deliveries.c.message_id)

notify_delivery_log = sa.Table(
    "notify_delivery_log",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("delivery_id", _ID, nullable=False),
    sa.Column("receiver", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("integration", sa.Integer(), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("dedup_key", sa.String(200), nullable=False),
    sa.Column("group_id", sa.String(32), nullable=False),
    sa.Column("payload_digest", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("latency_ms", sa.Double(), nullable=False),
    sa.Column("reason", sa.String(40), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("response", sa.Text(), nullable=True),
    sa.Column("retry_at", sa.Double(), nullable=True),
    sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("worker", sa.String(100), nullable=False),
    sa.Column("at", sa.Double(), nullable=False),
)
sa.Index("ix_notify_delivery_log_at", notify_delivery_log.c.at)
sa.Index("ix_notify_delivery_log_delivery", notify_delivery_log.c.delivery_id)
sa.Index(
    "ix_notify_delivery_log_receiver", notify_delivery_log.c.receiver, notify_delivery_log.c.id
)

notify_channel_state = sa.Table(
    "notify_channel_state",
    metadata,
    sa.Column("receiver", sa.String(200), primary_key=True),
    sa.Column("group_id", sa.String(32), primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("integration", sa.Integer(), primary_key=True),
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.Double(), nullable=False),
)

notify_channel_health = sa.Table(
    "notify_channel_health",
    metadata,
    sa.Column("receiver", sa.String(200), primary_key=True),
    sa.Column("channel", sa.String(40), primary_key=True),
    sa.Column("integration", sa.Integer(), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("last_attempt_at", sa.Double(), nullable=True),
    sa.Column("last_success_at", sa.Double(), nullable=True),
    sa.Column("last_failure_at", sa.Double(), nullable=True),
    sa.Column("last_reason", sa.String(40), nullable=True),
    sa.Column("last_error", sa.Text(), nullable=True),
    sa.Column("last_status_code", sa.Integer(), nullable=True),
)
