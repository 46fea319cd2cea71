"""Who is asking, and may they: the permission check every route declares.

Authentication (session cookie, API token) sets ``request.state.principal``; a route
declares ``dependencies=[Depends(require(Permission.X))]``. A route without one is refused
by the app's deny-by-default check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from fastapi import HTTPException, Request

from watchkeeper.security.permissions import ANONYMOUS_PERMISSIONS, Permission, Role


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"
    TOKEN = "token"  # noqa: S105  (a principal kind, not a credential)


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


ANONYMOUS = Principal("anonymous", PrincipalKind.ANONYMOUS, None, ANONYMOUS_PERMISSIONS)


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def require(permission: Permission) -> Callable[[Request], Principal]:
    """A FastAPI dependency: 401 when not logged in, 403 when the role lacks the permission."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if permission in principal.permissions:
            return principal
        if not principal.is_authenticated:
            raise HTTPException(
                status_code=401,
                detail=f"authentication required ({permission.value}); log in or send an "
                "API token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        raise HTTPException(
            status_code=403,
            detail=f"permission {permission.value!r} is required; your role is "
            f"{principal.role.value if principal.role else 'none'}",
        )

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency
