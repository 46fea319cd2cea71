"""Authentication middleware, CSRF protection, the login and logout routes, and the
deny-by-default route check.

:class:`AuthMiddleware` sets ``request.state.principal`` on every request, from an
``Authorization: Bearer`` API token or the session cookie (else the anonymous visitor),
and refuses a state-changing, cookie-authenticated request whose CSRF token is missing or
wrong. Requests with an API token are exempt from CSRF checks: a browser never adds that
header on its own. Install it inside the security-headers middleware (so refusals carry
the headers too)::

    app.add_middleware(AuthMiddleware, auth=web_auth)           # inner
    app.add_middleware(SecurityHeadersMiddleware, ...)          # outer (added last)
    app.include_router(login_router(web_auth))
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.core.errors import AuthenticationError
from watchkeeper.security.principal import Principal
from watchkeeper.security.ratelimit import LoginRateLimitedError
from watchkeeper.security.sessions import SessionInfo
from watchkeeper.security.setup import SecurityServices
from watchkeeper.state.db import Database
from watchkeeper.web.deps import current_principal, public
from watchkeeper.web.errors import error_response_for_path

LOGIN_PATH = "/login"
SESSION_COOKIE = "wk_session"
LOGIN_CSRF_COOKIE = "wk_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MAX_FORM_BYTES = 1024 * 1024
TEMPLATES_DIR = Path(__file__).parent / "templates"

CSRF_FAILED = (
    "CSRF check failed: this request changes something but carries no valid CSRF token. "
    "Reload the page and submit the form again; scripts send the page's token in the "
    "X-CSRF-Token header, and API clients use an API token instead of the session cookie"
)


@dataclass(frozen=True, slots=True)
class WebAuth:
    """What the middleware and the routes need: the state database and the services."""

    db: Database
    security: SecurityServices

    def secure_cookie(self, scope: Scope) -> bool:
        mode = self.security.config.session.cookie_secure
        return mode == "always" or (mode == "auto" and scope.get("scheme") in ("https", "wss"))

    def session_cookie(self, token: str, scope: Scope) -> str:
        cfg = self.security.config.session
        return _cookie(
            SESSION_COOKIE,
            token,
            path="/",
            max_age=int(cfg.lifetime),
            same_site=cfg.same_site.capitalize(),
            secure=self.secure_cookie(scope),
        )

    def clear_session_cookie(self, scope: Scope) -> str:
        return _cookie(
            SESSION_COOKIE,
            "",
            path="/",
            max_age=0,
            same_site="Lax",
            secure=self.secure_cookie(scope),
        )


def _cookie(name: str, value: str, *, path: str, max_age: int, same_site: str, secure: bool) -> str:
    parts = [f"{name}={value}", f"Path={path}", f"Max-Age={max_age}", "HttpOnly"]
    parts.append(f"SameSite={same_site}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def _cookies(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                if name and name not in out:
                    out[name] = val
    return out


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def remote_addr(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class AuthMiddleware:
    """Pure ASGI middleware (streaming responses and server-sent events pass untouched).

    ``csrf_exempt_paths``: exact paths, or prefixes ending in ``/``, whose state-changing
    requests skip the session CSRF check (endpoints whose credential is in the URL)."""

    def __init__(
        self, app: ASGIApp, *, auth: WebAuth, csrf_exempt_paths: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.auth = auth
        # POST /login carries its own form token (checked by the route), which works for a
        # visitor who is, in another tab, already logged in.
        self.csrf_exempt = (LOGIN_PATH, *csrf_exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        authn = self.auth.security.authenticator
        principal: Principal = authn.anonymous
        session: SessionInfo | None = None
        clear_cookie = False

        authorization = _header(scope, b"authorization")
        cookie = _cookies(scope).get(SESSION_COOKIE)
        if authorization is not None:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                await _deny(scope, receive, send, 401, "use 'Authorization: Bearer <token>'")
                return
            found = await run_in_threadpool(self._bearer, credential.strip())
            if found is None:
                await _deny(
                    scope,
                    receive,
                    send,
                    401,
                    "the API token is unknown, expired or revoked; create a new one with "
                    "`watchkeeper token create`",
                )
                return
            principal = found
        elif cookie:
            resolved = await run_in_threadpool(self._session, cookie)
            if resolved is None:
                clear_cookie = True  # expired or logged out elsewhere: forget it
            else:
                principal, session = resolved

        state["principal"] = principal
        state["session"] = session
        state["csrf_token"] = session.csrf_token if session is not None else None

        if (
            session is not None
            and scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and not _exempt(scope["path"], self.csrf_exempt)
        ):
            ok, receive = await _check_csrf(scope, receive, session.csrf_token)
            if not ok:
                await _deny(scope, receive, send, 403, CSRF_FAILED)
                return

        if clear_cookie:
            send = self._clearing(scope, send)
        await self.app(scope, receive, send)

    def _bearer(self, token: str) -> Principal | None:
        with self.auth.db.begin() as conn:
            return self.auth.security.authenticator.from_bearer(conn, token)

    def _session(self, token: str) -> tuple[Principal, SessionInfo] | None:
        with self.auth.db.begin() as conn:
            return self.auth.security.authenticator.from_session(conn, token)

    def _clearing(self, scope: Scope, send: Send) -> Send:
        cookie = self.auth.clear_session_cookie(scope)

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        return wrapped


def _exempt(path: str, exempt: tuple[str, ...]) -> bool:
    """``/login`` matches itself only; an entry ending in ``/`` matches everything under it."""
    return any(path == e or (e.endswith("/") and path.startswith(e)) for e in exempt)


async def _deny(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
        return
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    response = error_response_for_path(str(scope.get("path", "")), status, detail, headers)
    await response(scope, receive, send)


async def _check_csrf(scope: Scope, receive: Receive, expected: str) -> tuple[bool, Receive]:
    """Compare the header or form field with the session's token. A form body is read
    here and replayed to the app."""
    given = _header(scope, CSRF_HEADER.encode())
    if given is not None:
        return hmac.compare_digest(given.encode(), expected.encode()), receive
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type not in _FORM_TYPES:
        return False, receive
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False, receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_FORM_BYTES:
            return False, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    form = await Request(scope, replay).form()
    value = form.get(CSRF_FIELD)
    await form.close()
    replayed = False
    ok = isinstance(value, str) and hmac.compare_digest(value.encode(), expected.encode())
    return ok, replay


# --- login and logout ----------------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another site) becomes ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_router(auth: WebAuth, *, templates: Jinja2Templates | None = None) -> APIRouter:
    """``GET /login`` (the form), ``POST /login`` and ``POST /logout``."""
    pages = templates or Jinja2Templates(directory=str(TEMPLATES_DIR))
    router = APIRouter(tags=["auth"])

    def render(
        request: Request, status: int, *, error: str = "", username: str = "", nxt: str = "/"
    ) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        response = pages.TemplateResponse(
            request,
            "login.html",
            {"error": error, "username": username, "next": nxt, "csrf_token": token},
            status_code=status,
        )
        response.headers.append(
            "set-cookie",
            _cookie(
                LOGIN_CSRF_COOKIE,
                token,
                path="/login",
                max_age=3600,
                same_site="Strict",
                secure=auth.secure_cookie(request.scope),
            ),
        )
        response.headers["cache-control"] = "no-store"
        return response

    @router.get(
        LOGIN_PATH,
        response_class=HTMLResponse,
        dependencies=[Depends(public("the login form"))],
    )
    def login_form(
        request: Request, next_: Annotated[str | None, Query(alias="next")] = None
    ) -> Response:
        if getattr(request.state, "session", None) is not None:
            return RedirectResponse(safe_next(next_), status_code=303)
        return render(request, 200, nxt=safe_next(next_))

    @router.post(
        LOGIN_PATH,
        response_class=HTMLResponse,
        dependencies=[Depends(public("logging in"))],
    )
    async def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=2048)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next_: Annotated[str, Form(alias="next", max_length=2000)] = "/",
    ) -> Response:
        nxt = safe_next(next_)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
            return render(
                request,
                403,
                error="The login form expired (or cookies are blocked). Please try again.",
                username=username,
                nxt=nxt,
            )
        if not username or not password:
            return render(request, 400, error="Enter your user name and password.", nxt=nxt)
        addr = remote_addr(request.scope)
        try:
            done = await run_in_threadpool(
                auth.security.authenticator.login_in, auth.db, username, password, addr
            )
        except LoginRateLimitedError as exc:
            limited = render(request, 429, error=str(exc), username=username, nxt=nxt)
            limited.headers["retry-after"] = str(exc.retry_after)
            return limited
        except AuthenticationError as exc:
            message = str(exc).capitalize() + "."
            return render(request, 401, error=message, username=username, nxt=nxt)
        response = RedirectResponse(nxt, status_code=303)
        response.headers.append("set-cookie", auth.session_cookie(done.token, request.scope))
        response.headers.append(
            "set-cookie",
            _cookie(
                LOGIN_CSRF_COOKIE,
                "",
                path="/login",
                max_age=0,
                same_site="Strict",
                secure=auth.secure_cookie(request.scope),
            ),
        )
        return response

    @router.post(
        "/logout",
        dependencies=[Depends(public("logging out ends the caller's own session"))],
    )
    async def logout(request: Request) -> Response:
        # A session-authenticated POST: the middleware has checked its CSRF token already.
        token = request.cookies.get(SESSION_COOKIE)
        if token and getattr(request.state, "session", None) is not None:
            principal = current_principal(request)
            addr = remote_addr(request.scope)

            def end() -> None:
                with auth.db.begin() as conn:
                    auth.security.authenticator.logout(conn, token, principal, addr)

            await run_in_threadpool(end)
        response = RedirectResponse("/login", status_code=303)
        response.headers.append("set-cookie", auth.clear_session_cookie(request.scope))
        return response

    return router


def install_auth(app: FastAPI, auth: WebAuth, *, csrf_exempt_paths: Iterable[str] = ()) -> None:
    """Add the middleware and the login routes to an app (the runtime's one call)."""
    app.add_middleware(AuthMiddleware, auth=auth, csrf_exempt_paths=tuple(csrf_exempt_paths))
    app.include_router(login_router(auth))
