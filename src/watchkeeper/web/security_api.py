"""JSON API for administrators: users, API tokens, stored secrets and the audit log.

Every route requires a permission; every change is audited in its own transaction with
the caller and address. Passwords, tokens and secret values go in; only a new API token
(once, at creation) and a generated password (once) ever come out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from watchkeeper.core.durations import parse_duration
from watchkeeper.core.errors import UserInputError
from watchkeeper.security.audit import AuditRecord, csv_lines, jsonl_lines
from watchkeeper.security.passwords import generate_password
from watchkeeper.security.permissions import Permission, Role, parse_permissions
from watchkeeper.security.principal import Principal
from watchkeeper.security.tokens import TokenStatus
from watchkeeper.security.users import User
from watchkeeper.web.auth import WebAuth, remote_addr
from watchkeeper.web.deps import MAX_ROW_ID, PageLimit, PageOffset, page, require

T = TypeVar("T")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_Body):
    username: str = Field(min_length=1, max_length=64)
    role: Role = Role.VIEWER
    password: SecretStr | None = Field(
        default=None, description="omit to have one generated and returned once"
    )


class UserChange(_Body):
    role: Role | None = None
    disabled: bool | None = None
    password: SecretStr | None = None


class NewToken(_Body):
    name: str = Field(min_length=1, max_length=100)
    role: Role
    scopes: list[str] | None = Field(
        default=None, description="narrow the role to these permissions, e.g. ['metrics:write']"
    )
    expires_in: str | None = Field(default=None, description="a duration such as 90d")

    @field_validator("expires_in")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class SecretValue(_Body):
    value: SecretStr = Field(min_length=1)
    description: str = Field(default="", max_length=500)


async def redacting_validation_handler(request: Request, exc: Exception) -> Response:
    """422 for a malformed body that never echoes the input back (it may hold a password
    or a secret). Install app-wide:
    ``app.add_exception_handler(RequestValidationError, redacting_validation_handler)``."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in errors
    ]
    return JSONResponse({"detail": detail}, status_code=422)


def _user_json(user: User) -> dict[str, Any]:
    return {
        **user.public(),
        "id": user.id,
        "created_ms": user.created_ms,
        "updated_ms": user.updated_ms,
    }


def _legacy(out: dict[str, Any], key: str) -> dict[str, Any]:
    """A page that also carries its items under the list's earlier key (``users``, ...)."""
    out[key] = out["items"]
    return out


