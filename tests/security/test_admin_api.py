"""The admin JSON API: users, tokens, stored secrets and the audit log, with the caller's
permissions checked and secrets never coming back out."""

from __future__ import annotations

import csv
import io
import json

import pytest
from starlette.testclient import TestClient

from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import Principal
from watchkeeper.security.setup import SecurityServices
from watchkeeper.state.db import Database

# Web behaviour that does not depend on the database engine runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("state_db", ["sqlite"], indirect=True)


def bearer(sec: SecurityServices, db: Database, actor: Principal, role: Role) -> dict[str, str]:
    with db.begin() as conn:
        plaintext, _ = sec.tokens.create(conn, actor, f"api-{role}", role)
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def admin(sec: SecurityServices, state_db: Database, admin_actor: Principal) -> dict[str, str]:
    return bearer(sec, state_db, admin_actor, Role.ADMIN)


@pytest.fixture
def viewer(sec: SecurityServices, state_db: Database, admin_actor: Principal) -> dict[str, str]:
    return bearer(sec, state_db, admin_actor, Role.VIEWER)


def test_admin_creates_a_user_with_a_generated_password_shown_once(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/users", json={"username": "bob", "role": "operator"}, headers=admin
    )
    assert created.status_code == 201
    body = created.json()
    assert body["user"]["role"] == "operator"
    assert len(body["password"]) >= 20
    listed = client.get("/api/v1/users", headers=admin).json()["users"]
    assert [u["username"] for u in listed] == ["bob"]
    assert "password" not in json.dumps(listed)
    assert "argon2" not in json.dumps(listed)


def test_admin_changes_role_and_disables_a_user(client: TestClient, admin: dict[str, str]) -> None:
    client.post(
        "/api/v1/users", json={"username": "bob", "password": "long enough pw"}, headers=admin
    )
    changed = client.patch(
        "/api/v1/users/bob", json={"role": "operator", "disabled": True}, headers=admin
    )
    assert changed.status_code == 200
    assert changed.json()["user"] == {
        **changed.json()["user"],
        "role": "operator",
        "disabled": True,
    }
    missing = client.patch("/api/v1/users/nobody", json={"role": "viewer"}, headers=admin)
    assert missing.status_code == 404
    assert "no user named 'nobody'" in missing.json()["detail"]


@SQLITE_ONLY
def test_user_api_errors_are_4xx_with_a_message_and_never_echo_the_password(
    client: TestClient, admin: dict[str, str]
) -> None:
    short = client.post(
        "/api/v1/users", json={"username": "bob", "password": "short"}, headers=admin
    )
    assert short.status_code == 400
    assert "too short" in short.json()["detail"]
    malformed = client.post(
        "/api/v1/users",
        json={"username": "bob", "password": "s3cret-value-123", "colour": "red"},
        headers=admin,
    )
    assert malformed.status_code == 422
    assert "s3cret-value-123" not in malformed.text
    assert malformed.json()["detail"][0]["loc"] == ["body", "colour"]
    bad_role = client.post("/api/v1/users", json={"username": "bob", "role": "root"}, headers=admin)
    assert bad_role.status_code == 422


@SQLITE_ONLY
def test_viewer_cannot_manage_users_tokens_secrets_or_read_the_audit(
    client: TestClient, viewer: dict[str, str]
) -> None:
    for method, path in [
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/1"),
        ("GET", "/api/v1/secrets"),
        ("PUT", "/api/v1/secrets/x"),
        ("GET", "/api/v1/audit"),
        ("GET", "/api/v1/audit/export"),
        ("GET", "/api/v1/audit/verify"),
    ]:
        response = client.request(method, path, headers=viewer, json={})
        assert response.status_code == 403, (method, path)
        assert "is required; your role is viewer" in response.json()["detail"]


def test_token_is_returned_once_listed_without_its_value_and_revocable(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/tokens",
        json={
            "name": "ingest",
            "role": "admin",
            "scopes": ["metrics:write"],
            "expires_in": "90d",
        },
        headers=admin,
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert created.json()["scopes"] == ["metrics:write"]
    assert created.json()["expires"] == "2024-02-12T22:13:20.000Z"
    listed = client.get("/api/v1/tokens", headers=admin).json()["tokens"]
    assert token not in json.dumps(listed)
    ingest = {"Authorization": f"Bearer {token}"}
    assert client.post("/sample/metrics:write", headers=ingest).status_code == 200
    token_id = created.json()["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=admin).json()["status"] == "revoked"
    assert client.post("/sample/metrics:write", headers=ingest).status_code == 401


@SQLITE_ONLY
def test_token_api_refuses_unknown_scopes_and_bad_durations(
    client: TestClient, admin: dict[str, str]
) -> None:
    unknown = client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "admin", "scopes": ["metrics:wrte"]},
        headers=admin,
    )
    assert unknown.status_code == 400
    assert "unknown permission 'metrics:wrte'" in unknown.json()["detail"]
    beyond = client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "viewer", "scopes": ["users:write"]},
        headers=admin,
    )
    assert beyond.status_code == 400
    duration = client.post(
        "/api/v1/tokens",
        json={"name": "x", "role": "viewer", "expires_in": "soon"},
        headers=admin,
    )
    assert duration.status_code == 422
    assert "invalid duration" in duration.text


