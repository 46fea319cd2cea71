"""What a follower shows of alert management: a read-only copy loaded from the database.

A follower does not run alert management; its dashboard pages read a fresh
:class:`~watchkeeper.alerting.manager.AlertManager` built from the config and loaded from
the state database (alerts, silences, acknowledgements, notification log, maintenance
windows created through the API, on-call overrides, escalations) — never started, so it
has no timers and writes nothing. Changes made on a follower are forwarded to the leader
(:mod:`watchkeeper.cluster.forward`) and show here at the next refresh.

Not in the copy: what exists only in the leader's memory — mute markers (which alert is
silenced or inhibited right now: the silences are there, the verdict is the leader's),
flapping detection, and the maintenance windows defined in the config file.
"""

from __future__ import annotations

from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock
from watchkeeper.notify.base import Outbox
from watchkeeper.state.db import Database


def read_copy(
    config: WatchkeeperConfig,
    *,
    db: Database,
    outbox: Outbox,
    clock: Clock,
    history: AlertHistory,
) -> AlertManager:
    """A never-started alert manager holding what the database says now."""
    manager = AlertManager.from_config(config, db=db, outbox=outbox, clock=clock, history=history)
    now = clock.now()
    manager.store.load(now)
    manager.silences.load()
    manager.acks.load()
    manager.nflog.load(now)
    manager.maintenance.load()
    manager.maintenance.intervals = manager.intervals
    manager.oncall.load()
    manager.escalation.load()
    manager.inhibitor.rebuild(manager.store, manager.store.is_firing)
    manager.dependencies.rebuild(manager.store, manager.store.is_firing)
    for alert in manager.store:
        manager.dispatcher.insert(alert, now, changed=False)
    return manager
