"""Alembic environment: runs on the connection handed over by :mod:`watchkeeper.state.migrate`."""

from __future__ import annotations

from alembic import context

import watchkeeper.state.tables  # noqa: F401  (registers every table)
from watchkeeper.state.metadata import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
