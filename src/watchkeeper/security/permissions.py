"""Permissions (``resource:action``) and the one roles -> permissions table.

Every route names the permission it needs; a route that names none is refused (deny by
default). ``status:read`` is the only permission an anonymous visitor has, unless the
configuration grants anonymous visitors the viewer role (a read-only demo dashboard).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from watchkeeper.core.errors import UserInputError


class Permission(StrEnum):
    STATUS_READ = "status:read"  # public status page
    SERVICES_READ = "services:read"
    METRICS_READ = "metrics:read"  # PromQL query API, explore
    METRICS_WRITE = "metrics:write"  # push ingestion (remote write, text import)
    RULES_READ = "rules:read"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"  # ack, unack, resolve, label, post alerts
    SILENCES_READ = "silences:read"
    SILENCES_WRITE = "silences:write"
    MAINTENANCE_WRITE = "maintenance:write"
    NOTIFICATIONS_READ = "notifications:read"
    NOTIFICATIONS_TEST = "notifications:test"
    READINESS_READ = "readiness:read"
    READINESS_RUN = "readiness:run"
    REPORTS_READ = "reports:read"
    CLUSTER_READ = "cluster:read"
    CONFIG_READ = "config:read"
    CONFIG_WRITE = "config:write"  # reload
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    TOKENS_READ = "tokens:read"
    TOKENS_WRITE = "tokens:write"
    AUDIT_READ = "audit:read"
    SECRETS_READ = "secrets:read"  # names and metadata only; values are never returned
    SECRETS_WRITE = "secrets:write"


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


_VIEWER = frozenset(
    {
        Permission.STATUS_READ,
        Permission.SERVICES_READ,
        Permission.METRICS_READ,
        Permission.RULES_READ,
        Permission.ALERTS_READ,
        Permission.SILENCES_READ,
        Permission.NOTIFICATIONS_READ,
        Permission.READINESS_READ,
        Permission.REPORTS_READ,
        Permission.CLUSTER_READ,
    }
)
_OPERATOR = _VIEWER | {
    Permission.ALERTS_WRITE,
    Permission.SILENCES_WRITE,
    Permission.MAINTENANCE_WRITE,
    Permission.NOTIFICATIONS_TEST,
    Permission.READINESS_RUN,
}
_ADMIN = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _VIEWER,
    Role.OPERATOR: frozenset(_OPERATOR),
    Role.ADMIN: _ADMIN,
}
ANONYMOUS_PERMISSIONS: frozenset[Permission] = frozenset({Permission.STATUS_READ})


def role_has(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def parse_role(value: str) -> Role:
    """The role named ``value``; a :class:`UserInputError` naming the valid roles if none."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UserInputError(
            f"unknown role {value!r}; use one of {', '.join(r.value for r in Role)}"
        ) from None


def parse_permissions(values: Iterable[str]) -> frozenset[Permission]:
    """Permissions from their ``resource:action`` names; unknown names are an error."""
    out: set[Permission] = set()
    for value in values:
        try:
            out.add(Permission(value.strip()))
        except ValueError:
            raise UserInputError(
                f"unknown permission {value!r}; permissions look like 'metrics:write', one of "
                f"{', '.join(sorted(p.value for p in Permission))}"
            ) from None
    return frozenset(out)


def scoped_permissions(role: Role, scopes: Iterable[Permission] | None) -> frozenset[Permission]:
    """What a credential of ``role`` narrowed to ``scopes`` may do (``None``: the whole role).

    A scope outside the role is an error rather than silently dropped, so an ingest token
    asked for ``metrics:write`` on a viewer role fails loudly at creation time."""
    granted = ROLE_PERMISSIONS[role]
    if scopes is None:
        return granted
    wanted = frozenset(scopes)
    extra = wanted - granted
    if extra:
        raise UserInputError(
            f"role {role.value} does not have {', '.join(sorted(p.value for p in extra))}; "
            "choose a role that grants these permissions or drop them from the scope"
        )
    if not wanted:
        raise UserInputError("a scope needs at least one permission (or none at all)")
    return wanted
