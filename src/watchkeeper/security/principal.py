"""Who is acting: a user, an API token, the command line, or an anonymous visitor.

The web layer re-exports these names from :mod:`watchkeeper.web.deps`; domain code (the
audit log, the stores) uses them without importing the web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from watchkeeper.security.permissions import (
    ANONYMOUS_PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
)


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"
    TOKEN = "token"  # noqa: S105  (a principal kind, not a credential)
    SYSTEM = "system"  # the command line and the runtime itself


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    kind: PrincipalKind
    role: Role | None
    permissions: frozenset[Permission]
    user_id: int | None = None
    token_id: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.kind is not PrincipalKind.ANONYMOUS

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


ANONYMOUS = Principal("anonymous", PrincipalKind.ANONYMOUS, None, ANONYMOUS_PERMISSIONS)


def anonymous_principal(role: Role | None) -> Principal:
    """The anonymous visitor; with ``role`` (a read-only demo) it also gets that role's
    permissions."""
    if role is None:
        return ANONYMOUS
    return Principal(
        "anonymous",
        PrincipalKind.ANONYMOUS,
        role,
        ANONYMOUS_PERMISSIONS | ROLE_PERMISSIONS[role],
    )


def system_principal(name: str) -> Principal:
    """An administrator acting outside the web app (the CLI, migrations, the runtime)."""
    return Principal(name, PrincipalKind.SYSTEM, Role.ADMIN, ROLE_PERMISSIONS[Role.ADMIN])
