"""Changes people make to alert management are audited in the transaction that makes them:
who, what, the target, before/after digests and the address. A change whose audit record
cannot be written is not made. Changes nobody made (an acknowledgement running out, a
silence ending, alerts from rules) and changes made under a bare name leave no record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from watchkeeper.alerting.audit import alert_record
from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.silences import Silence
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.errors import StorageError
from watchkeeper.core.labels import Matcher
from watchkeeper.security.audit import AuditLog, AuditRecord, digest
from watchkeeper.security.permissions import ROLE_PERMISSIONS, Role
from watchkeeper.security.principal import Principal, PrincipalKind
from watchkeeper.state.db import Database
from watchkeeper.state.tables.alerting import (
    alerting_acks,
    alerting_alerts,
    alerting_maintenance_windows,
    alerting_oncall_overrides,
    alerting_silences,
)

from .support import RecordingOutbox, alert

CONFIG = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
  receivers:
    - name: ops
    - name: alice
    - name: bob
  oncall_rotations:
    - name: primary
      members: [alice, bob]
      handoff: daily
      start: 2023-11-14T09:00:00Z
"""
DAY = 86400.0
ADDR = "192.0.2.7"
CAROL = Principal(
    "carol", PrincipalKind.USER, Role.OPERATOR, ROLE_PERMISSIONS[Role.OPERATOR], user_id=3
)


class FailingAudit(AuditLog):
    """Writes the record, then fails: the change's transaction must roll back with it."""

    def record(self, conn: Connection, *args: Any, **kwargs: Any) -> AuditRecord:
        super().record(conn, *args, **kwargs)
        raise StorageError("the audit log is full")


async def started(db: Database, clock: FakeClock, audit: AuditLog | None) -> AlertManager:
    manager = AlertManager.from_config(
        load_config_text(CONFIG).config,
        db=db,
        outbox=RecordingOutbox(),
        clock=clock,
        audit=audit,
    )
    await manager.start()
    return manager


@pytest.fixture
async def managed(
    db: Database, fake_clock: FakeClock
) -> AsyncIterator[Callable[[AuditLog | None], Any]]:
    made: list[AlertManager] = []

    async def make(audit: AuditLog | None) -> AlertManager:
        manager = await started(db, fake_clock, audit)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.stop()


def records(db: Database, audit: AuditLog) -> list[AuditRecord]:
    with db.connect() as conn:
        return list(audit.iter_all(conn))


def verified(db: Database, audit: AuditLog) -> bool:
    with db.connect() as conn:
        return audit.verify(conn).ok


def rows(db: Database, table: sa.Table) -> list[dict[str, Any]]:
    with db.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


async def fire(manager: AlertManager, name: str) -> str:
    t0 = manager.clock.now()
    await manager.put([alert(name, starts_at=t0, ends_at=t0 + DAY, service="db")])
    return next(a.fingerprint for a in manager.store if a.name == name)


async def test_each_change_by_a_principal_is_one_record_naming_who_what_and_where(
    managed: Callable[[AuditLog | None], Any], db: Database, fake_clock: FakeClock
) -> None:
    audit = AuditLog(fake_clock)
    m: AlertManager = await managed(audit)
    now = fake_clock.now()
    acts = m.actions

    await acts.post_alerts(
        [alert("DiskFull", starts_at=now, service="db"), alert("Slow", starts_at=now)],
        by=CAROL,
        remote_addr=ADDR,
        rejected=1,
    )
    fp = next(a.fingerprint for a in m.store if a.name == "DiskFull")
    (ack,) = await acts.ack_alert(fp, by=CAROL, comment="mine", remote_addr=ADDR)
    await acts.unack_alert(fp, by=CAROL, remote_addr=ADDR)
    firing = m.store.get(fp)
    assert firing is not None
    resolved = await acts.resolve_alert(fp, by=CAROL, remote_addr=ADDR)
    draft = Silence("", (Matcher.equal("alertname", "Slow"),), now, now + 3600, "carol", "deploy")
    silence = await acts.set_silence(draft, by=CAROL, remote_addr=ADDR)
    longer = await acts.set_silence(
        Silence(silence.id, silence.matchers, silence.starts_at, now + 7200, "carol", "longer"),
        by=CAROL,
        remote_addr=ADDR,
    )
    expired = await acts.expire_silence(silence.id, by=CAROL, remote_addr=ADDR)
    window = await acts.create_maintenance(
        MaintenanceWindowConfig.model_validate(
            {
                "name": "db upgrade",
                "matchers": ['service="db"'],
                "starts_at": datetime.fromtimestamp(now, tz=UTC),
                "ends_at": datetime.fromtimestamp(now + 3600, tz=UTC),
            }
        ),
        by=CAROL,
        remote_addr=ADDR,
    )
    await acts.delete_maintenance(window.id, by=CAROL, remote_addr=ADDR)
    override = acts.add_override("primary", "bob", now, now + 3600, by=CAROL, remote_addr=ADDR)
    acts.remove_override("primary", override.id, by=CAROL, remote_addr=ADDR)

    found = records(db, audit)
    assert [(r.action, r.target) for r in found] == [
        ("alerts:create", "alerts"),
        ("alerts:ack", f"alert-group:{ack.group_id}"),
        ("alerts:unack", f"alert-group:{ack.group_id}"),
        ("alerts:resolve", f"alert:{fp}"),
        ("silences:create", f"silence:{silence.id}"),
        ("silences:update", f"silence:{silence.id}"),
        ("silences:expire", f"silence:{silence.id}"),
        ("maintenance:create", f"maintenance-window:{window.id}"),
        ("maintenance:delete", f"maintenance-window:{window.id}"),
        ("oncall-overrides:create", f"oncall-override:primary/{override.id}"),
        ("oncall-overrides:delete", f"oncall-override:primary/{override.id}"),
    ]
    assert {(r.actor, r.actor_kind, r.remote_addr) for r in found} == {("carol", "user", ADDR)}
    by_action = {r.action: r for r in found}
    posted = by_action["alerts:create"].to_json()["detail"]
    assert (posted["count"], posted["rejected"], posted["alertnames"]) == (
        2,
        1,
        ["DiskFull", "Slow"],
    )
    assert by_action["alerts:ack"].before_digest is None
    assert by_action["alerts:ack"].after_digest == digest(ack.to_dict())
    assert by_action["alerts:unack"].before_digest == digest(ack.to_dict())
    assert by_action["alerts:unack"].after_digest is None
    assert by_action["alerts:resolve"].before_digest == digest(alert_record(firing))
    assert by_action["alerts:resolve"].after_digest == digest(alert_record(resolved))
    assert by_action["silences:create"].after_digest == digest(silence.record())
    assert by_action["silences:update"].before_digest == digest(silence.record())
    assert by_action["silences:update"].after_digest == digest(longer.record())
    assert by_action["silences:expire"].after_digest == digest(expired.record())
    assert by_action["maintenance:create"].after_digest == digest(window.record())
    assert by_action["maintenance:delete"].before_digest == digest(window.record())
    assert by_action["oncall-overrides:create"].after_digest == digest(override.to_dict())
    assert by_action["oncall-overrides:delete"].before_digest == digest(override.to_dict())
    assert verified(db, audit)


