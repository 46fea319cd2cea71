"""Users, login sessions, API tokens, failed logins, the audit log and stored secrets.

Times are integer milliseconds since the epoch (exact on both databases, so the audit
hash chain reads back the bytes it hashed)."""

from __future__ import annotations

import sqlalchemy as sa

from watchkeeper.security.columns import encrypted_column
from watchkeeper.state.metadata import metadata

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("password_changed_ms", sa.BigInteger, nullable=False),
)

auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("last_seen_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=False),
    sa.Column("remote_addr", sa.String(64), nullable=False, default=""),
    sa.Index("ix_auth_sessions_user_id", "user_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("scopes", sa.Text, nullable=True),  # space-separated permissions; NULL: role
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("expires_ms", sa.BigInteger, nullable=True),
    sa.Column("revoked_ms", sa.BigInteger, nullable=True),
    sa.Column("last_used_ms", sa.BigInteger, nullable=True),
)

login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),
    sa.Column("remote_addr", sa.String(64), nullable=False),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Index("ix_login_failures_ts_ms", "ts_ms"),
    sa.Index("ix_login_failures_remote_addr", "remote_addr"),
    sa.Index("ix_login_failures_username", "username"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts_ms", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("actor_kind", sa.String(16), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("remote_addr", sa.String(64), nullable=False),
    sa.Column("before_digest", sa.String(64), nullable=True),
    sa.Column("after_digest", sa.String(64), nullable=True),
    sa.Column("detail", sa.Text, nullable=False),  # canonical JSON, never secrets
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_ts_ms", "ts_ms"),
)

# One row (id 1): the chain's last sequence number and hash. Every writer updates it first,
# which serialises writers on both databases and keeps the chain linear.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

stored_secrets = sa.Table(
    "stored_secrets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    encrypted_column("value", nullable=False),
    sa.Column("description", sa.String(500), nullable=False, default=""),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
)
