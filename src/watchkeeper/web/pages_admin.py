"""Admin pages: users and their roles, API tokens (a new token is shown once), and the
audit log with its chain check and export.

Every change goes through the security package's stores in one transaction, so the audit
log records who did it, from where, with before/after digests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection
from starlette.responses import Response

from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import UserInputError
from watchkeeper.security.audit import AuditAction, VerifyResult
from watchkeeper.security.passwords import generate_password
from watchkeeper.security.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    parse_permissions,
    parse_role,
)
from watchkeeper.web.auth import remote_addr
from watchkeeper.web.deps import Principal
from watchkeeper.web.pages_base import (
    MAX_ID,
    can,
    install_filters,
    page_guard,
    render,
    see_other,
)

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

T = TypeVar("T")
AUDIT_ROWS = 100
TOKEN_EXPIRIES = ("", "30d", "90d", "365d")
MAX_TOKEN_LIFE = 100 * 365 * 86400.0

# Module level: with postponed annotations FastAPI resolves these names in the globals.
UserWriter = Annotated[Principal, Depends(page_guard(Permission.USERS_WRITE))]
TokenWriter = Annotated[Principal, Depends(page_guard(Permission.TOKENS_WRITE))]
Short = Annotated[str, Form(max_length=200)]


def admin_pages_router(rt: Runtime, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    install_filters(templates, rt.clock)
    sec = rt.security

    def tx(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with rt.db.begin() as conn:
            return fn(conn, *args, **kwargs)

    def admin_page(
        request: Request,
        *,
        status_code: int = 200,
        flashes: Sequence[tuple[str, str]] = (),
        **shown: Any,
    ) -> Response:
        now_ms = sec.tokens.now_ms()
        tokens = tx(sec.tokens.list) if can(request, Permission.TOKENS_READ) else None
        return render(
            templates,
            request,
            "admin.html",
            "/admin",
            status_code=status_code,
            title="Admin",
            users=tx(sec.users.list),
            tokens=[(t, t.public(now_ms)) for t in tokens] if tokens is not None else None,
            roles=[r.value for r in Role],
            anonymous_role=anonymous.value if (anonymous := sec.config.anonymous_role) else "",
            role_permissions=[
                (r.value, sorted(perm.value for perm in ROLE_PERMISSIONS[r])) for r in Role
            ],
            expiries=TOKEN_EXPIRIES,
            flashes=list(flashes),
            **shown,
        )

    def refused(request: Request, exc: UserInputError, **shown: Any) -> Response:
        return admin_page(
            request, status_code=exc.status_code, flashes=[("error", str(exc))], **shown
        )

    @router.get("/admin", dependencies=[Depends(page_guard(Permission.USERS_READ))])
    def admin(request: Request) -> Response:
        return admin_page(request)

    @router.post("/admin/users")
    def create_user(
        request: Request,
        principal: UserWriter,
        username: Annotated[str, Form(max_length=64)] = "",
        role: Annotated[str, Form(max_length=20)] = Role.VIEWER.value,
        password: Annotated[str, Form(max_length=1024)] = "",
    ) -> Response:
        entered = {"username": username, "role": role}
        generated = not password
        secret = generate_password() if generated else password
        try:
            user = tx(
                sec.users.create,
                principal,
                username.strip(),
                secret,
                parse_role(role),
                remote_addr=remote_addr(request.scope),
            )
        except UserInputError as exc:
            return refused(request, exc, new_user=entered)
        shown = {"created_user": user.username, "generated_password": secret if generated else ""}
        return admin_page(request, status_code=201, flashes=[("ok", "User created.")], **shown)

    @router.post("/admin/users/{username}")
    def change_user(
        request: Request,
        username: str,
        principal: UserWriter,
        role: Annotated[str, Form(max_length=20)] = "",
        disabled: Annotated[str, Form(max_length=5)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
    ) -> Response:
        addr = remote_addr(request.scope)

        def change(conn: Connection) -> None:
            sec.users.get(conn, username)
            if role:
                sec.users.set_role(conn, principal, username, parse_role(role), remote_addr=addr)
            if disabled in ("true", "false"):
                sec.users.set_disabled(
                    conn, principal, username, disabled == "true", remote_addr=addr
                )
            elif disabled:
                raise UserInputError("disabled: use true or false")
            if password:
                sec.users.set_password(conn, principal, username, password, remote_addr=addr)

        try:
            tx(change)
        except UserInputError as exc:
            return refused(request, exc)
        return see_other("/admin#users", "user-changed")

    @router.post("/admin/tokens")
    def create_token(
        request: Request,
        principal: TokenWriter,
        name: Annotated[str, Form(max_length=100)] = "",
        role: Annotated[str, Form(max_length=20)] = Role.VIEWER.value,
        expires_in: Annotated[str, Form(max_length=20)] = "",
        scopes: Short = "",
    ) -> Response:
        entered = {"name": name, "role": role, "expires_in": expires_in, "scopes": scopes}
        try:
            wanted = scopes.replace(",", " ").split()
            scope_set = parse_permissions(wanted) if wanted else None
            try:
                expiry = parse_duration(expires_in) if expires_in.strip() else None
            except ValueError as exc:
                raise UserInputError(f"expires in: {exc}") from None
            if expiry is not None and expiry > MAX_TOKEN_LIFE:
                raise UserInputError("expires in: at most 36500d; leave it empty for no expiry")
            plaintext, token = tx(
                sec.tokens.create,
                principal,
                name,
                parse_role(role),
                scopes=scope_set,
                expires_in=expiry,
                remote_addr=remote_addr(request.scope),
            )
        except UserInputError as exc:
            return refused(request, exc, new_token=entered)
        return admin_page(
            request,
            status_code=201,
            flashes=[("ok", f"API token {token.name!r} created.")],
            created_token=plaintext,
            created_token_name=token.name,
        )

    @router.post("/admin/tokens/{token_id}/revoke")
    def revoke_token(
        request: Request,
        token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
        principal: TokenWriter,
    ) -> Response:
        try:
            tx(sec.tokens.revoke, principal, token_id, remote_addr=remote_addr(request.scope))
        except UserInputError as exc:
            return refused(request, exc)
        return see_other("/admin#tokens", "token-revoked")

    @router.get("/admin/audit", dependencies=[Depends(page_guard(Permission.AUDIT_READ))])
    def audit(
        request: Request,
        actor: Annotated[str, Query(max_length=200)] = "",
        action: Annotated[str, Query(max_length=100)] = "",
        target: Annotated[str, Query(max_length=300)] = "",
        before_seq: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        verify: bool = False,
    ) -> Response:
        records = tx(
            sec.audit.list,
            limit=AUDIT_ROWS,
            before_seq=before_seq,
            newest_first=True,
            actor=actor.strip() or None,
            action=action.strip() or None,
            target=target.strip() or None,
        )
        checked: VerifyResult | None = tx(sec.audit.verify) if verify else None
        return render(
            templates,
            request,
            "audit.html",
            "/admin",
            title="Audit log",
            records=records,
            filters={"actor": actor, "action": action, "target": target},
            actions=[a.value for a in AuditAction],
            next_before=records[-1].seq if len(records) == AUDIT_ROWS else None,
            verified=checked,
        )

    return router
