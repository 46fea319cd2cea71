"""Key rotation re-encrypts every registered column in one transaction, and stored secrets
never leave the box in clear except to the code that asks for them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import NotFoundError, StorageError, UserInputError
from watchkeeper.security.audit import AuditLog
from watchkeeper.security.columns import encrypted_column, encrypted_columns
from watchkeeper.security.crypto import KeyRing, SecretBox, generate_key, key_id_of
from watchkeeper.security.principal import Principal
from watchkeeper.security.rotation import key_usage, reencrypt_all
from watchkeeper.security.secret_store import SecretStore
from watchkeeper.security.setup import SecurityServices
from watchkeeper.state.db import Database
from watchkeeper.state.metadata import metadata
from watchkeeper.state.tables.security import audit_log, stored_secrets


def test_stored_secrets_are_registered_as_an_encrypted_column() -> None:
    contexts = {c.context for c in encrypted_columns(metadata)}
    assert "stored_secrets.value" in contexts


def test_another_areas_table_joins_the_registry_by_declaring_its_column() -> None:
    meta = sa.MetaData()
    sa.Table(
        "outbox",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        encrypted_column("payload"),
        sa.Column("plain", sa.Text),
    )
    assert [c.context for c in encrypted_columns(meta)] == ["outbox.payload"]
    sa.Table("nokey", meta, encrypted_column("x"))
    with pytest.raises(ValueError, match="no primary key"):
        encrypted_columns(meta)


def test_secret_store_keeps_only_ciphertext_and_returns_names_not_values(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    store = sec.secrets
    assert store is not None
    with state_db.begin() as conn:
        store.put(
            conn,
            admin_actor,
            "slack/webhook",
            "https://hooks.example/T0/B0/xyz",
            description="ops channel",
        )
        raw = conn.execute(sa.select(stored_secrets.c.value)).scalar_one()
        listed = [s.public() for s in store.list(conn)]
        audit_rows = conn.execute(sa.select(audit_log)).all()
    assert "hooks.example" not in raw
    assert listed == [
        {
            "name": "slack/webhook",
            "description": "ops channel",
            "created": "2023-11-14T22:13:20.000Z",
            "updated": "2023-11-14T22:13:20.000Z",
            "updated_by": "cli:tester",
        }
    ]
    assert all("hooks.example" not in str(tuple(r)) for r in audit_rows)
    with state_db.connect() as conn:
        value = store.get(conn, "slack/webhook")
    assert value.reveal() == "https://hooks.example/T0/B0/xyz"
    assert "hooks" not in repr(value)


def test_secret_store_updates_deletes_and_validates(
    sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    store = sec.secrets
    assert store is not None
    with state_db.begin() as conn:
        store.put(conn, admin_actor, "smtp.password", "one")
        store.put(conn, admin_actor, "smtp.password", "two")
        assert store.get(conn, "smtp.password").reveal() == "two"
        store.delete(conn, admin_actor, "smtp.password")
        with pytest.raises(NotFoundError):
            store.get(conn, "smtp.password")
        with pytest.raises(UserInputError, match="not valid"):
            store.put(conn, admin_actor, "bad name", "x")
        actions = [r.action for r in sec.audit.list(conn)]
    assert actions == ["secrets:write", "secrets:write", "secrets:delete"]


def _put(store: SecretStore, db: Database, actor: Principal, n: int) -> None:
    with db.begin() as conn:
        for i in range(n):
            store.put(conn, actor, f"s{i}", f"value-{i}")


def test_rotation_reencrypts_everything_and_retires_the_old_key(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    audit = AuditLog(fake_clock)
    old_box = SecretBox(KeyRing.single(generate_key(), "old"))
    _put(SecretStore(box=old_box, audit=audit, clock=fake_clock), state_db, admin_actor, 7)

    # Before: readable with the old key.
    with state_db.connect() as conn:
        assert key_usage(conn) == {"old": 7}
    new_key = generate_key()
    rotating = SecretBox(old_box.ring.with_new_primary(new_key, "new"))
    with state_db.begin() as conn:
        report = reencrypt_all(conn, rotating, audit=audit, actor=admin_actor)
    assert report.new_key_id == "new"
    assert report.retired_key_ids == ("old",)
    assert report.values == 7
    assert report.columns == {"stored_secrets.value": 7}

    # After: every value under the new key, readable without the old one.
    only_new = SecretBox(KeyRing.single(new_key, "new"))
    store = SecretStore(box=only_new, audit=audit, clock=fake_clock)
    with state_db.connect() as conn:
        assert key_usage(conn) == {"new": 7}
        assert [store.get(conn, f"s{i}").reveal() for i in range(7)] == [
            f"value-{i}" for i in range(7)
        ]
        raw = conn.execute(sa.select(stored_secrets.c.value)).scalars().all()
        (record,) = [r for r in audit.list(conn) if r.action == "secrets:rotate-key"]
        assert audit.verify(conn).ok
    assert {key_id_of(v) for v in raw} == {"new"}
    assert '"retired_key_ids":["old"]' in record.detail
    with pytest.raises(StorageError, match="key 'new', which is not loaded"):
        old_box.decrypt_text(raw[0], "stored_secrets.value")


def test_rotation_that_fails_midway_changes_nothing(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    audit = AuditLog(fake_clock)
    first = SecretBox(KeyRing.single(generate_key(), "first"))
    _put(SecretStore(box=first, audit=audit, clock=fake_clock), state_db, admin_actor, 3)
    stranger = SecretBox(KeyRing.single(generate_key(), "stranger"))
    with state_db.begin() as conn:  # one value under a key the rotation was not given
        conn.execute(
            sa.update(stored_secrets)
            .where(stored_secrets.c.name == "s2")
            .values(value=stranger.encrypt_text("x", "stored_secrets.value"))
        )
    rotating = SecretBox(first.ring.with_new_primary(generate_key(), "second"))
    with (
        pytest.raises(StorageError, match="'stranger', which is not loaded"),
        state_db.begin() as conn,
    ):
        reencrypt_all(conn, rotating, audit=audit, actor=admin_actor)
    with state_db.connect() as conn:
        assert key_usage(conn) == {"first": 2, "stranger": 1}
