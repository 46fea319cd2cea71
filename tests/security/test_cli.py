"""The user, token, audit and secrets commands against the state database a config file
names (SQLite in the data directory, or PostgreSQL)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from watchkeeper.cli.main import _register, cli
from watchkeeper.config.loader import load_config
from watchkeeper.security.crypto import KeyRing, SecretBox, key_id_of, write_keyring_file
from watchkeeper.security.setup import open_state_database, state_database_url
from watchkeeper.state.tables.security import audit_log, stored_secrets, users

CHEAP = "security:\n  argon2: {time_cost: 1, memory_cost: 8, parallelism: 1}\n"


@pytest.fixture
def config_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A config on SQLite (data dir under the config) or on PostgreSQL."""
    backend = getattr(request, "param", "sqlite")
    text = "storage:\n  path: data\n" + CHEAP
    if backend == "postgres":
        dsn = request.getfixturevalue("pg_database")
        text += f"state:\n  backend: postgres\n  dsn: {dsn}\n"
    path = tmp_path / "watchkeeper.yaml"
    path.write_text(text)
    return path


both = pytest.mark.parametrize("config_file", ["sqlite", "postgres"], indirect=True)


def run(config: Path, *args: str, input: str | None = None) -> Result:
    _register()
    return CliRunner().invoke(cli, [*args, "--config", str(config)], input=input)


def test_state_database_is_state_sqlite_in_the_data_directory(config_file: Path) -> None:
    loaded = load_config(config_file)
    expected = config_file.parent / "data" / "state.sqlite"
    assert state_database_url(loaded.config, loaded.base_dir) == f"sqlite:///{expected}"


@both
def test_initial_admin_with_a_generated_password_printed_once(config_file: Path) -> None:
    result = run(config_file, "user", "create", "root", "--role", "admin", "--generate-password")
    assert result.exit_code == 0, result.output
    assert "created user root (admin)" in result.output
    password = result.output.split("password: ")[1].split()[0]
    db = open_state_database(load_config(config_file))
    try:
        with db.connect() as conn:
            stored = conn.execute(sa.select(users.c.password_hash)).scalar_one()
            actor = conn.execute(sa.select(audit_log.c.actor)).scalar_one()
    finally:
        db.dispose()
    assert stored.startswith("$argon2id$")
    assert password not in stored
    assert actor.startswith("cli:")


def test_user_create_reads_the_password_from_a_prompt_or_a_file(
    config_file: Path, tmp_path: Path
) -> None:
    prompted = run(config_file, "user", "create", "alice", input="a long passphrase\n" * 2)
    assert prompted.exit_code == 0, prompted.output
    assert "password: " not in prompted.output.replace("Password for alice: ", "")
    secret = tmp_path / "pw.txt"
    secret.write_text("another long passphrase\n")
    from_file = run(config_file, "user", "create", "bob", "--password-file", str(secret))
    assert from_file.exit_code == 0, from_file.output
    listed = run(config_file, "user", "list")
    assert listed.output.splitlines() == ["alice  viewer    active", "bob    viewer    active"]


