"""The login form, session cookies, CSRF protection, bearer tokens and the security headers,
through the sample app (Starlette's TestClient: no socket needed)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from watchkeeper.core.clock import FakeClock
from watchkeeper.security.config import SecurityConfig
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import Principal
from watchkeeper.security.setup import SecurityServices, build_security
from watchkeeper.security.users import User
from watchkeeper.state.db import Database
from watchkeeper.web.auth import WebAuth

MakeUser = Callable[..., User]

# Web behaviour that does not depend on the database engine runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("state_db", ["sqlite"], indirect=True)


def form_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def log_in(client: TestClient, username: str, password: str, nxt: str = "/") -> httpx.Response:
    token = form_token(client.get("/login"))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": nxt},
    )


@pytest.fixture
def alice(sec: SecurityServices, state_db: Database, make_user: MakeUser) -> User:
    return make_user(sec, state_db, "alice", Role.OPERATOR)


def session_csrf(client: TestClient) -> str:
    token = client.get("/api/v1/whoami").json()["csrf_token"]
    assert token
    return str(token)


@SQLITE_ONLY
def test_login_page_is_public_and_sets_a_form_token(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert "<form" in page.text
    assert 'name="csrf_token"' in page.text
    assert "wk_login_csrf=" in page.headers["set-cookie"]
    assert page.headers["cache-control"] == "no-store"


def test_login_sets_an_httponly_samesite_session_cookie_and_redirects(
    client: TestClient, alice: User, password: str
) -> None:
    response = log_in(client, "alice", password, nxt="/sample/alerts:read")
    assert response.status_code == 303
    assert response.headers["location"] == "/sample/alerts:read"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("wk_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test
    assert "Max-Age=43200" in cookie
    who = client.get("/api/v1/whoami").json()
    assert who["name"] == "alice"
    assert who["role"] == "operator"


@SQLITE_ONLY
@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_login_never_redirects_to_another_site(
    client: TestClient, alice: User, password: str, target: str
) -> None:
    assert log_in(client, "alice", password, nxt=target).headers["location"] == "/"


def test_login_form_without_its_token_is_refused(
    client: TestClient, alice: User, password: str
) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"username": "alice", "password": password, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "The login form expired" in response.text
    assert "wk_session=" not in response.headers.get("set-cookie", "")


@SQLITE_ONLY
def test_wrong_password_shows_a_clear_message(client: TestClient, alice: User) -> None:
    response = log_in(client, "alice", "not the password")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.text
    assert client.get("/api/v1/whoami").json()["name"] == "anonymous"


def test_login_rate_limit_answers_429_with_retry_after(
    client: TestClient, alice: User, password: str
) -> None:
    for _ in range(5):
        assert log_in(client, "alice", "nope nope nope").status_code == 401
    response = log_in(client, "alice", password)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert "too many failed logins for this user name" in response.text


def test_cookie_authenticated_post_without_csrf_token_is_refused(
    client: TestClient, alice: User, password: str
) -> None:
    log_in(client, "alice", password)
    response = client.post("/sample/alerts:write")
    assert response.status_code == 403
    assert "CSRF check failed" in response.json()["error"]["message"]
    wrong = client.post("/sample/alerts:write", headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403


def test_csrf_token_in_header_or_form_field_is_accepted(
    client: TestClient, alice: User, password: str
) -> None:
    log_in(client, "alice", password)
    token = session_csrf(client)
    assert client.post("/sample/alerts:write", headers={"X-CSRF-Token": token}).status_code == 200
    form = client.post("/sample/alerts:write", data={"csrf_token": token, "comment": "ack"})
    assert form.status_code == 200
    # The form body read for the check still reaches the route.
    assert form.json()["fields"] == ["comment", "csrf_token"]
    bad_form = client.post("/sample/alerts:write", data={"csrf_token": "nope", "comment": "x"})
    assert bad_form.status_code == 403


def test_login_form_from_a_stale_tab_works_while_logged_in(
    client: TestClient, alice: User, password: str, sec: SecurityServices, state_db: Database
) -> None:
    """The login POST is checked against its own form token, not the session's."""
    stale_form = client.get("/login")
    logged_in_elsewhere = sec.authenticator.login_in(state_db, "alice", password, "10.0.0.1")
    client.cookies.set("wk_session", logged_in_elsewhere.token)
    assert client.get("/api/v1/whoami").json()["name"] == "alice"
    again = client.post(
        "/login",
        data={"username": "alice", "password": password, "csrf_token": form_token(stale_form)},
    )
    assert again.status_code == 303