async def test_an_update_that_replaces_a_silence_is_one_record_naming_both(
    managed: Callable[[AuditLog | None], Any], db: Database, fake_clock: FakeClock
) -> None:
    audit = AuditLog(fake_clock)
    m: AlertManager = await managed(audit)
    now = fake_clock.now()
    first = await m.actions.set_silence(
        Silence("", (Matcher.equal("alertname", "A"),), now, now + 3600, "carol", "x"), by=CAROL
    )
    widened = await m.actions.set_silence(
        Silence(first.id, (Matcher.equal("service", "db"),), now, now + 3600, "carol", "y"),
        by=CAROL,
    )
    assert widened.id != first.id
    update = records(db, audit)[-1]
    assert (update.action, update.target) == ("silences:update", f"silence:{first.id}")
    assert update.to_json()["detail"]["replaced"] == first.id
    assert update.to_json()["detail"]["id"] == widened.id
    assert {r["id"] for r in rows(db, alerting_silences)} == {first.id, widened.id}


async def test_a_change_whose_audit_record_fails_is_not_made(
    managed: Callable[[AuditLog | None], Any], db: Database, fake_clock: FakeClock
) -> None:
    audit = FailingAudit(fake_clock)
    m: AlertManager = await managed(audit)
    now = fake_clock.now()
    fp = await fire(m, "DiskFull")
    stored_alerts = rows(db, alerting_alerts)
    with pytest.raises(StorageError):
        await m.actions.ack_alert(fp, by=CAROL)
    assert m.acks.all() == []
    assert rows(db, alerting_acks) == []
    with pytest.raises(StorageError):
        await m.actions.resolve_alert(fp, by=CAROL)
    assert m.store.is_firing(fp)
    assert rows(db, alerting_alerts) == stored_alerts
    with pytest.raises(StorageError):
        await m.actions.set_silence(
            Silence("", (Matcher.equal("alertname", "A"),), now, now + 60, "carol", "x"), by=CAROL
        )
    assert m.silences.all() == []
    assert rows(db, alerting_silences) == []
    with pytest.raises(StorageError):
        m.actions.add_override("primary", "bob", now, now + 60, by=CAROL)
    assert m.oncall.overrides("primary") == []
    assert rows(db, alerting_oncall_overrides) == []
    config = MaintenanceWindowConfig.model_validate(
        {"name": "w", "matchers": ['service="db"'], "cron": "0 3 * * *", "duration": "1h"}
    )
    with pytest.raises(StorageError):
        await m.actions.create_maintenance(config, by=CAROL)
    assert m.maintenance.all() == []
    assert rows(db, alerting_maintenance_windows) == []
    with pytest.raises(StorageError):
        await m.actions.post_alerts([alert("Posted", starts_at=now)], by=CAROL)
    assert not any("Posted" in r["labels"] for r in rows(db, alerting_alerts))
    assert records(db, audit) == []
    assert verified(db, audit)


async def test_changes_nobody_made_and_changes_under_a_bare_name_leave_no_record(
    managed: Callable[[AuditLog | None], Any], db: Database, fake_clock: FakeClock
) -> None:
    audit = AuditLog(fake_clock)
    m: AlertManager = await managed(audit)
    now = fake_clock.now()
    fp = await fire(m, "DiskFull")  # as the rule evaluator sends them
    await m.actions.ack_alert(fp, by="someone", expires_at=now + 60)
    await m.actions.set_silence(
        Silence("", (Matcher.equal("alertname", "A"),), now, now + 120, "someone", "short")
    )
    await fake_clock.advance(300)  # the acknowledgement runs out, the silence ends
    assert m.acks.all() == []
    assert m.silences.all()[0].state(fake_clock.now()).value == "expired"
    await m.actions.resolve_alert(fp, by="someone")
    assert records(db, audit) == []


async def test_without_an_audit_log_actions_of_principals_still_work(
    managed: Callable[[AuditLog | None], Any], db: Database
) -> None:
    m: AlertManager = await managed(None)
    fp = await fire(m, "DiskFull")
    (ack,) = await m.actions.ack_alert(fp, by=CAROL)
    assert ack.by == "carol"
    assert rows(db, alerting_acks)[0]["acknowledged_by"] == "carol"
