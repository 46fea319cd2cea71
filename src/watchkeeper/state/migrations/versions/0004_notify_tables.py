"""notify tables

Revision ID: 0004_notify
Revises: 0003_security
Create Date: 2026-11-29 00:09:26.404387
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_notify"
down_revision = "0003_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channel_health",
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", sa.Double(), nullable=True),
        sa.Column("last_success_at", sa.Double(), nullable=True),
        sa.Column("last_failure_at", sa.Double(), nullable=True),
        sa.Column("last_reason", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint(
            "receiver", "channel", "integration", name=op.f("pk_notify_channel_health")
        ),
    )
    op.create_table(
        "notify_channel_state",
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint(
            "receiver", "group_id", "channel", "integration", name=op.f("pk_notify_channel_state")
        ),
    )
    op.create_table(
        "notify_delivery_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("payload_digest", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("retry_at", sa.Double(), nullable=True),
        sa.Column("is_test", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_delivery_log")),
    )
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.create_index("ix_notify_delivery_log_at", ["at"], unique=False)
        batch_op.create_index("ix_notify_delivery_log_delivery", ["delivery_id"], unique=False)
        batch_op.create_index("ix_notify_delivery_log_receiver", ["receiver", "id"], unique=False)

    op.create_table(
        "notify_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("is_test", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_messages")),
        sa.UniqueConstraint("receiver", "dedup_key", name="uq_notify_messages_receiver_dedup"),
    )
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.create_index("ix_notify_messages_created_at", ["created_at"], unique=False)

    op.create_table(
        "notify_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("receiver", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.Column("last_reason", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("response_summary", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["notify_messages.id"],
            name=op.f("fk_notify_deliveries_message_id_notify_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint(
            "message_id", "channel", "integration", name="uq_notify_deliveries_integration"
        ),
    )
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notify_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_notify_deliveries_group",
            ["receiver", "group_id", "channel", "integration", "status"],
            unique=False,
        )
        batch_op.create_index("ix_notify_deliveries_message", ["message_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notify_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_deliveries_message")
        batch_op.drop_index("ix_notify_deliveries_group")
        batch_op.drop_index("ix_notify_deliveries_due")

    op.drop_table("notify_deliveries")
    with op.batch_alter_table("notify_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_messages_created_at")

    op.drop_table("notify_messages")
    with op.batch_alter_table("notify_delivery_log", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_delivery_log_receiver")
        batch_op.drop_index("ix_notify_delivery_log_delivery")
        batch_op.drop_index("ix_notify_delivery_log_at")

    op.drop_table("notify_delivery_log")
    op.drop_table("notify_channel_state")
    op.drop_table("notify_channel_health")
