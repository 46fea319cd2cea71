"""``state`` section: where alerts, silences, the outbox, users and audit live."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from watchkeeper.config.base import Secret, StrictModel


class StateConfig(StrictModel):
    backend: Literal["sqlite", "postgres"] = "sqlite"
    dsn: Secret | None = Field(
        None, description="PostgreSQL DSN (postgres backend); use dsn_file or ${ENV}"
    )

    @model_validator(mode="after")
    def _dsn_for_postgres(self) -> StateConfig:
        if self.backend == "postgres" and not self.dsn:
            raise ValueError("backend postgres needs a dsn (or dsn_file)")
        return self
