"""Cluster mode (several instances on one PostgreSQL): the members and their heartbeats, the
leader's term (the fencing token), the per-target collection claims with the status each
owner publishes, and settings the instances share (the key peers send samples with).

Times are the database server's clock (``clock_timestamp()`` as epoch seconds), so that
instances on machines whose clocks differ still agree on who is alive."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.state.metadata import metadata

cluster_members = sa.Table(
    "cluster_members",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("url", sa.String(512), nullable=False),  # where peers reach its HTTP API
    sa.Column("hostname", sa.String(256), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("backend_pid", sa.Integer, nullable=False),  # its dedicated session
    sa.Column("backend_start", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
)

cluster_leader = sa.Table(
    "cluster_leader",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("term", sa.BigInteger, nullable=False),  # +1 per election: the fencing token
    sa.Column("member_id", sa.String(128), nullable=False),
    sa.Column("elected_at", sa.Float, nullable=False),
)

cluster_targets = sa.Table(
    "cluster_targets",
    metadata,
    sa.Column("key", sa.String(512), primary_key=True),  # the target key (service/check)
    sa.Column("owner", sa.String(128), nullable=True),  # the member collecting it
    sa.Column("claimed_at", sa.Float, nullable=True),
    sa.Column("status", sa.Text, nullable=True),  # JSON of the owner's last TargetStatus
    sa.Column("status_at", sa.Float, nullable=True),
    sa.Index("ix_cluster_targets_owner", "owner"),
)

cluster_settings = sa.Table(
    "cluster_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
