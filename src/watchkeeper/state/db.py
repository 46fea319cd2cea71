"""Database connections for the state store (SQLite embedded, PostgreSQL for clusters)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

import watchkeeper.state.tables  # noqa: F401  (registers every table)
from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.state.metadata import metadata


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def postgres_url(dsn: str) -> str:
    """SQLAlchemy URL for a libpq DSN or URL, using psycopg 3."""
    if dsn.startswith(("postgresql+psycopg://",)):
        return dsn
    if dsn.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + dsn.split("://", 1)[1]
    # key=value DSN: pass it through to psycopg untouched.
    return "postgresql+psycopg://?" + "&".join(
        part.replace(" ", "") for part in dsn.split() if "=" in part
    )


class Database:
    """One engine plus the helpers the stores use. Thread-safe; cheap transactions."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 5
            kwargs["max_overflow"] = 10
        try:
            self.engine: Engine = sa.create_engine(url, **kwargs)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise ConfigError(f"state: cannot use database URL: {exc}") from None
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed on success, rolled back on error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StorageError(f"state database error: {exc.orig}") from exc

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def create_all(self) -> None:
        """Create every table directly (tests of a single area); production uses
        :meth:`upgrade`."""
        metadata.create_all(self.engine)

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from watchkeeper.state.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
