"""HTTPS with a self-signed certificate, served by uvicorn on loopback: HSTS and Secure
session cookies; and clear errors for a missing or mismatched certificate."""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from watchkeeper.core.errors import ConfigError
from watchkeeper.security.permissions import Role
from watchkeeper.security.setup import SecurityServices
from watchkeeper.security.tls import uvicorn_ssl_options
from watchkeeper.security.users import User
from watchkeeper.state.db import Database
from watchkeeper.testing.server import free_port
from watchkeeper.testing.tls import self_signed
from watchkeeper.web.config import TLSConfig

MakeUser = Callable[..., User]

# Web behaviour that does not depend on the database engine runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("state_db", ["sqlite"], indirect=True)


@pytest.fixture
def https_server(app: FastAPI, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cert, key = self_signed(tmp_path)
    options = uvicorn_ssl_options(TLSConfig(cert_file=cert.name, key_file=key.name), tmp_path)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **options
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the HTTPS server did not start")
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}", cert
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@SQLITE_ONLY
def test_https_serves_hsts_security_headers_and_secure_session_cookies(
    https_server: tuple[str, Path],
    sec: SecurityServices,
    state_db: Database,
    make_user: MakeUser,
    password: str,
) -> None:
    base, cert = https_server
    make_user(sec, state_db, "alice", Role.VIEWER)
    trust = ssl.create_default_context(cafile=str(cert))
    with httpx.Client(base_url=base, verify=trust, follow_redirects=False) as client:
        page = client.get("/login")
        assert page.status_code == 200
        assert page.headers["strict-transport-security"] == "max-age=63072000"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "; Secure" in page.headers["set-cookie"]
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found
        login = client.post(
            "/login",
            data={"username": "alice", "password": password, "csrf_token": found.group(1)},
        )
        assert login.status_code == 303
        session = next(
            c for c in login.headers.get_list("set-cookie") if c.startswith("wk_session=")
        )
        assert "; Secure" in session
        assert "HttpOnly" in session
        assert client.get("/api/v1/whoami").json()["name"] == "alice"
    with pytest.raises(httpx.ConnectError):  # the certificate is not trusted by default
        httpx.get(base + "/login", timeout=5)


def test_no_tls_section_means_plain_http() -> None:
    assert uvicorn_ssl_options(None, Path()) == {}


def test_missing_certificate_file_is_a_config_error(tmp_path: Path) -> None:
    _, key = self_signed(tmp_path)
    tls = TLSConfig(cert_file="absent.crt", key_file=str(key))
    with pytest.raises(ConfigError, match=r"server\.tls\.cert_file: .*absent\.crt does not exist"):
        uvicorn_ssl_options(tls, tmp_path)


def test_key_of_another_certificate_is_a_config_error(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path, name="one")
    _, other_key = self_signed(tmp_path, name="two")
    tls = TLSConfig(cert_file=str(cert), key_file=str(other_key))
    with pytest.raises(ConfigError, match="the key belongs to the certificate"):
        uvicorn_ssl_options(tls, tmp_path)
