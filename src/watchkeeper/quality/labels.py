"""Operators' verdicts on resolved alerts: actionable, noise or duplicate.

A verdict belongs to one incident (one firing episode of one alert, see
:mod:`.incidents`). Setting or clearing one is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import NotFoundError, UserInputError
from watchkeeper.quality.incidents import Incident
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.principal import Principal
from watchkeeper.state.db import Database
from watchkeeper.state.tables.quality import alert_labels

T = alert_labels
MAX_COMMENT = 2000


class Verdict(StrEnum):
    ACTIONABLE = "actionable"  # someone had to act: a true positive
    NOISE = "noise"  # nothing was wrong, or nothing could be done: a false positive
    DUPLICATE = "duplicate"  # real, but another alert already said so


def parse_verdict(value: str) -> Verdict:
    try:
        return Verdict(value.strip().lower())
    except ValueError:
        raise UserInputError(
            f"unknown label {value!r}; use one of {', '.join(v.value for v in Verdict)}"
        ) from None


@dataclass(frozen=True, slots=True)
class LabelRecord:
    incident: str
    fingerprint: str
    fired_at: float
    rule: str
    verdict: Verdict
    comment: str
    by: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "rule": self.rule,
            "label": self.verdict.value,
            "comment": self.comment,
            "labelled_by": self.by,
            "labelled_at": rfc3339(self.at),
        }


class LabelStore:
    def __init__(self, db: Database, audit: AuditLog | None = None) -> None:
        self._db = db
        self._audit = audit

    def put(
        self,
        incident: Incident,
        verdict: Verdict,
        *,
        principal: Principal,
        now: float,
        comment: str = "",
        remote_addr: str = "",
    ) -> LabelRecord:
        """Label a resolved incident (replacing an earlier label)."""
        if not incident.resolved:
            raise UserInputError(
                f"incident {incident.id} has not resolved yet; label it once it has"
            )
        if len(comment) > MAX_COMMENT:
            raise UserInputError(f"the comment is longer than {MAX_COMMENT} characters")
        record = LabelRecord(
            incident=incident.id,
            fingerprint=incident.key,
            fired_at=incident.fired_at,
            rule=incident.rule,
            verdict=verdict,
            comment=comment,
            by=principal.name,
            at=now,
        )
        with self._db.begin() as conn:
            before = conn.execute(sa.select(T.c.label).where(T.c.incident == incident.id)).first()
            conn.execute(T.delete().where(T.c.incident == incident.id))
            conn.execute(
                T.insert().values(
                    incident=record.incident,
                    fingerprint=record.fingerprint,
                    fired_at=record.fired_at,
                    rule=record.rule[:256],
                    label=record.verdict.value,
                    comment=record.comment,
                    labelled_by=record.by[:256],
                    labelled_at=record.at,
                )
            )
            if self._audit is not None:
                self._audit.record(
                    conn,
                    principal,
                    AuditAction.ALERTS_LABEL,
                    incident.id,
                    before=before.label if before is not None else None,
                    after=verdict.value,
                    detail={"rule": incident.rule, "label": verdict.value},
                    remote_addr=remote_addr,
                )
        return record

    def remove(
        self, incident_id: str, *, principal: Principal, remote_addr: str = ""
    ) -> LabelRecord:
        with self._db.begin() as conn:
            row = conn.execute(sa.select(T).where(T.c.incident == incident_id)).first()
            if row is None:
                raise NotFoundError(f"incident {incident_id} has no label")
            conn.execute(T.delete().where(T.c.incident == incident_id))
            if self._audit is not None:
                self._audit.record(
                    conn,
                    principal,
                    AuditAction.ALERTS_LABEL,
                    incident_id,
                    before=row.label,
                    after=None,
                    detail={"rule": row.rule, "label": None},
                    remote_addr=remote_addr,
                )
        return _record(row)

    def between(self, since: float, until: float) -> dict[str, LabelRecord]:
        """Labels of incidents that fired in ``[since, until)``, by incident id."""
        with self._db.connect() as conn:
            rows = conn.execute(
                sa.select(T).where(T.c.fired_at >= since, T.c.fired_at < until)
            ).all()
        return {r.incident: _record(r) for r in rows}

    def apply(self, incidents: Iterable[Incident], since: float, until: float) -> None:
        """Attach stored labels to incidents (in place)."""
        labels = self.between(since, until)
        for incident in incidents:
            record = labels.get(incident.id)
            if record is not None:
                incident.label = record.verdict.value
                incident.labelled_by = record.by
                incident.comment = record.comment


def _record(row: Any) -> LabelRecord:
    return LabelRecord(
        incident=row.incident,
        fingerprint=row.fingerprint,
        fired_at=float(row.fired_at),
        rule=row.rule,
        verdict=Verdict(row.label),
        comment=row.comment,
        by=row.labelled_by,
        at=float(row.labelled_at),
    )
