"""``type: postgres`` check config."""

from __future__ import annotations

from typing import Literal

from psycopg.conninfo import conninfo_to_dict
from pydantic import Field, field_validator

from watchkeeper.collect.config import CheckBase
from watchkeeper.config.base import Secret
from watchkeeper.core.durations import Duration


class PostgresCheckConfig(CheckBase):
    type: Literal["postgres"] = "postgres"
    dsn: Secret = Field(description="libpq DSN or URL; use a role with pg_monitor")
    statement_timeout: Duration = Field(Duration(5), description="per statement")
    top_statements: int = Field(10, ge=0, le=100, description="pg_stat_statements rows kept")

    @field_validator("dsn")
    @classmethod
    def _check_dsn(cls, value: Secret) -> Secret:
        try:
            conninfo_to_dict(value.reveal())
        except Exception:
            raise ValueError(
                "dsn is not a valid PostgreSQL connection string; use "
                "postgresql://user:password@host:5432/dbname or 'host=... dbname=...'"
            ) from None
        return value

    def instance(self) -> str:
        parts = conninfo_to_dict(self.dsn.reveal())
        host = parts.get("host") or "localhost"
        port = parts.get("port") or "5432"
        return f"{host}:{port}/{parts.get('dbname') or parts.get('user') or 'postgres'}"