def security_api_router(auth: WebAuth, *, prefix: str = "/api/v1") -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["security"])
    sec = auth.security

    def tx(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call in one transaction; domain errors become HTTP errors."""
        try:
            with auth.db.begin() as conn:
                return fn(conn, *args, **kwargs)
        except UserInputError as exc:
            raise HTTPException(exc.status_code, detail=str(exc)) from None

    @router.get("/whoami", summary="Who the caller is and what it may do")
    def whoami(
        principal: Annotated[Principal, Depends(require(Permission.STATUS_READ))],
        request: Request,
    ) -> dict[str, Any]:
        return {
            "name": principal.name,
            "kind": principal.kind.value,
            "role": principal.role.value if principal.role else None,
            "permissions": sorted(p.value for p in principal.permissions),
            "csrf_token": getattr(request.state, "csrf_token", None),
        }

    # --- users ---

    @router.get(
        "/users",
        summary="List users",
        description="A page of users (``items``, ``total``, ``limit``, ``offset``); ``users`` "
        "repeats ``items`` for earlier clients.",
    )
    def list_users(
        _: Annotated[Principal, Depends(require(Permission.USERS_READ))],
        role: Role | None = None,
        disabled: bool | None = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        found = [
            _user_json(u)
            for u in tx(sec.users.list)
            if (role is None or u.role is role) and (disabled is None or u.disabled is disabled)
        ]
        return _legacy(page(found, limit, offset), "users")

    @router.post("/users", status_code=201, summary="Create a user")
    def create_user(
        body: NewUser,
        principal: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
        request: Request,
    ) -> dict[str, Any]:
        generated = body.password is None
        password = (
            generate_password() if body.password is None else body.password.get_secret_value()
        )
        user = tx(
            sec.users.create,
            principal,
            body.username,
            password,
            body.role,
            remote_addr=remote_addr(request.scope),
        )
        out: dict[str, Any] = {"user": _user_json(user)}
        if generated:
            out["password"] = password  # shown this once; only its hash is stored
        return out

    @router.patch("/users/{username}", summary="Change a user's role, status or password")
    def change_user(
        username: str,
        body: UserChange,
        principal: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
        request: Request,
    ) -> dict[str, Any]:
        addr = remote_addr(request.scope)
        try:
            with auth.db.begin() as conn:
                user = sec.users.get(conn, username)
                if body.role is not None:
                    user = sec.users.set_role(
                        conn, principal, username, body.role, remote_addr=addr
                    )
                if body.disabled is not None:
                    user = sec.users.set_disabled(
                        conn, principal, username, body.disabled, remote_addr=addr
                    )
                if body.password is not None:
                    user = sec.users.set_password(
                        conn,
                        principal,
                        username,
                        body.password.get_secret_value(),
                        remote_addr=addr,
                    )
        except UserInputError as exc:
            raise HTTPException(exc.status_code, detail=str(exc)) from None
        return {"user": _user_json(user)}

    # --- tokens ---

    @router.get(
        "/tokens",
        summary="List API tokens (never their values)",
        description="A page of tokens (``items``, ``total``, ``limit``, ``offset``); ``tokens`` "
        "repeats ``items`` for earlier clients.",
    )
    def list_tokens(
        _: Annotated[Principal, Depends(require(Permission.TOKENS_READ))],
        role: Role | None = None,
        status: TokenStatus | None = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        now = sec.tokens.now_ms()
        found = [
            t.public(now)
            for t in tx(sec.tokens.list)
            if (role is None or t.role is role) and (status is None or t.status(now) is status)
        ]
        return _legacy(page(found, limit, offset), "tokens")

    @router.post("/tokens", status_code=201, summary="Create an API token (shown once)")
    def create_token(
        body: NewToken,
        principal: Annotated[Principal, Depends(require(Permission.TOKENS_WRITE))],
        request: Request,
    ) -> dict[str, Any]:
        try:
            scopes = parse_permissions(body.scopes) if body.scopes is not None else None
        except UserInputError as exc:
            raise HTTPException(400, detail=str(exc)) from None
        expires = parse_duration(body.expires_in) if body.expires_in else None
        plaintext, token = tx(
            sec.tokens.create,
            principal,
            body.name,
            body.role,
            scopes=scopes,
            expires_in=expires,
            remote_addr=remote_addr(request.scope),
        )
        return {"token": plaintext, **token.public(sec.tokens.now_ms())}

    @router.delete("/tokens/{token_id}", summary="Revoke an API token")
    def revoke_token(
        token_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
        principal: Annotated[Principal, Depends(require(Permission.TOKENS_WRITE))],
        request: Request,
    ) -> dict[str, Any]:
        token = tx(sec.tokens.revoke, principal, token_id, remote_addr=remote_addr(request.scope))
        return token.public(sec.tokens.now_ms())

    # --- stored secrets ---

    def secrets_store() -> Any:
        if sec.secrets is None:
            raise HTTPException(
                409,
                detail="no encryption key is configured, so secrets cannot be stored; set "
                "$WATCHKEEPER_SECRET_KEY or security.key_file and restart",
            )
        return sec.secrets

    @router.get(
        "/secrets",
        summary="List stored secrets (names only)",
        description="A page of secrets (``items``, ``total``, ``limit``, ``offset``); "
        "``secrets`` repeats ``items`` for earlier clients.",
    )
    def list_secrets(
        _: Annotated[Principal, Depends(require(Permission.SECRETS_READ))],
        name_prefix: Annotated[
            str | None,
            Query(alias="prefix", max_length=300, description="names that start with this"),
        ] = None,
        limit: PageLimit = 100,
        offset: PageOffset = 0,
    ) -> dict[str, Any]:
        found = [
            s.public()
            for s in tx(secrets_store().list)
            if name_prefix is None or s.name.startswith(name_prefix)
        ]
        return _legacy(page(found, limit, offset), "secrets")

    @router.put("/secrets/{name:path}", summary="Store a secret (its value is never returned)")
    def put_secret(
        name: str,
        body: SecretValue,
        principal: Annotated[Principal, Depends(require(Permission.SECRETS_WRITE))],
        request: Request,
    ) -> dict[str, Any]:
        info = tx(
            secrets_store().put,
            principal,
            name,
            body.value.get_secret_value(),
            description=body.description,
            remote_addr=remote_addr(request.scope),
        )
        return dict(info.public())

    @router.delete("/secrets/{name:path}", status_code=204, summary="Delete a stored secret")
    def delete_secret(
        name: str,
        principal: Annotated[Principal, Depends(require(Permission.SECRETS_WRITE))],
        request: Request,
    ) -> Response:
        tx(secrets_store().delete, principal, name, remote_addr=remote_addr(request.scope))
        return Response(status_code=204)

    # --- audit log ---

    @router.get("/audit", summary="Audit log, newest first")
    def list_audit(
        _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before_seq: Annotated[
            int | None, Query(ge=1, le=MAX_ROW_ID, description="page: rows before this")
        ] = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        records: list[AuditRecord] = tx(
            sec.audit.list,
            limit=limit,
            before_seq=before_seq,
            newest_first=True,
            actor=actor,
            action=action,
            target=target,
        )
        next_before = records[-1].seq if len(records) == limit else None
        return {"records": [r.to_json() for r in records], "next_before_seq": next_before}

    @router.get("/audit/verify", summary="Recompute the audit hash chain")
    def verify_audit(
        _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
    ) -> dict[str, Any]:
        result = tx(sec.audit.verify)
        return {
            "ok": result.ok,
            "checked": result.checked,
            "broken_seq": result.broken_seq,
            "problem": result.problem,
        }

    @router.get("/audit/export", summary="Export the whole audit log")
    def export_audit(
        _: Annotated[Principal, Depends(require(Permission.AUDIT_READ))],
        fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
    ) -> StreamingResponse:
        def records() -> Iterator[AuditRecord]:
            with auth.db.connect() as conn:
                yield from sec.audit.iter_all(conn)

        if fmt == "csv":
            body = csv_lines(records())
            media, ext = "text/csv; charset=utf-8", "csv"
        else:
            body = jsonl_lines(records())
            media, ext = "application/x-ndjson", "jsonl"
        return StreamingResponse(
            body,
            media_type=media,
            headers={"content-disposition": f'attachment; filename="audit.{ext}"'},
        )

    return router
