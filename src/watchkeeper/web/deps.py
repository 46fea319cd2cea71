"""Who is asking, and may they: the permission check every route declares.

Authentication (session cookie, API token; :mod:`watchkeeper.web.auth`) sets
``request.state.principal``; a route declares ``dependencies=[Depends(require(Permission.X))]``
or, for the few pages everyone may reach (the login form), ``Depends(public("why"))``. A
route with neither is reported by :func:`unguarded_routes`, which the test suite runs over
the whole app (deny by default); :func:`route_guards` lists what each route requires, for
the route x role matrix test.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import fastapi.routing
from fastapi import HTTPException, Query, Request
from starlette.routing import BaseRoute, Host, Mount

from watchkeeper.security.permissions import Permission
from watchkeeper.security.principal import ANONYMOUS, Principal, PrincipalKind

__all__ = [
    "ANONYMOUS",
    "PageLimit",
    "PageOffset",
    "Principal",
    "PrincipalKind",
    "RouteGuard",
    "current_principal",
    "page",
    "public",
    "require",
    "route_guards",
    "unguarded_routes",
]

MAX_ROW_ID = 2**63 - 1
"""The largest id a database row can have. Id and cursor parameters are bounded by it, so
a client's huge number is a 422, never a database overflow."""

MAX_PAGE = 1000
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="at most this many items")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_ROW_ID, description="skip this many items")]


def page(items: Sequence[Any], limit: int, offset: int) -> dict[str, Any]:
    """One page of a list endpoint's answer: ``items``, and ``total`` (before paging),
    ``limit`` and ``offset`` as asked."""
    return {
        "items": list(items[offset : offset + limit]),
        "total": len(items),
        "limit": limit,
        "offset": offset,
    }


def current_principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    return principal if isinstance(principal, Principal) else ANONYMOUS


def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: 401 when not logged in, 403 when the role lacks the permission.
    (Async, so FastAPI runs it on the event loop instead of a worker thread.)"""

    async def dependency(request: Request) -> Principal:
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


def public(reason: str) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency that lets everyone in, saying why (``"login form"``). It is the
    only way to pass the deny-by-default route check without a permission."""
    if not reason.strip():
        raise ValueError("public() needs a reason, e.g. public('login form')")

    async def dependency(request: Request) -> Principal:
        return current_principal(request)

    dependency.public_reason = reason  # type: ignore[attr-defined]
    return dependency


@dataclass(frozen=True, slots=True)
class RouteGuard:
    """What one route (or mount) requires. ``guarded`` is false for a route that declares
    neither a permission nor ``public(...)``: deny by default says it must not exist."""

    path: str
    methods: frozenset[str]
    name: str
    permissions: frozenset[Permission]
    public_reason: str | None

    @property
    def guarded(self) -> bool:
        return bool(self.permissions) or self.public_reason is not None

    def __str__(self) -> str:
        methods = ",".join(sorted(self.methods)) or "*"
        return f"{methods} {self.path} ({self.name})"


def route_guards(app: Any, prefix: str = "") -> list[RouteGuard]:
    """Every route of a FastAPI/Starlette app (included routers and mounted sub-apps too)
    with the permissions its dependencies require and whether it is declared public."""
    out: list[RouteGuard] = []
    for route in _effective_routes(app):
        original = getattr(route, "original_route", route)
        path = prefix + str(getattr(route, "path", "") or "")
        if isinstance(original, Mount | Host):
            inner = getattr(original, "app", None)
            if hasattr(inner, "routes"):
                out.extend(route_guards(inner, path))
            else:  # a mounted ASGI app (static files, a WSGI bridge): nothing to inspect
                name = str(getattr(original, "name", "") or path)
                out.append(RouteGuard(path, frozenset(), name, frozenset(), None))
            continue
        permissions: set[Permission] = set()
        reasons: list[str] = []
        for call in _dependency_calls(getattr(route, "dependant", None)):
            permission = getattr(call, "permission", None)
            if isinstance(permission, Permission):
                permissions.add(permission)
            reason = getattr(call, "public_reason", None)
            if isinstance(reason, str):
                reasons.append(reason)
        out.append(
            RouteGuard(
                path=path,
                methods=frozenset(getattr(route, "methods", None) or ()),
                name=str(getattr(route, "name", "") or path),
                permissions=frozenset(permissions),
                public_reason=reasons[0] if reasons else None,
            )
        )
    return out


def unguarded_routes(app: Any, *, allow: Iterable[str] = ()) -> list[RouteGuard]:
    """Routes that declare neither ``require(...)`` nor ``public(...)``, except the paths in
    ``allow`` (e.g. ``/static`` for static files, or ``/openapi.json``)."""
    allowed = set(allow)
    return [g for g in route_guards(app) if not g.guarded and g.path not in allowed]


def _effective_routes(app: Any) -> list[Any]:
    """The routes as they are served: FastAPI keeps included routers as one entry and
    resolves them (prefix, router dependencies) on demand; ``iter_route_contexts`` is the
    view its OpenAPI generator uses."""
    routes: list[BaseRoute] = list(getattr(app, "routes", None) or [])
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    return list(iterate(routes)) if iterate is not None else list(routes)


def _dependency_calls(dependant: Any) -> Iterator[Any]:
    if dependant is None:
        return
    for sub in getattr(dependant, "dependencies", ()):
        yield sub.call
        yield from _dependency_calls(sub)