def test_user_create_without_any_password_source_fails_clearly(config_file: Path) -> None:
    result = run(config_file, "user", "create", "alice", input="")
    assert result.exit_code == 2
    assert "no password given" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["user", "create", "x y", "--generate-password"], "user name 'x y' is not valid"),
        (["user", "create", "x", "--role", "root", "--generate-password"], "unknown role"),
        (["user", "disable", "ghost"], "no user named 'ghost'"),
        (["token", "create", "t", "--role", "viewer", "--scope", "nope"], "unknown permission"),
        (["token", "create", "t", "--role", "viewer", "--expires", "soon"], "--expires"),
        (["token", "revoke", "99"], "no API token with id 99"),
    ],
)
def test_cli_mistakes_exit_2_with_a_message(
    config_file: Path, args: list[str], message: str
) -> None:
    result = run(config_file, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_user_role_disable_and_enable(config_file: Path) -> None:
    run(config_file, "user", "create", "root", "--role", "admin", "--generate-password")
    run(config_file, "user", "create", "bob", "--generate-password")
    assert run(config_file, "user", "set-role", "bob", "operator").output == (
        "bob is now operator\n"
    )
    assert run(config_file, "user", "disable", "bob").exit_code == 0
    assert "bob   operator  disabled" in run(config_file, "user", "list").output
    last_admin = run(config_file, "user", "disable", "root")
    assert last_admin.exit_code == 2
    assert "last enabled admin" in last_admin.output
    assert run(config_file, "user", "enable", "bob").exit_code == 0


@both
def test_token_create_prints_the_token_once_and_revoke_by_name(config_file: Path) -> None:
    created = CliRunner().invoke(
        cli,
        [
            "token",
            "create",
            "ingest",
            "--role",
            "admin",
            "--scope",
            "metrics:write",
            "--expires",
            "30d",
            "--config",
            str(config_file),
        ],
    )
    assert created.exit_code == 0, created.output
    token = created.stdout.strip()
    assert token.startswith("wk_")
    assert "shown once" in created.stderr
    listed = run(config_file, "token", "list")
    assert token not in listed.output
    assert "ingest" in listed.output
    assert "metrics:write" in listed.output
    assert "active" in listed.output
    assert run(config_file, "token", "revoke", "ingest").exit_code == 0
    assert "revoked" in run(config_file, "token", "list").output


@both
def test_audit_verify_passes_then_names_the_row_edited_in_the_database(
    config_file: Path,
) -> None:
    for name in ("a-user", "b-user", "c-user"):
        run(config_file, "user", "create", name, "--generate-password")
    ok = run(config_file, "audit", "verify")
    assert ok.exit_code == 0
    assert "audit log OK: 3 records" in ok.output
    db = open_state_database(load_config(config_file))
    try:
        with db.begin() as conn:
            conn.execute(sa.update(audit_log).where(audit_log.c.seq == 2).values(actor="eve"))
    finally:
        db.dispose()
    broken = run(config_file, "audit", "verify")
    assert broken.exit_code == 1
    assert "audit log BROKEN at row 2" in broken.output
    assert "user:b-user" in broken.output


def test_audit_export_writes_json_lines_or_csv(config_file: Path, tmp_path: Path) -> None:
    run(config_file, "user", "create", "alice", "--generate-password")
    jsonl = run(config_file, "audit", "export")
    assert json.loads(jsonl.stdout.splitlines()[0])["action"] == "users:create"
    out = tmp_path / "audit.csv"
    result = run(config_file, "audit", "export", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0
    assert out.read_text().splitlines()[0].startswith("seq,time,actor")
    assert "wrote 1 audit records" in result.output


def test_generate_key_prints_or_writes_a_new_key(tmp_path: Path) -> None:
    _register()
    printed = CliRunner().invoke(cli, ["secrets", "generate-key"])
    kid, _, encoded = printed.output.strip().partition(":")
    assert len(base64.b64decode(encoded)) == 32
    assert kid.startswith("k")
    key_file = tmp_path / "secret.key"
    written = CliRunner().invoke(cli, ["secrets", "generate-key", "--file", str(key_file)])
    assert written.exit_code == 0
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = CliRunner().invoke(cli, ["secrets", "generate-key", "--file", str(key_file)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output


def _store_secret(config_file: Path, box: SecretBox, name: str, value: str) -> None:
    db = open_state_database(load_config(config_file))
    try:
        with db.begin() as conn:
            conn.execute(
                sa.insert(stored_secrets).values(
                    name=name,
                    value=box.encrypt_for("stored_secrets", "value", value),
                    description="",
                    created_ms=1,
                    updated_ms=1,
                    updated_by="test",
                )
            )
    finally:
        db.dispose()


def _stored(config_file: Path) -> list[str]:
    db = open_state_database(load_config(config_file))
    try:
        with db.connect() as conn:
            return list(conn.execute(sa.select(stored_secrets.c.value)).scalars())
    finally:
        db.dispose()


@both
def test_rotate_key_rewrites_the_key_file_with_only_the_new_key(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHKEEPER_SECRET_KEY", raising=False)
    key_file = tmp_path / "keys" / "secret.key"
    old_ring = KeyRing.single(base64.b64decode(base64.b64encode(b"k" * 32)), "old")
    write_keyring_file(key_file, old_ring)
    config_file.write_text(
        config_file.read_text().replace("security:\n", f"security:\n  key_file: {key_file}\n")
    )
    _store_secret(config_file, SecretBox(old_ring), "smtp", "p4ss")
    result = run(config_file, "secrets", "rotate-key")
    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 values in 1 columns" in result.output
    assert "retired: old" in result.output
    new_ring = KeyRing(tuple((k, v) for k, v in _ring_of(key_file).keys))
    assert new_ring.ids != ("old",)
    assert len(new_ring.ids) == 1
    (value,) = _stored(config_file)
    assert key_id_of(value) == new_ring.primary
    assert SecretBox(new_ring).decrypt_for("stored_secrets", "value", value).reveal() == "p4ss"


def test_rotate_key_from_the_environment_needs_a_new_key_file(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_ring = KeyRing.single(b"e" * 32, "envkey")
    monkeypatch.setenv("WATCHKEEPER_SECRET_KEY", f"envkey:{base64.b64encode(b'e' * 32).decode()}")
    _store_secret(config_file, SecretBox(old_ring), "smtp", "p4ss")
    refused = run(config_file, "secrets", "rotate-key")
    assert refused.exit_code == 2
    assert "give --new-key-file PATH" in refused.output
    inside = run(
        config_file,
        "secrets",
        "rotate-key",
        "--new-key-file",
        str(config_file.parent / "data" / "new.key"),
    )
    assert inside.exit_code == 2
    assert "inside the data directory" in inside.output
    new_file = tmp_path / "new.key"
    result = run(config_file, "secrets", "rotate-key", "--new-key-file", str(new_file))
    assert result.exit_code == 0, result.output
    assert "set $WATCHKEEPER_SECRET_KEY to the contents of" in result.output
    ring = _ring_of(new_file)
    (value,) = _stored(config_file)
    assert key_id_of(value) == ring.primary
    assert "envkey" not in ring.ids


def _ring_of(path: Path) -> KeyRing:
    from watchkeeper.security.crypto import parse_keyring

    return parse_keyring(path.read_text(), str(path))
