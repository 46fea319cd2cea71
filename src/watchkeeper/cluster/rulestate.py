"""The rule evaluator's alert state in a cluster.

Only the leader evaluates rules, so only the leader writes ``rule_alerts``; a follower's
rule manager holds the groups (for the rule views) but its alert state is whatever it read
at start. :func:`restore` replaces that state with what is in the database right before the
instance starts evaluating as the new leader, so that ``for`` timers, firing alerts and
their ``startsAt`` (part of each notification's dedup key) carry on where the old leader
left them.

The restored alerts are *held* until ``hold_until``: an alert whose series is missing from
the new leader's results is neither resolved nor dropped before then. Samples reach a peer
a moment after they are collected, a member that joined gets no backfill, and the targets
of a member that died are collected again only once another claims them, so for a little
while after a takeover "no series" means "not here yet" rather than "healed". An alert
whose condition has really cleared resolves at the first evaluation after the hold.
"""

from __future__ import annotations

from watchkeeper.cluster.fence import Fence
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.manager import RuleManager
from watchkeeper.rules.persist import RuleStateStore
from watchkeeper.state.db import Database


class LeaderRuleStateStore(RuleStateStore):
    """Prunes the state of rules that no longer exist only while leading (a follower
    loading a newer config must not delete what the leader still evaluates)."""

    def __init__(self, db: Database, fence: Fence) -> None:
        super().__init__(db)
        self._fence = fence

    def prune(self, keep: set[tuple[str, str]]) -> None:
        if self._fence.is_open:
            super().prune(keep)


def restore(manager: RuleManager, store: RuleStateStore, *, hold_until: float = 0.0) -> int:
    """Load every alerting rule's active alerts from the database, held until
    ``hold_until`` (an evaluation timestamp); returns how many."""
    fresh = store.load()
    count = 0
    for group in manager.groups:
        for rule in group.rules:
            if isinstance(rule, AlertingRule):
                alerts = fresh.get((group.key, rule.name), [])
                rule.active = {a.fingerprint: a for a in alerts}
                rule.streaks = {}
                rule.hold_until = hold_until
                count += len(alerts)
    return count
