"""Who is asking, and may they: the permission check every route declares.

Authentication (session cookie, API token; :mod:`watchkeeper.web.auth`) sets
``request.state.principal``; a route declares ``dependencies=[Depends(require(Permission.X))]``
or, for the few pages everyone may reach (the login form), ``Depends(public("why"))``. A
route with neither is reported by :func:`watchkeeper.web.auth.unguarded_routes`, which the
test suite runs over the whole app (deny by default).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request

from watchkeeper.security.permissions import Permission
from watchkeeper.security.principal import ANONYMOUS, Principal, PrincipalKind

__all__ = [
    "ANONYMOUS",
    "Principal",
    "PrincipalKind",
    "current_principal",
    "public",
    "require",
]


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


def public(reason: str) -> Callable[[Request], Principal]:
    """A FastAPI dependency that lets everyone in, saying why (``"login form"``). It is the
    only way to pass the deny-by-default route check without a permission."""
    if not reason.strip():
        raise ValueError("public() needs a reason, e.g. public('login form')")

    def dependency(request: Request) -> Principal:
        return current_principal(request)

    dependency.public_reason = reason  # type: ignore[attr-defined]
    return dependency