@SQLITE_ONLY
def test_csrf_exempt_prefix_skips_the_check_only_below_it(
    web_auth: WebAuth,
    make_user: MakeUser,
    sec: SecurityServices,
    state_db: Database,
    password: str,
) -> None:
    from fastapi import Depends

    from watchkeeper.web.auth import install_auth
    from watchkeeper.web.deps import public

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    ping = [Depends(public("the token in the URL is the credential"))]
    app.add_api_route("/ping/{key}", lambda key: {"key": key}, methods=["POST"], dependencies=ping)
    app.add_api_route("/pingx", lambda: {}, methods=["POST"], dependencies=ping)
    install_auth(app, web_auth, csrf_exempt_paths=("/ping/",))
    make_user(sec, state_db, "bob")
    with TestClient(app, follow_redirects=False) as client:
        log_in(client, "bob", password)
        assert client.post("/ping/abc").status_code == 200
        assert client.post("/pingx").status_code == 403


def test_api_token_requests_need_no_csrf_token(
    client: TestClient, sec: SecurityServices, state_db: Database, admin_actor: Principal
) -> None:
    with state_db.begin() as conn:
        plaintext, _ = sec.tokens.create(conn, admin_actor, "ci", Role.OPERATOR)
    response = client.post("/sample/alerts:write", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200


def test_bad_revoked_or_expired_bearer_tokens_get_401(
    client: TestClient,
    sec: SecurityServices,
    state_db: Database,
    admin_actor: Principal,
    fake_clock: FakeClock,
) -> None:
    with state_db.begin() as conn:
        revoked, token = sec.tokens.create(conn, admin_actor, "old", Role.VIEWER)
        sec.tokens.revoke(conn, admin_actor, token.id)
        expiring, _ = sec.tokens.create(conn, admin_actor, "short", Role.VIEWER, expires_in=60)
    ok = client.get("/sample/alerts:read", headers={"Authorization": f"Bearer {expiring}"})
    assert ok.status_code == 200
    fake_clock.set(fake_clock.now() + 60)
    for header in (f"Bearer {revoked}", f"Bearer {expiring}", "Bearer wk_nope"):
        response = client.get("/sample/alerts:read", headers={"Authorization": header})
        assert response.status_code == 401
        assert "unknown, expired or revoked" in response.json()["error"]["message"]
    basic = client.get("/sample/alerts:read", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert "Bearer" in basic.json()["error"]["message"]


def test_expired_session_is_anonymous_and_its_cookie_is_cleared(
    client: TestClient, alice: User, password: str, fake_clock: FakeClock
) -> None:
    log_in(client, "alice", password)
    assert client.get("/sample/alerts:read").status_code == 200
    fake_clock.set(fake_clock.now() + 2 * 3600)  # the idle timeout
    response = client.get("/sample/alerts:read")
    assert response.status_code == 401
    assert "wk_session=; Path=/; Max-Age=0" in response.headers["set-cookie"]


def test_logout_ends_the_session_and_is_csrf_protected(
    client: TestClient, alice: User, password: str, sec: SecurityServices, state_db: Database
) -> None:
    log_in(client, "alice", password)
    assert client.post("/logout").status_code == 403  # no CSRF token: refused
    token = session_csrf(client)
    old_cookie = client.cookies.get("wk_session")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "wk_session=; Path=/; Max-Age=0" in response.headers["set-cookie"]
    client.cookies.set("wk_session", old_cookie or "")
    assert client.get("/sample/alerts:read").status_code == 401  # the server forgot it
    with state_db.connect() as conn:
        actions = [r.action for r in sec.audit.list(conn)]
    assert actions[-2:] == ["sessions:create", "sessions:delete"]


@SQLITE_ONLY
def test_security_headers_are_on_every_response(
    client: TestClient, alice: User, password: str
) -> None:
    responses = [
        client.get("/login"),
        client.get("/sample/alerts:read"),  # 401
        client.get("/no/such/page"),  # 404
    ]
    log_in(client, "alice", password)
    responses.append(client.post("/sample/alerts:write"))  # 403 CSRF
    responses.append(client.get("/sample/users:read"))  # 403 role
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self';" in csp
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain HTTP


@SQLITE_ONLY
def test_https_requests_get_hsts_and_secure_cookies(
    app: FastAPI, alice: User, password: str
) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = log_in(client, "alice", password)
    assert response.headers["strict-transport-security"] == "max-age=63072000"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("wk_session="))
    assert "; Secure" in cookie


@SQLITE_ONLY
def test_anonymous_role_viewer_lets_visitors_read_but_not_write(
    state_db: Database,
    fake_clock: FakeClock,
    security_config: SecurityConfig,
    build_app: Callable[[WebAuth], FastAPI],
) -> None:
    demo = security_config.model_copy(update={"anonymous_role": Role.VIEWER})
    auth = WebAuth(db=state_db, security=build_security(demo, clock=fake_clock))
    with TestClient(build_app(auth)) as client:
        assert client.get("/sample/alerts:read").status_code == 200
        assert client.get("/sample/status:read").status_code == 200
        assert client.post("/sample/alerts:write").status_code == 401
        assert client.get("/sample/users:read").status_code == 401
        assert client.get("/api/v1/whoami").json()["role"] == "viewer"
