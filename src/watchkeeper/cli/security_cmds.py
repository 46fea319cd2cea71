"""``user``, ``token``, ``audit`` and ``secrets``: accounts, API tokens, the audit log and
the encryption key, on the state database the config points at."""

from __future__ import annotations

import base64
import getpass
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import click

from watchkeeper.cli.options import config_option
from watchkeeper.config.loader import LoadedConfig, load_config
from watchkeeper.core.clock import SystemClock, rfc3339
from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import ConfigError, UserInputError
from watchkeeper.security.audit import AuditRecord, write_csv, write_jsonl
from watchkeeper.security.crypto import (
    KeyRing,
    SecretBox,
    check_key_file_location,
    generate_key,
    load_keyring,
    resolve_key_file,
    write_keyring_file,
)
from watchkeeper.security.passwords import check_password, generate_password
from watchkeeper.security.permissions import parse_permissions, parse_role
from watchkeeper.security.principal import Principal, system_principal
from watchkeeper.security.rotation import reencrypt_all
from watchkeeper.security.setup import (
    SecurityServices,
    build_security,
    data_dir,
    open_state_database,
    security_config,
)
from watchkeeper.security.users import check_username
from watchkeeper.state.db import Database

_CONFIG = config_option("config file naming the state database", default="watchkeeper.yaml")


@dataclass(frozen=True, slots=True)
class _Ctx:
    loaded: LoadedConfig
    db: Database
    sec: SecurityServices
    actor: Principal


@contextmanager
def _open(config_path: Path) -> Iterator[_Ctx]:
    loaded = load_config(config_path)
    db = open_state_database(loaded)
    try:
        sec = build_security(security_config(loaded.config), clock=SystemClock())
        yield _Ctx(loaded, db, sec, system_principal(f"cli:{_os_user()}"))
    finally:
        db.dispose()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _read_password(password_file: Path | None, generate: bool, username: str) -> tuple[str, bool]:
    """The new password and whether it was generated (and must be shown once)."""
    if password_file is not None and generate:
        raise UserInputError("give --password-file or --generate-password, not both")
    if generate:
        return generate_password(), True
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UserInputError(f"cannot read {password_file}: {exc.strerror or exc}") from None
        check_password(text, username)
        return text, False
    while True:
        try:
            value: str = click.prompt(
                f"Password for {username}", hide_input=True, confirmation_prompt=True
            )
        except click.Abort:
            raise UserInputError(
                "no password given; type it at the prompt, or use --password-file FILE or "
                "--generate-password"
            ) from None
        try:
            check_password(value, username)
            return value, False
        except UserInputError as exc:
            click.echo(f"{exc}; try again", err=True)


password_options = [
    click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="read the password from this file (first line)",
    ),
    click.option(
        "--generate-password",
        "generate",
        is_flag=True,
        help="generate a random password and print it once",
    ),
]


