"""The audit log: same-transaction writes, the hash chain, tamper detection, concurrent
writers and export."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import threading

import pytest
import sqlalchemy as sa

from watchkeeper.core.clock import FakeClock
from watchkeeper.security.audit import (
    AuditAction,
    AuditLog,
    digest,
    write_csv,
    write_jsonl,
)
from watchkeeper.security.principal import Principal
from watchkeeper.state.db import Database
from watchkeeper.state.tables.security import audit_log, stored_secrets


def _write(db: Database, log: AuditLog, actor: Principal, n: int, prefix: str = "t") -> None:
    for i in range(n):
        with db.begin() as conn:
            log.record(
                conn,
                actor,
                AuditAction.SILENCES_CREATE,
                f"silence:{prefix}{i}",
                before=None,
                after={"id": i},
                remote_addr="127.0.0.1",
            )


def test_audit_record_rolls_back_with_the_change_it_describes(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    log = AuditLog(fake_clock)

    def change_that_fails() -> None:
        with state_db.begin() as conn:
            conn.execute(
                sa.insert(stored_secrets).values(
                    name="x",
                    value="wk1:k:AAAA",
                    description="",
                    created_ms=1,
                    updated_ms=1,
                    updated_by="t",
                )
            )
            log.record(conn, admin_actor, AuditAction.SECRETS_WRITE, "secret:x")
            raise RuntimeError("the change fails after its audit record was written")

    with pytest.raises(RuntimeError):
        change_that_fails()
    with state_db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 0
        assert log.verify(conn).ok
    _write(state_db, log, admin_actor, 1)
    with state_db.connect() as conn:
        (only,) = log.list(conn)
    assert only.seq == 1  # the rolled-back record left no gap in the chain


def test_audit_records_who_what_when_where_and_digests(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    log = AuditLog(fake_clock)
    with state_db.begin() as conn:
        rec = log.record(
            conn,
            admin_actor,
            AuditAction.USERS_ROLE,
            "user:alice",
            before={"role": "viewer", "username": "alice"},
            after={"username": "alice", "role": "operator"},
            detail={"to": "operator"},
            remote_addr="10.0.0.7",
        )
    with state_db.connect() as conn:
        (stored,) = log.list(conn)
    assert stored == rec
    assert stored.actor == "cli:tester"
    assert stored.actor_kind == "system"
    assert stored.action == "users:role"
    assert stored.remote_addr == "10.0.0.7"
    assert stored.ts_ms == int(fake_clock.now() * 1000)
    assert stored.before_digest == digest({"username": "alice", "role": "viewer"})
    assert stored.after_digest != stored.before_digest
    assert json.loads(stored.detail) == {"to": "operator"}


def test_digest_ignores_key_order_and_keeps_none() -> None:
    assert digest({"a": 1, "b": [1, 2]}) == digest({"b": [1, 2], "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
    assert digest(None) is None


def test_audit_record_refuses_an_action_that_is_not_an_audit_action(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    with pytest.raises(TypeError, match="AuditAction"), state_db.begin() as conn:
        AuditLog(fake_clock).record(conn, admin_actor, "users:create", "user:x")  # type: ignore[arg-type]


def test_audit_chain_verifies_and_links_each_row_to_the_previous(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    log = AuditLog(fake_clock)
    _write(state_db, log, admin_actor, 5)
    with state_db.connect() as conn:
        records = log.list(conn)
        result = log.verify(conn)
    assert result.ok
    assert result.checked == 5
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    for earlier, later in itertools.pairwise(records):
        assert later.prev_hash == earlier.hash


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "mallory"), ("target", "silence:other"), ("ts_ms", 1), ("detail", '{"x":1}')],
)
def test_audit_verify_names_the_first_row_edited_in_the_database(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal, column: str, value: object
) -> None:
    log = AuditLog(fake_clock)
    _write(state_db, log, admin_actor, 6)
    with state_db.begin() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == 4).values({column: value}))
    with state_db.connect() as conn:
        result = log.verify(conn)
    assert not result.ok
    assert result.broken_seq == 4
    assert "audit row 4" in result.problem
    assert "changed after it was written" in result.problem


def test_audit_verify_detects_a_row_whose_hash_was_recomputed(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    """Rewriting a row and its own hash still breaks the link from the row after it."""
    from watchkeeper.security.audit import chain_hash

    log = AuditLog(fake_clock)
    _write(state_db, log, admin_actor, 4)
    with state_db.begin() as conn:
        (row,) = log.list(conn, after_seq=1, limit=1)
        forged = dataclasses.asdict(row) | {"actor": "mallory"}
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.seq == 2)
            .values(actor="mallory", hash=chain_hash(row.prev_hash, forged))
        )
    with state_db.connect() as conn:
        result = log.verify(conn)
    assert not result.ok
    assert result.broken_seq == 3
    assert "does not link to row 2" in result.problem


def test_audit_verify_detects_deleted_rows_in_the_middle_and_at_the_end(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    log = AuditLog(fake_clock)
    _write(state_db, log, admin_actor, 5)
    with state_db.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 5))
    with state_db.connect() as conn:
        tail = log.verify(conn)
    assert not tail.ok
    assert tail.broken_seq == 5
    assert "rows at the end were deleted" in tail.problem

    with state_db.begin() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 2))
    with state_db.connect() as conn:
        middle = log.verify(conn)
    assert not middle.ok
    assert middle.broken_seq == 2
    assert "missing" in middle.problem


def test_concurrent_writers_on_separate_connections_keep_the_chain_linear(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    """Four "instances" (each its own engine) append at once; every record lands once,
    in one unbroken chain."""
    log = AuditLog(fake_clock)
    instances = [Database(state_db.url) for _ in range(4)]
    errors: list[BaseException] = []

    def writer(db: Database, name: str) -> None:
        try:
            _write(db, log, admin_actor, 15, prefix=name)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(db, f"w{i}-")) for i, db in enumerate(instances)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for db in instances:
        db.dispose()
    assert not errors
    with state_db.connect() as conn:
        records = log.list(conn, limit=1000)
        result = log.verify(conn)
    assert result.ok, result.problem
    assert [r.seq for r in records] == list(range(1, 61))
    assert len({r.target for r in records}) == 60


def test_audit_export_as_json_lines_and_csv(
    state_db: Database, fake_clock: FakeClock, admin_actor: Principal
) -> None:
    log = AuditLog(fake_clock)
    with state_db.begin() as conn:
        log.record(conn, admin_actor, AuditAction.USERS_CREATE, "user:=cmd|calc", detail={"a": 1})
        log.record(conn, admin_actor, AuditAction.USERS_ROLE, "user:bob")
    with state_db.connect() as conn:
        out = io.StringIO()
        assert write_jsonl(log.iter_all(conn), out) == 2
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        out_csv = io.StringIO()
        assert write_csv(log.iter_all(conn), out_csv) == 2
    assert [line["seq"] for line in lines] == [1, 2]
    assert lines[0]["detail"] == {"a": 1}
    assert lines[0]["time"] == "2023-11-14T22:13:20.000Z"
    rows = list(csv.DictReader(io.StringIO(out_csv.getvalue())))
    assert [r["action"] for r in rows] == ["users:create", "users:role"]
    # A cell a spreadsheet would run as a formula is neutralised.
    assert rows[0]["target"] == "user:=cmd|calc"
    assert rows[1]["hash"] == lines[1]["hash"]


def test_csv_export_neutralises_cells_that_start_like_a_formula(
    state_db: Database, fake_clock: FakeClock
) -> None:
    from watchkeeper.security.principal import PrincipalKind

    log = AuditLog(fake_clock)
    evil = Principal("=HYPERLINK(1)", PrincipalKind.USER, None, frozenset())
    with state_db.begin() as conn:
        log.record(conn, evil, AuditAction.ALERTS_ACK, "alert:1")
    with state_db.connect() as conn:
        out = io.StringIO()
        write_csv(log.iter_all(conn), out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["actor"] == "'=HYPERLINK(1)"
