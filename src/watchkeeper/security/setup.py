"""Building the security services from configuration, and finding the state database.

The runtime and the CLI both use :func:`open_state_database` (where the state lives) and
:func:`build_security` (the stores, all sharing one clock and one audit log), so the
server and ``watchkeeper user create`` always agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock
from watchkeeper.security.audit import AuditLog
from watchkeeper.security.authn import Authenticator
from watchkeeper.security.config import SecurityConfig
from watchkeeper.security.crypto import SecretBox, load_secret_box
from watchkeeper.security.passwords import Passwords
from watchkeeper.security.ratelimit import LoginRateLimiter
from watchkeeper.security.secret_store import SecretStore
from watchkeeper.security.sessions import SessionStore
from watchkeeper.security.tokens import TokenStore
from watchkeeper.security.users import UserStore
from watchkeeper.state.db import Database, postgres_url, sqlite_url

STATE_FILE = "state.sqlite"


def data_dir(config: WatchkeeperConfig, base_dir: Path) -> Path:
    """The data directory (``storage.path``), relative paths taken from the config file's
    directory."""
    path = Path(config.storage.path).expanduser()
    return path if path.is_absolute() else base_dir / path


def state_database_url(config: WatchkeeperConfig, base_dir: Path) -> str:
    """The SQLAlchemy URL of the state database: ``state.dsn`` for the postgres backend,
    else ``<storage.path>/state.sqlite``."""
    if config.state.backend == "postgres":
        if config.state.dsn is None:  # the model refuses this; kept for type narrowing
            raise ValueError("state backend postgres needs a dsn")
        return postgres_url(config.state.dsn.reveal())
    return sqlite_url(data_dir(config, base_dir) / STATE_FILE)


def open_state_database(loaded: LoadedConfig, *, migrate: bool = True) -> Database:
    """Open (and by default migrate) the state database a loaded config points at,
    creating the data directory for the embedded database."""
    config = loaded.config
    if config.state.backend == "sqlite":
        data_dir(config, loaded.base_dir).mkdir(parents=True, exist_ok=True)
    db = Database(state_database_url(config, loaded.base_dir))
    if migrate:
        db.upgrade()
    return db


def security_config(config: WatchkeeperConfig) -> SecurityConfig:
    """The ``security:`` section, or its defaults while the root model has none."""
    section = getattr(config, "security", None)
    return section if isinstance(section, SecurityConfig) else SecurityConfig()


def secret_box(loaded: LoadedConfig, env: Mapping[str, str] | None = None) -> SecretBox:
    """The secret box from ``$<security.key_env>`` or ``security.key_file``; a
    :class:`~watchkeeper.core.errors.ConfigError` saying how to add a key when there is none."""
    return load_secret_box(
        security_config(loaded.config),
        env=os.environ if env is None else env,
        base_dir=loaded.base_dir,
        data_dir=data_dir(loaded.config, loaded.base_dir),
    )


@dataclass(frozen=True, slots=True)
class SecurityServices:
    config: SecurityConfig
    audit: AuditLog
    passwords: Passwords
    users: UserStore
    sessions: SessionStore
    tokens: TokenStore
    limiter: LoginRateLimiter
    authenticator: Authenticator
    box: SecretBox | None
    secrets: SecretStore | None  # None without a key: storing secrets is then refused


def build_security(
    config: SecurityConfig, *, clock: Clock, box: SecretBox | None = None
) -> SecurityServices:
    audit = AuditLog(clock)
    passwords = Passwords(config.argon2)
    users = UserStore(passwords=passwords, audit=audit, clock=clock)
    sessions = SessionStore(config.session, clock)
    tokens = TokenStore(audit=audit, clock=clock)
    limiter = LoginRateLimiter(config.login_rate_limit, clock)
    return SecurityServices(
        config=config,
        audit=audit,
        passwords=passwords,
        users=users,
        sessions=sessions,
        tokens=tokens,
        limiter=limiter,
        authenticator=Authenticator(
            users=users,
            sessions=sessions,
            tokens=tokens,
            limiter=limiter,
            audit=audit,
            anonymous_role=config.anonymous_role,
        ),
        box=box,
        secrets=SecretStore(box=box, audit=audit, clock=clock) if box is not None else None,
    )
