"""Opening the state database a config points at, for reading, without creating it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.core.errors import StorageError
from watchkeeper.security.setup import STATE_FILE, data_dir, open_state_database
from watchkeeper.state.db import Database


class StateUnavailable(Exception):
    """The state database does not exist yet or cannot be read; the message says which."""


@contextmanager
def state_database(loaded: LoadedConfig) -> Iterator[Database]:
    cfg = loaded.config
    if cfg.state.backend == "sqlite":
        path = data_dir(cfg, loaded.base_dir) / STATE_FILE
        if not path.exists():
            raise StateUnavailable(
                f"no state database yet ({STATE_FILE} in the data directory): Watchkeeper "
                "has not run with this config"
            )
    db = open_state_database(loaded, migrate=False)
    try:
        with db.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        yield db
    except (sa.exc.SQLAlchemyError, StorageError) as exc:
        raise StateUnavailable(f"cannot read the state database: {exc}") from None
    finally:
        db.dispose()
