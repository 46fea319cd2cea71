"""Permissions (``resource:action``) and the one roles -> permissions table.

Every route names the permission it needs; a route that names none is refused (deny by
default). ``status:read`` is the only permission an anonymous visitor has.
"""

from __future__ import annotations

from enum import StrEnum


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
    TOKENS_WRITE = "tokens:write"
    AUDIT_READ = "audit:read"
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