def _with_password_options(fn: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(password_options):
        fn = option(fn)
    return fn


# --- users ---------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Manage user accounts (there is no default account: create the first admin here)."""


@user_group.command("create")
@click.argument("username")
@click.option("--role", default="viewer", show_default=True, help="viewer, operator or admin")
@_with_password_options
@_CONFIG
def user_create(
    username: str, role: str, password_file: Path | None, generate: bool, config_path: Path
) -> None:
    """Create a user; the password is prompted for, read from a file, or generated."""
    parsed = parse_role(role)
    check_username(username)
    with _open(config_path) as ctx:
        with ctx.db.connect() as conn:
            if any(u.username == username for u in ctx.sec.users.list(conn)):
                raise UserInputError(f"user {username!r} already exists")
        password, generated = _read_password(password_file, generate, username)
        with ctx.db.begin() as conn:
            user = ctx.sec.users.create(
                conn, ctx.actor, username, password, parsed, remote_addr="local"
            )
    click.echo(f"created user {user.username} ({user.role.value})")
    if generated:
        click.echo(f"password: {password}")
        click.echo("(shown once: only its hash is stored)")


@user_group.command("list")
@_CONFIG
def user_list(config_path: Path) -> None:
    """List users."""
    with _open(config_path) as ctx, ctx.db.connect() as conn:
        users = ctx.sec.users.list(conn)
    if not users:
        click.echo("no users yet; create one with `watchkeeper user create NAME --role admin`")
        return
    width = max(len(u.username) for u in users)
    for u in users:
        status = "disabled" if u.disabled else "active"
        click.echo(f"{u.username:<{width}}  {u.role.value:<8}  {status}")


def _set_disabled(username: str, disabled: bool, config_path: Path) -> None:
    with _open(config_path) as ctx, ctx.db.begin() as conn:
        ctx.sec.users.set_disabled(conn, ctx.actor, username, disabled, remote_addr="local")
    click.echo(f"{'disabled' if disabled else 'enabled'} user {username}")


@user_group.command("disable")
@click.argument("username")
@_CONFIG
def user_disable(username: str, config_path: Path) -> None:
    """Disable a user and end their sessions."""
    _set_disabled(username, True, config_path)


@user_group.command("enable")
@click.argument("username")
@_CONFIG
def user_enable(username: str, config_path: Path) -> None:
    """Enable a disabled user."""
    _set_disabled(username, False, config_path)


@user_group.command("set-role")
@click.argument("username")
@click.argument("role")
@_CONFIG
def user_set_role(username: str, role: str, config_path: Path) -> None:
    """Change a user's role (viewer, operator, admin)."""
    parsed = parse_role(role)
    with _open(config_path) as ctx, ctx.db.begin() as conn:
        user = ctx.sec.users.set_role(conn, ctx.actor, username, parsed, remote_addr="local")
    click.echo(f"{user.username} is now {user.role.value}")


@user_group.command("set-password")
@click.argument("username")
@_with_password_options
@_CONFIG
def user_set_password(
    username: str, password_file: Path | None, generate: bool, config_path: Path
) -> None:
    """Set a user's password (ends their sessions)."""
    with _open(config_path) as ctx:
        with ctx.db.connect() as conn:
            ctx.sec.users.get(conn, username)  # a clear error before asking for a password
        password, generated = _read_password(password_file, generate, username)
        with ctx.db.begin() as conn:
            ctx.sec.users.set_password(conn, ctx.actor, username, password, remote_addr="local")
    click.echo(f"password of {username} changed; their sessions were ended")
    if generated:
        click.echo(f"password: {password}")


# --- tokens --------------------------------------------------------------------------


@click.group("token")
def token_group() -> None:
    """Manage API tokens (sent as 'Authorization: Bearer <token>')."""


@token_group.command("create")
@click.argument("name")
@click.option("--role", required=True, help="viewer, operator or admin")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="narrow the role to this permission (repeatable), e.g. --scope metrics:write",
)
@click.option("--expires", default=None, help="lifetime such as 90d (default: no expiry)")
@_CONFIG
def token_create(
    name: str, role: str, scopes: tuple[str, ...], expires: str | None, config_path: Path
) -> None:
    """Create an API token and print it once."""
    parsed_role = parse_role(role)
    parsed_scopes = parse_permissions(scopes) if scopes else None
    try:
        lifetime = parse_duration(expires) if expires else None
    except ValueError as exc:
        raise UserInputError(f"--expires: {exc}") from None
    with _open(config_path) as ctx, ctx.db.begin() as conn:
        plaintext, token = ctx.sec.tokens.create(
            conn,
            ctx.actor,
            name,
            parsed_role,
            scopes=parsed_scopes,
            expires_in=lifetime,
            remote_addr="local",
        )
    click.echo(plaintext)
    expiry = rfc3339(token.expires_ms / 1000) if token.expires_ms else "never"
    click.echo(
        f"token {token.id} ({token.name}, {token.role.value}) expires {expiry}; "
        "shown once: store it now",
        err=True,
    )


@token_group.command("list")
@_CONFIG
def token_list(config_path: Path) -> None:
    """List API tokens (never their values)."""
    with _open(config_path) as ctx, ctx.db.connect() as conn:
        tokens = ctx.sec.tokens.list(conn)
        now = ctx.sec.tokens.now_ms()
    if not tokens:
        click.echo("no API tokens")
        return
    for t in tokens:
        info = t.public(now)
        scopes = ",".join(info["scopes"]) if info["scopes"] else "-"
        click.echo(
            f"{t.id:>4}  {t.name:<20} {t.prefix}…  {t.role.value:<8} {scopes:<20} "
            f"{info['status']:<8} expires {info['expires'] or 'never'}"
        )


@token_group.command("revoke")
@click.argument("token")
@_CONFIG
def token_revoke(token: str, config_path: Path) -> None:
    """Revoke an API token by id (or by name when only one active token has it)."""
    with _open(config_path) as ctx, ctx.db.begin() as conn:
        found = ctx.sec.tokens.find(conn, token)
        ctx.sec.tokens.revoke(conn, ctx.actor, found.id, remote_addr="local")
    click.echo(f"revoked token {found.id} ({found.name})")


# --- audit ---------------------------------------------------------------------------


@click.group("audit")
def audit_group() -> None:
    """Check and export the audit log."""


