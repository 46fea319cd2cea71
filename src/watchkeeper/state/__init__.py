"""Durable state (alerts, silences, acks, outbox, delivery log, users, tokens, audit,
readiness history): one schema on SQLAlchemy Core, on SQLite (embedded) or PostgreSQL
(cluster), with Alembic migrations."""