def test_secrets_api_stores_values_and_never_returns_them(
    client: TestClient, admin: dict[str, str]
) -> None:
    put = client.put(
        "/api/v1/secrets/receivers/pagerduty",
        json={"value": "R0UTING-KEY-abc", "description": "PagerDuty routing key"},
        headers=admin,
    )
    assert put.status_code == 200
    assert put.json()["name"] == "receivers/pagerduty"
    listed = client.get("/api/v1/secrets", headers=admin)
    audit = client.get("/api/v1/audit", headers=admin)
    for response in (put, listed, audit):
        assert "R0UTING-KEY-abc" not in response.text
    assert [s["name"] for s in listed.json()["secrets"]] == ["receivers/pagerduty"]
    assert client.delete("/api/v1/secrets/receivers/pagerduty", headers=admin).status_code == 204
    assert client.delete("/api/v1/secrets/receivers/pagerduty", headers=admin).status_code == 404


def test_audit_api_lists_newest_first_verifies_and_exports(
    client: TestClient, admin: dict[str, str]
) -> None:
    for name in ("u1-user", "u2-user", "u3-user"):
        client.post("/api/v1/users", json={"username": name}, headers=admin)
    page = client.get("/api/v1/audit", params={"limit": 2}, headers=admin).json()
    assert [r["target"] for r in page["records"]] == ["user:u3-user", "user:u2-user"]
    assert page["records"][0]["actor"] == "token:api-admin"
    assert page["records"][0]["remote_addr"] == "testclient"
    older = client.get(
        "/api/v1/audit", params={"before_seq": page["next_before_seq"]}, headers=admin
    ).json()
    assert [r["action"] for r in older["records"]] == ["users:create", "tokens:create"]
    assert client.get("/api/v1/audit/verify", headers=admin).json() == {
        "ok": True,
        "checked": 4,
        "broken_seq": None,
        "problem": "",
    }
    jsonl = client.get("/api/v1/audit/export", headers=admin)
    assert jsonl.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line)["seq"] for line in jsonl.text.splitlines()] == [1, 2, 3, 4]
    exported = client.get("/api/v1/audit/export", params={"format": "csv"}, headers=admin)
    assert 'filename="audit.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"]
    assert (
        client.get("/api/v1/audit/export", params={"format": "xml"}, headers=admin).status_code
        == 422
    )


@SQLITE_ONLY
def test_users_tokens_and_secrets_lists_are_paged_and_filtered(
    client: TestClient, admin: dict[str, str]
) -> None:
    for name, role in (("bob", "viewer"), ("carol", "operator"), ("dave", "viewer")):
        client.post("/api/v1/users", json={"username": name, "role": role}, headers=admin)
    client.patch("/api/v1/users/dave", json={"disabled": True}, headers=admin)

    def names(path: str, key: str, **params: object) -> tuple[list[str], dict[str, object]]:
        body = client.get(path, params=params, headers=admin).json()
        assert body[key] == body["items"]  # the earlier key, for earlier clients
        field = "username" if key == "users" else "name"
        return [i[field] for i in body["items"]], {k: body[k] for k in ("total", "limit", "offset")}

    assert names("/api/v1/users", "users", limit=2) == (
        ["bob", "carol"],
        {"total": 3, "limit": 2, "offset": 0},
    )
    assert names("/api/v1/users", "users", limit=2, offset=2)[0] == ["dave"]
    assert names("/api/v1/users", "users", role="operator")[0] == ["carol"]
    assert names("/api/v1/users", "users", disabled="true")[0] == ["dave"]

    for name in ("deploy", "ci"):
        client.post("/api/v1/tokens", json={"name": name, "role": "viewer"}, headers=admin)
    listed = client.get("/api/v1/tokens", headers=admin).json()["items"]
    ci = next(t["id"] for t in listed if t["name"] == "ci")
    client.delete(f"/api/v1/tokens/{ci}", headers=admin)
    assert names("/api/v1/tokens", "tokens")[1]["total"] == 3
    assert names("/api/v1/tokens", "tokens", status="revoked")[0] == ["ci"]
    assert names("/api/v1/tokens", "tokens", role="viewer", status="active")[0] == ["deploy"]
    assert names("/api/v1/tokens", "tokens", limit=1, offset=1)[0] == ["deploy"]

    for name in ("receivers/pagerduty", "receivers/slack", "github/token"):
        client.put(f"/api/v1/secrets/{name}", json={"value": "x"}, headers=admin)
    assert names("/api/v1/secrets", "secrets", prefix="receivers/") == (
        ["receivers/pagerduty", "receivers/slack"],
        {"total": 2, "limit": 100, "offset": 0},
    )
    assert names("/api/v1/secrets", "secrets", limit=1, offset=1)[0] == ["receivers/pagerduty"]

    for path in ("/api/v1/users", "/api/v1/tokens", "/api/v1/secrets"):
        for params in ({"offset": 2**63}, {"offset": -1}, {"limit": 0}, {"limit": 1001}):
            assert client.get(path, params=params, headers=admin).status_code == 422, (
                path,
                params,
            )
        assert client.get(path, params={"offset": 2**63 - 1}, headers=admin).json()["items"] == []