@audit_group.command("verify")
@_CONFIG
def audit_verify(config_path: Path) -> None:
    """Recompute the hash chain; exit 1 naming the first row that does not match."""
    with _open(config_path) as ctx, ctx.db.connect() as conn:
        result = ctx.sec.audit.verify(conn)
    if not result.ok:
        click.echo(f"audit log BROKEN at row {result.broken_seq}: {result.problem}", err=True)
        click.echo(f"({result.checked} rows before it are intact)", err=True)
        raise SystemExit(1)
    click.echo(f"audit log OK: {result.checked} records, hash chain intact")


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write here instead of standard output",
)
@_CONFIG
def audit_export(fmt: str, output: Path | None, config_path: Path) -> None:
    """Export the whole audit log as JSON lines or CSV."""
    writer: Callable[[Iterable[AuditRecord], TextIO], int] = (
        write_csv if fmt == "csv" else write_jsonl
    )
    with _open(config_path) as ctx, ctx.db.connect() as conn:
        records = ctx.sec.audit.iter_all(conn)
        if output is None:
            count = writer(records, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                count = writer(records, fh)
    if output is not None:
        click.echo(f"wrote {count} audit records to {output}", err=True)


# --- secrets -------------------------------------------------------------------------


@click.group("secrets")
def secrets_group() -> None:
    """The encryption key of secrets at rest."""


@secrets_group.command("generate-key")
@click.option(
    "--file",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="write the key to this new file (mode 0600) instead of printing it",
)
def secrets_generate_key(key_file: Path | None) -> None:
    """Generate a new AES-256 key, for $WATCHKEEPER_SECRET_KEY or security.key_file."""
    ring = KeyRing.single(generate_key())
    if key_file is None:
        kid, key = ring.keys[0]
        click.echo(f"{kid}:{base64.b64encode(key).decode()}")
        return
    if key_file.exists():
        raise UserInputError(f"{key_file} already exists; refusing to overwrite a key")
    write_keyring_file(key_file, ring)
    click.echo(f"wrote key {ring.primary} to {key_file}; set security.key_file to it")


@secrets_group.command("rotate-key")
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="with the key in the environment: write the new key here (a new file)",
)
@_CONFIG
def secrets_rotate_key(new_key_file: Path | None, config_path: Path) -> None:
    """Re-encrypt every encrypted value under a new key, in one transaction, and retire
    the old key."""
    loaded = load_config(config_path)
    cfg = security_config(loaded.config)
    data = data_dir(loaded.config, loaded.base_dir)
    env = dict(os.environ)
    old = load_keyring(cfg, env=env, base_dir=loaded.base_dir, data_dir=data)
    if old is None:
        raise ConfigError(
            f"no encryption key to rotate: set ${cfg.key_env} or security.key_file first"
        )
    new_ring = old.with_new_primary(generate_key())
    from_env = bool(env.get(cfg.key_env, "").strip())
    key_file = resolve_key_file(cfg, loaded.base_dir)
    if from_env:
        if new_key_file is None:
            raise UserInputError(
                f"the key comes from ${cfg.key_env}; give --new-key-file PATH (outside the "
                "data directory) to receive the new key"
            )
        if new_key_file.exists():
            raise UserInputError(f"{new_key_file} already exists; choose a new file")
        check_key_file_location(new_key_file, data)
        write_keyring_file(new_key_file, new_ring.only_primary())
    elif key_file is not None:
        write_keyring_file(key_file, new_ring)  # both keys until the data is re-encrypted
    db = open_state_database(loaded)
    try:
        sec = build_security(cfg, clock=SystemClock())
        with db.begin() as conn:
            report = reencrypt_all(
                conn,
                SecretBox(new_ring),
                audit=sec.audit,
                actor=system_principal(f"cli:{_os_user()}"),
                remote_addr="local",
            )
    except BaseException:
        if not from_env and key_file is not None:
            write_keyring_file(key_file, old)
        raise
    finally:
        db.dispose()
    if not from_env and key_file is not None:
        write_keyring_file(key_file, new_ring.only_primary())
    retired = ", ".join(report.retired_key_ids) or "none in use"
    click.echo(
        f"re-encrypted {report.values} values in {len(report.columns)} columns under key "
        f"{report.new_key_id}; retired: {retired}"
    )
    if from_env:
        click.echo(
            f"set ${cfg.key_env} to the contents of {new_key_file} and restart every "
            "instance; the old key is no longer needed"
        )
    else:
        click.echo(f"{key_file} now holds only the new key; running instances pick it up")


commands = [user_group, token_group, audit_group, secrets_group]
