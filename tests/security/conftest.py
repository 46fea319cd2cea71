"""Fixtures for the security tests: the services on the state database (SQLite and
PostgreSQL), a fake clock, cheap argon2 parameters and a fresh encryption key."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError

with warnings.catch_warnings():
    # Starlette's TestClient prefers the httpx2 package, which the project does not pin; it
    # works with httpx and only warns once, at import.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from watchkeeper.core.clock import FakeClock
from watchkeeper.security.config import Argon2Config, SecurityConfig
from watchkeeper.security.crypto import KeyRing, SecretBox, generate_key
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import Principal, system_principal
from watchkeeper.security.setup import SecurityServices, build_security
from watchkeeper.security.users import User
from watchkeeper.state.db import Database
from watchkeeper.web.auth import WebAuth, install_auth
from watchkeeper.web.deps import current_principal, require
from watchkeeper.web.security_api import redacting_validation_handler, security_api_router
from watchkeeper.web.security_headers import SecurityHeadersMiddleware

# Tests only: the package default stays RFC 9106's recommendation.
CHEAP_ARGON2 = Argon2Config(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse battery"


@pytest.fixture
def security_config() -> SecurityConfig:
    return SecurityConfig(argon2=CHEAP_ARGON2)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KeyRing.single(generate_key()))


@pytest.fixture
def sec(security_config: SecurityConfig, fake_clock: FakeClock, box: SecretBox) -> SecurityServices:
    return build_security(security_config, clock=fake_clock, box=box)


@pytest.fixture
def admin_actor() -> Principal:
    return system_principal("cli:tester")


class UserFactory(Protocol):
    def __call__(
        self, sec: SecurityServices, db: Database, name: str, role: Role = ...
    ) -> User: ...


def _make_user(sec: SecurityServices, db: Database, name: str, role: Role = Role.VIEWER) -> User:
    with db.begin() as conn:
        return sec.users.create(conn, system_principal("cli:tester"), name, PASSWORD, role)


@pytest.fixture
def make_user() -> UserFactory:
    """Create a user with the password of the ``password`` fixture."""
    return _make_user


@pytest.fixture
def password() -> str:
    return PASSWORD


# --- the web layer on a sample app ----------------------------------------------------


def sample_app(auth: WebAuth) -> FastAPI:
    """An app with a GET and a POST route for every permission, the login routes, the
    admin API and the security middleware, as the runtime will assemble them."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for permission in Permission:
        guard = [Depends(require(permission))]
        path = f"/sample/{permission.value}"

        async def read(request: Request, _p: str = permission.value) -> dict[str, str]:
            return {"permission": _p, "who": current_principal(request).name}

        async def write(request: Request, _p: str = permission.value) -> dict[str, Any]:
            form = await request.form() if "form" in request.headers.get("content-type", "") else {}
            return {"permission": _p, "fields": sorted(form.keys())}

        app.add_api_route(path, read, methods=["GET"], dependencies=guard, name=f"get {path}")
        app.add_api_route(path, write, methods=["POST"], dependencies=guard, name=f"post {path}")
    app.include_router(security_api_router(auth))
    app.add_exception_handler(RequestValidationError, redacting_validation_handler)
    install_auth(app, auth)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


@pytest.fixture
def web_auth(state_db: Database, sec: SecurityServices) -> WebAuth:
    return WebAuth(db=state_db, security=sec)


@pytest.fixture
def build_app() -> Callable[[WebAuth], FastAPI]:
    return sample_app


@pytest.fixture
def app(web_auth: WebAuth) -> FastAPI:
    return sample_app(web_auth)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as c:
        yield c
