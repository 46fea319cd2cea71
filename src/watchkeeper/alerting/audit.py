"""Audit records of what people change in alert management.

The stores' write methods (acknowledgements, silences, maintenance windows, on-call
overrides, the alert store) take an optional ``on_write`` step, which they run inside
their write transaction with the connection and the object as written. The actions
(:mod:`watchkeeper.alerting.actions`) make those steps with :func:`change_audit` from who
acts (a :class:`~watchkeeper.security.principal.Principal` and the address it came from)
and the manager's :class:`~watchkeeper.security.audit.AuditLog`, so a change and its
audit record commit or roll back together::

    audit = change_audit(manager.audit, principal, "192.0.2.7")
    acks.put(ack, on_write=audit.step(AuditAction.ALERTS_ACK, "alert-group:1f..", ...))

A change nobody made (an acknowledgement running out, a silence reaching its end, an
alert from a rule) passes no step and leaves no record; neither does a change made with
a bare name instead of a principal (library use and tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection

from watchkeeper.core.clock import rfc3339
from watchkeeper.security.audit import AuditAction, AuditLog
from watchkeeper.security.principal import Principal

if TYPE_CHECKING:
    from watchkeeper.alerting.alerts import Alert
    from watchkeeper.alerting.maintenance import MaintenanceWindow
    from watchkeeper.alerting.model import AlertInput
    from watchkeeper.alerting.oncall import Override

T = TypeVar("T")

OnWrite = Callable[[Connection, T], None]
"""A step a store runs inside its write transaction, given the object as written."""

Actor = Principal | str
"""Who acts: a principal (audited when the manager has an audit log) or only a name."""


def actor_name(by: Actor) -> str:
    return by.name if isinstance(by, Principal) else by


@dataclass(frozen=True, slots=True)
class ChangeAudit:
    """Writes the audit records of one principal's change, from one address."""

    log: AuditLog
    principal: Principal
    remote_addr: str = ""

    def record(
        self,
        conn: Connection,
        action: AuditAction,
        target: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        self.log.record(
            conn,
            self.principal,
            action,
            target,
            before=before,
            after=after,
            detail=detail,
            remote_addr=self.remote_addr,
        )

    def step(
        self,
        action: AuditAction,
        target: Callable[[T], str],
        *,
        before: Callable[[T], Any] | None = None,
        after: Callable[[T], Any] | None = None,
        detail: Callable[[T], Mapping[str, Any]] | None = None,
    ) -> OnWrite[T]:
        """The ``on_write`` step that records ``action`` on the object a store wrote;
        ``before``, ``after`` and ``detail`` are read from it (``None`` when not given)."""

        def write(conn: Connection, written: T) -> None:
            self.record(
                conn,
                action,
                target(written),
                before=before(written) if before is not None else None,
                after=after(written) if after is not None else None,
                detail=detail(written) if detail is not None else None,
            )

        return write


def change_audit(log: AuditLog | None, by: Actor, remote_addr: str = "") -> ChangeAudit | None:
    """The audit of a change by ``by``; ``None`` when nothing is to be recorded (no audit
    log, or only a name)."""
    if log is None or not isinstance(by, Principal):
        return None
    return ChangeAudit(log, by, remote_addr)


# -- what the records say about alert management objects ------------------------------


def optional_time(ts: float | None) -> str | None:
    return rfc3339(ts) if ts is not None else None


def alert_record(alert: Alert) -> dict[str, Any]:
    """An alert's state as the audit log digests it."""
    return {
        "fingerprint": alert.fingerprint,
        "labels": alert.labels.to_dict(),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(alert.starts_at),
        "endsAt": rfc3339(alert.ends_at),
        "resolvedBy": alert.resolved_by,
    }


def input_record(alert: AlertInput) -> dict[str, Any]:
    """A posted alert as the audit log digests it."""
    return {
        "labels": alert.labels.to_dict(),
        "annotations": dict(alert.annotations),
        "startsAt": optional_time(alert.starts_at),
        "endsAt": optional_time(alert.ends_at),
        "generatorURL": alert.generator_url,
    }


def window_detail(window: MaintenanceWindow) -> dict[str, Any]:
    return {"name": window.name, "matchers": list(window.config.matchers)}


def override_target(override: Override) -> str:
    return f"oncall-override:{override.rotation}/{override.id}"


def override_detail(override: Override) -> dict[str, Any]:
    return {
        "rotation": override.rotation,
        "receiver": override.receiver,
        "startsAt": rfc3339(override.starts_at),
        "endsAt": rfc3339(override.ends_at),
        "comment": override.comment,
    }
