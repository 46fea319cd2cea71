"""Admin pages on a started runtime: users, roles and API tokens (shown once), changed
through the security package's stores so that the audit log records them; the audit log
with its filters, chain check and export; and nothing of it for other roles."""

from __future__ import annotations

import re

import httpx
import pytest

from watchkeeper.security.audit import AuditAction

from .conftest import Stack

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_admin_creates_a_user_whose_generated_password_is_shown_once(stack: Stack) -> None:
    rt = stack.rt
    client = stack["admin"]
    created = await client.post("/admin/users", data={"username": "carol", "role": "operator"})
    assert created.status_code == 201
    password = re.search(r'data-secret="password">([^<]+)<', created.text)
    assert password is not None
    with rt.db.begin() as conn:
        user = rt.security.users.authenticate(conn, "carol", password.group(1))
    assert user is not None
    assert user.role.value == "operator"
    again = await client.get("/admin")
    assert password.group(1) not in again.text
    assert 'data-user="carol"' in again.text
    with rt.db.connect() as conn:
        records = rt.security.audit.list(conn, action=AuditAction.USERS_CREATE.value)
    assert any(r.target == "user:carol" and r.actor == "token:admin token" for r in records)
    taken = await client.post("/admin/users", data={"username": "carol", "role": "viewer"})
    assert taken.status_code == 409
    assert "already exists" in taken.text


async def test_admin_changes_a_role_and_disables_a_user(stack: Stack) -> None:
    rt = stack.rt
    client = stack["admin"]
    await client.post("/admin/users", data={"username": "dave", "password": "a long password 1"})
    changed = await client.post("/admin/users/dave", data={"role": "operator"})
    assert changed.status_code == 303
    disabled = await client.post("/admin/users/dave", data={"disabled": "true"})
    assert disabled.status_code == 303
    with rt.db.connect() as conn:
        dave = rt.security.users.get(conn, "dave")
    assert dave.role.value == "operator"
    assert dave.disabled
    bad = await client.post("/admin/users/dave", data={"role": "emperor"})
    assert bad.status_code == 400
    assert "unknown role" in bad.text
    await client.post("/admin/users", data={"username": "erin", "role": "admin"})
    last_admin = await client.post("/admin/users/erin", data={"disabled": "true"})
    assert last_admin.status_code == 409
    assert 'class="flash error"' in last_admin.text


async def test_admin_creates_a_token_shown_once_that_works_until_revoked(stack: Stack) -> None:
    rt = stack.rt
    client = stack["admin"]
    created = await client.post(
        "/admin/tokens", data={"name": "grafana", "role": "viewer", "expires_in": "90d"}
    )
    assert created.status_code == 201
    match = re.search(r'data-secret="token">(wk_[^<]+)<', created.text)
    assert match is not None
    token = match.group(1)
    transport = httpx.ASGITransport(app=client._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as grafana:
        headers = {"Authorization": f"Bearer {token}"}
        assert (await grafana.get("/api/v1/services", headers=headers)).status_code == 200
        listed = await client.get("/admin")
        assert token not in listed.text
        with rt.db.connect() as conn:
            made = next(t for t in rt.security.tokens.list(conn) if t.name == "grafana")
        revoked = await client.post(f"/admin/tokens/{made.id}/revoke", data={})
        assert revoked.status_code == 303
        assert (await grafana.get("/api/v1/services", headers=headers)).status_code == 401
    bad = await client.post("/admin/tokens", data={"name": "x", "role": "viewer", "scopes": "x:y"})
    assert bad.status_code == 400
    assert "unknown permission" in bad.text


async def test_operators_cannot_open_admin_pages(stack: Stack) -> None:
    assert (await stack["operator"].get("/admin")).status_code == 403
    assert (await stack["operator"].get("/admin/audit")).status_code == 403
    refused = await stack["operator"].post("/admin/users", data={"username": "eve"})
    assert refused.status_code == 403


async def test_audit_page_lists_filters_and_verifies_the_chain(stack: Stack) -> None:
    client = stack["admin"]
    await client.post("/admin/tokens", data={"name": "audited", "role": "viewer"})
    page = await client.get("/admin/audit", params={"action": "tokens:create"})
    assert page.status_code == 200
    assert "tokens:create" in page.text
    assert "users:create" not in page.text.split('<table id="audit">')[1]
    verified = await client.get("/admin/audit", params={"verify": "true"})
    assert 'data-verified="ok"' in verified.text
    export = await client.get("/api/v1/audit/export", params={"format": "csv"})
    assert export.status_code == 200
    assert "tokens:create" in export.text


async def test_admin_page_lists_what_each_role_may_do(stack: Stack) -> None:
    page = await stack["admin"].get("/admin")
    roles = page.text.split('<table id="roles-table">')[1].split("</table>")[0]
    viewer = roles.split('data-role="viewer"')[1].split("</tr>")[0]
    operator = roles.split('data-role="operator"')[1].split("</tr>")[0]
    assert "alerts:read" in viewer
    assert "alerts:write" not in viewer
    assert "alerts:write" in operator
    assert "users:write" not in operator
