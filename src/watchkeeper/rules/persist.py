"""Rule-side alert state in the state database, so that a restart keeps ``for`` timers and
firing alerts (and their ``startsAt``, part of the notification dedup key)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from watchkeeper.rules.alerting_rule import ActiveAlert
from watchkeeper.state.db import Database
from watchkeeper.state.tables.rules import rule_alerts


class RuleStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load(self) -> dict[tuple[str, str], list[ActiveAlert]]:
        out: dict[tuple[str, str], list[ActiveAlert]] = defaultdict(list)
        with self._db.connect() as conn:
            for row in conn.execute(sa.select(rule_alerts)):
                out[(row.group_key, row.rule)].append(
                    ActiveAlert.from_record(json.loads(row.record))
                )
        return dict(out)

    def save(
        self, group_key: str, rule: str, upserts: list[ActiveAlert], deletes: list[str], now: float
    ) -> None:
        if not upserts and not deletes:
            return
        with self._db.begin() as conn:
            for fp in deletes:
                conn.execute(_delete(group_key, rule, fp))
            for alert in upserts:
                conn.execute(_delete(group_key, rule, alert.fingerprint))
                conn.execute(
                    rule_alerts.insert().values(
                        group_key=group_key,
                        rule=rule,
                        fingerprint=alert.fingerprint,
                        record=json.dumps(alert.to_record(), sort_keys=True),
                        updated_at=now,
                    )
                )

    def prune(self, keep: set[tuple[str, str]]) -> None:
        """Forget state of rules that no longer exist."""
        with self._db.begin() as conn:
            rows = conn.execute(sa.select(rule_alerts.c.group_key, rule_alerts.c.rule).distinct())
            for row in list(rows):
                if (row.group_key, row.rule) not in keep:
                    conn.execute(
                        rule_alerts.delete().where(
                            rule_alerts.c.group_key == row.group_key, rule_alerts.c.rule == row.rule
                        )
                    )


def _delete(group_key: str, rule: str, fp: str) -> Any:
    return rule_alerts.delete().where(
        rule_alerts.c.group_key == group_key,
        rule_alerts.c.rule == rule,
        rule_alerts.c.fingerprint == fp,
    )
