"""Schema migrations when several instances start at once: one migrates, the others wait
on a PostgreSQL advisory lock and then find the schema current."""

from __future__ import annotations

from watchkeeper.cluster.session import LOCK_CLASS
from watchkeeper.state.db import Database

MIGRATION_LOCK = 2


def upgrade_locked(db: Database) -> None:
    """:meth:`Database.upgrade` under a session advisory lock (PostgreSQL only)."""
    if db.is_sqlite:
        db.upgrade()
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_CLASS}, {MIGRATION_LOCK})")
        conn.commit()
        try:
            db.upgrade()
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_CLASS}, {MIGRATION_LOCK})")
            conn.commit()
