"""Security readiness: HTTPS with a redirect, HSTS, certificate validity and security
headers against real HTTPS servers on loopback (self-signed, trusted through ca_file); no
default credentials and encrypted secrets in Watchkeeper's own state database."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.core.clock import SystemClock
from watchkeeper.readiness.checks.security_certificate import CertificateValid
from watchkeeper.readiness.checks.security_credentials import NoDefaultCredentials
from watchkeeper.readiness.checks.security_headers import SecurityHeaders
from watchkeeper.readiness.checks.security_hsts import Hsts
from watchkeeper.readiness.checks.security_https import HttpsEnforced
from watchkeeper.readiness.checks.security_secrets import SecretsEncrypted
from watchkeeper.readiness.model import Status
from watchkeeper.security.config import Argon2Config, SecurityConfig
from watchkeeper.security.crypto import KeyRing, SecretBox, generate_key
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.security.setup import build_security
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.testing.server import FakeServer
from watchkeeper.testing.tls import self_signed

from .apps import AppState, redirect_app, service_app
from .support import one, write_config

GOOD_HEADERS = {
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'self'",
    "referrer-policy": "strict-origin-when-cross-origin",
}


@dataclass
class Site:
    https: FakeServer
    http: FakeServer
    state: AppState
    ca: Path


def _site(tmp_path: Path, days: float, http_app: object | None = None) -> Iterator[Site]:
    cert, key = self_signed(tmp_path, days=days)
    state = AppState(headers=dict(GOOD_HEADERS))
    with FakeServer(service_app(state), ssl_certfile=str(cert), ssl_keyfile=str(key)) as https:
        plain = http_app if http_app is not None else redirect_app(https.url + "/")
        with FakeServer(plain) as http:  # type: ignore[arg-type]
            yield Site(https, http, state, cert)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, days=90)


def configured(tmp_path: Path, site: Site, url: str | None = None) -> LoadedConfig:
    readiness = (
        "  security:\n    check_loopback: true\n"
        f"    ca_file: {site.ca.name}\n"
        f"    targets: [{{url: '{url or site.https.url + '/'}', http_url: '{site.http.url}/'}}]\n"
    )
    return write_config(tmp_path, "services: []\n", readiness=readiness)


async def test_loopback_services_are_skipped_unless_asked(tmp_path: Path, site: Site) -> None:
    body = f"services:\n  - name: web\n    url: {site.https.url}/\n    checks: []\n"
    loaded = write_config(tmp_path, body)
    for check in (HttpsEnforced, Hsts, CertificateValid, SecurityHeaders):
        result = await one(loaded, check)
        assert result.status is Status.SKIP, check
        assert "loopback or private address" in result.evidence


async def test_a_well_configured_https_site_passes_every_check(tmp_path: Path, site: Site) -> None:
    loaded = configured(tmp_path, site)
    redirect = await one(loaded, HttpsEnforced)
    assert redirect.status is Status.PASS, redirect.evidence
    assert f"{site.http.url}/ → HTTP 308 → {site.https.url}/" in redirect.evidence
    hsts = await one(loaded, Hsts)
    assert hsts.status is Status.PASS, hsts.evidence
    cert = await one(loaded, CertificateValid)
    assert cert.status is Status.PASS, cert.evidence
    assert 89.9 < cert.data["expiry_days"][f"{site.https.url}/"] <= 90
    headers = await one(loaded, SecurityHeaders)
    assert headers.status is Status.PASS, headers.evidence


async def test_a_certificate_expiring_within_14_days_fails(tmp_path: Path) -> None:
    for site in _site(tmp_path, days=5):
        result = await one(configured(tmp_path, site), CertificateValid)
        assert result.status is Status.FAIL
        assert "expires in 5.0 days (need 14)" in result.evidence


async def test_an_untrusted_certificate_fails(tmp_path: Path, site: Site) -> None:
    readiness = (
        f"  security:\n    check_loopback: true\n    targets: [{{url: '{site.https.url}/'}}]\n"
    )
    loaded = write_config(tmp_path, "services: []\n", readiness=readiness)
    result = await one(loaded, CertificateValid)
    assert result.status is Status.FAIL
    assert "no valid certificate" in result.evidence


async def test_plain_http_answering_without_a_redirect_fails(tmp_path: Path) -> None:
    for site in _site(tmp_path, days=90, http_app=service_app(AppState())):
        result = await one(configured(tmp_path, site), HttpsEnforced)
        assert result.status is Status.FAIL
        assert "answers HTTP 200 over plain HTTP instead of redirecting" in result.evidence


async def test_a_site_served_over_plain_http_fails(tmp_path: Path, site: Site) -> None:
    loaded = configured(tmp_path, site, url=f"{site.http.url}/")
    for check in (HttpsEnforced, Hsts, CertificateValid):
        result = await one(loaded, check)
        assert result.status is Status.FAIL, check


async def test_missing_or_short_hsts_is_reported(tmp_path: Path, site: Site) -> None:
    loaded = configured(tmp_path, site)
    site.state.headers["strict-transport-security"] = "max-age=3600"
    short = await one(loaded, Hsts)
    assert short.status is Status.WARN
    assert "max-age 1h is shorter than 180d" in short.evidence
    del site.state.headers["strict-transport-security"]
    missing = await one(loaded, Hsts)
    assert missing.status is Status.FAIL
    assert "no Strict-Transport-Security header" in missing.evidence


async def test_missing_security_headers_fail(tmp_path: Path, site: Site) -> None:
    del site.state.headers["content-security-policy"]
    del site.state.headers["referrer-policy"]
    result = await one(configured(tmp_path, site), SecurityHeaders)
    assert result.status is Status.FAIL
    assert "missing content-security-policy, referrer-policy" in result.evidence


def _state(tmp_path: Path) -> Database:
    (tmp_path / "data").mkdir(exist_ok=True)
    db = Database(sqlite_url(tmp_path / "data" / "state.sqlite"))
    db.upgrade()
    return db


def _user(db: Database, name: str, password: str) -> None:
    argon = Argon2Config(time_cost=1, memory_cost=64, parallelism=1)
    services = build_security(SecurityConfig(argon2=argon), clock=SystemClock())
    with db.begin() as conn:
        services.users.create(conn, system_principal("test"), name, password, Role.ADMIN)


async def test_an_account_with_a_default_password_fails(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n")
    db = _state(tmp_path)
    try:
        _user(db, "admin", "a-long-and-random-one")
        ok = await one(loaded, NoDefaultCredentials)
        assert ok.status is Status.PASS, ok.evidence
        assert "1 accounts;" in ok.evidence
        _user(db, "ops", "watchkeeper")
        custom = write_config(
            tmp_path,
            "services: []\n",
            readiness="  security: {default_credentials: ['admin:admin', 'ops:watchkeeper']}\n",
        )
        bad = await one(custom, NoDefaultCredentials)
    finally:
        db.dispose()
    assert bad.status is Status.FAIL
    assert "ops" in bad.evidence
    assert "set-password" in bad.remediation


async def test_anonymous_access_is_a_warning(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n", security="  anonymous_role: viewer\n")
    _state(tmp_path).dispose()
    result = await one(loaded, NoDefaultCredentials)
    assert result.status is Status.WARN
    assert "get the role viewer" in result.evidence


def _key() -> str:
    return base64.b64encode(generate_key()).decode()


async def test_a_configured_key_passes_and_no_key_fails(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n")
    missing = await one(loaded, SecretsEncrypted, env={})
    assert missing.status is Status.FAIL
    assert "no encryption key" in missing.evidence
    assert "generate-key" in missing.remediation
    present = await one(loaded, SecretsEncrypted, env={"WATCHKEEPER_SECRET_KEY": _key()})
    assert present.status is Status.PASS, present.evidence
    assert "key ring with 1 key(s)" in present.evidence


async def test_a_stored_secret_under_another_key_fails(tmp_path: Path) -> None:
    loaded = write_config(tmp_path, "services: []\n")
    db = _state(tmp_path)
    other = SecretBox(KeyRing.single(generate_key(), "old"))
    services = build_security(SecurityConfig(), clock=SystemClock(), box=other)
    try:
        assert services.secrets is not None
        with db.begin() as conn:
            services.secrets.put(conn, system_principal("test"), "slack.url", "https://hooks")
        result = await one(loaded, SecretsEncrypted, env={"WATCHKEEPER_SECRET_KEY": _key()})
    finally:
        db.dispose()
    assert result.status is Status.FAIL
    assert "1 stored secret(s) do not decrypt with it: slack.url" in result.evidence
