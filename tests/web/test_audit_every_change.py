"""Every change a person (or an API token) makes through the API or the dashboard leaves an
audit record, over the whole app: every state-changing route the app serves (method not
GET or HEAD, listed by ``route_guards``) is called as an admin's API token with a valid
request from :data:`EXAMPLES`, and the audit log must gain a record naming the token with
the route's action while the hash chain still verifies (``watchkeeper audit verify``).

Routes that change nothing a person owns (reads sent as POST, telemetry pushed by monitored
systems, samples peers replicate, logging in and out) are listed in :data:`NOT_AUDITED`
with the reason. A state-changing route in neither table fails the test: a new route needs
an example (or a reason) here."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from watchkeeper.alerting.config_ext import MaintenanceWindowConfig
from watchkeeper.alerting.silences import Silence
from watchkeeper.core.enums import AlertState
from watchkeeper.core.labels import Matcher
from watchkeeper.runtime.app import Runtime, RuntimeOptions
from watchkeeper.security.audit import AuditAction, AuditRecord
from watchkeeper.security.config import DEFAULT_KEY_ENV
from watchkeeper.security.crypto import KeyRing, format_keyring, generate_key
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.web.app import create_app
from watchkeeper.web.deps import route_guards

from .conftest import FULL_CONFIG, RULES, firing_alert

module_loop = pytest.mark.asyncio(loop_scope="module")
TOKEN_NAME = "audit admin"
ACTOR = f"token:{TOKEN_NAME}"
SETUP = system_principal("test setup")
READ_ONLY = frozenset({"GET", "HEAD"})
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class World:
    rt: Runtime
    client: httpx.AsyncClient

    def now(self) -> float:
        return self.rt.clock.now()

    def iso(self, seconds_from_now: float) -> str:
        return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).isoformat()

    def form_time(self, seconds_from_now: float) -> str:
        """A time as the dashboard forms take it (UTC, to the minute)."""
        return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M")

    async def fire(self) -> str:
        name = unique("Audited")
        await self.rt.alerts.put([firing_alert(name, "backend")])
        return next(a.fingerprint for a in self.rt.alerts.store if a.name == name)

    async def group(self) -> str:
        fp = await self.fire()
        return self.rt.alerts.dispatcher.groups_of(fp)[0].id

    async def acked(self) -> str:
        fp = await self.fire()
        await self.rt.alerts.actions.ack_alert(fp, by="test setup")
        return fp

    async def silence(self) -> str:
        now = self.now()
        matchers = (Matcher.equal("alertname", unique("Quiet")),)
        draft = Silence("", matchers, now, now + 3600, "test setup", "to expire")
        return (await self.rt.alerts.actions.set_silence(draft)).id

    async def window(self) -> str:
        config = MaintenanceWindowConfig.model_validate(
            {
                "name": unique("window"),
                "matchers": ['service="backend"'],
                "cron": "0 3 * * *",
                "duration": "1h",
            }
        )
        return (await self.rt.alerts.actions.create_maintenance(config, by="test setup")).id

    def override(self) -> str:
        now = self.now()
        return self.rt.alerts.actions.add_override(
            "primary", "bob", now, now + 3600, by="test setup"
        ).id

    def user(self) -> str:
        name = unique("user")
        with self.rt.db.begin() as conn:
            self.rt.security.users.create(conn, SETUP, name, "long enough password", Role.VIEWER)
        return name

    def token(self) -> int:
        with self.rt.db.begin() as conn:
            _, token = self.rt.security.tokens.create(conn, SETUP, unique("ci"), Role.VIEWER)
        return token.id

    def secret(self) -> str:
        name = f"receivers/{unique('hook')}"
        store = self.rt.security.secrets
        if store is None:
            raise AssertionError("the runtime has no encryption key")
        with self.rt.db.begin() as conn:
            store.put(conn, SETUP, name, "s3cret value")
        return name

    async def incident(self) -> str:
        """A resolved incident in the alert history (as the rules record one)."""
        labels = {"alertname": unique("Flaky"), "service": "backend", "severity": "warning"}
        now = self.now()
        self.rt.history.record_transition(labels, AlertState.FIRING, at=now - 600, value=1.0)
        self.rt.history.record_transition(labels, AlertState.RESOLVED, at=now - 60, value=0.0)
        self.rt.history.flush()
        found = await self.client.get(
            "/api/v1/alert-quality/incidents", params={"period": "1d", "rule": labels["alertname"]}
        )
        (item,) = found.json()["items"]
        return str(item["id"])

    async def labelled_incident(self) -> str:
        incident = await self.incident()
        put = await self.client.put(
            f"/api/v1/alert-quality/incidents/{incident}/label", json={"label": "noise"}
        )
        if put.status_code != 200:
            raise AssertionError(put.text)
        return incident

    async def readiness_idle(self) -> None:
        """One run at a time: wait for the one an earlier example started."""
        current = self.rt.readiness.current
        if current is not None:
            await asyncio.gather(current, return_exceptions=True)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: Any = None
    data: dict[str, str] | None = None


@dataclass(frozen=True)
class Example:
    action: AuditAction
    prepare: Callable[[World], Awaitable[Call]]
    marks: tuple[Any, ...] = field(default=())


def call(method: str, path: str, **kwargs: Any) -> Callable[[World], Awaitable[Call]]:
    async def prepare(_: World) -> Call:
        return Call(method, path, **kwargs)

    return prepare


async def _patch_user(w: World) -> Call:
    return Call("PATCH", f"/api/v1/users/{w.user()}", json={"role": "operator"})


async def _revoke_token(w: World) -> Call:
    return Call("DELETE", f"/api/v1/tokens/{w.token()}")


async def _delete_secret(w: World) -> Call:
    return Call("DELETE", f"/api/v1/secrets/{w.secret()}")


async def _am_silence(w: World) -> Call:
    body = {
        "matchers": [{"name": "alertname", "value": unique("AmQuiet"), "isRegex": False}],
        "startsAt": w.iso(0),
        "endsAt": w.iso(3600),
        "createdBy": "amtool",
        "comment": "deploy",
    }
    return Call("POST", "/alertmanager/api/v2/silences", json=body)


async def _am_expire(w: World) -> Call:
    return Call("DELETE", f"/alertmanager/api/v2/silence/{await w.silence()}")


async def _ack_group(w: World) -> Call:
    return Call("POST", f"/api/v1/alerts/groups/{await w.group()}/ack", json={"comment": "mine"})


async def _unack_group(w: World) -> Call:
    fp = await w.acked()
    gid = w.rt.alerts.dispatcher.groups_of(fp)[0].id
    return Call("POST", f"/api/v1/alerts/groups/{gid}/unack")


async def _ack_alert(w: World) -> Call:
    return Call("POST", f"/api/v1/alerts/{await w.fire()}/ack", json={"expires_in": "1h"})


async def _unack_alert(w: World) -> Call:
    return Call("POST", f"/api/v1/alerts/{await w.acked()}/unack")


async def _resolve_alert(w: World) -> Call:
    return Call("POST", f"/api/v1/alerts/{await w.fire()}/resolve")


async def _v1_silence(w: World) -> Call:
    body = {"matchers": [f'alertname="{unique("V1Quiet")}"'], "duration": "1h", "comment": "x"}
    return Call("POST", "/api/v1/silences", json=body)


async def _v1_expire(w: World) -> Call:
    return Call("DELETE", f"/api/v1/silences/{await w.silence()}")


async def _v1_window(w: World) -> Call:
    body = {
        "name": unique("nightly"),
        "matchers": ['service="backend"'],
        "cron": "0 3 * * *",
        "duration": "1h",
    }
    return Call("POST", "/api/v1/maintenance-windows", json=body)


async def _v1_delete_window(w: World) -> Call:
    return Call("DELETE", f"/api/v1/maintenance-windows/{await w.window()}")


async def _v1_override(w: World) -> Call:
    body = {"receiver": "bob", "ends_at": w.iso(3600), "comment": "swap"}
    return Call("POST", "/api/v1/oncall/primary/overrides", json=body)


async def _v1_remove_override(w: World) -> Call:
    return Call("DELETE", f"/api/v1/oncall/primary/overrides/{w.override()}")


async def _readiness_api(w: World) -> Call:
    await w.readiness_idle()
    return Call("POST", "/api/v1/readiness/runs", json={"only": ["custom"]})


async def _label(w: World) -> Call:
    incident = await w.incident()
    return Call(
        "PUT", f"/api/v1/alert-quality/incidents/{incident}/label", json={"label": "actionable"}
    )


async def _unlabel(w: World) -> Call:
    return Call("DELETE", f"/api/v1/alert-quality/incidents/{await w.labelled_incident()}/label")


async def _page_ack(w: World) -> Call:
    return Call("POST", f"/alerts/{await w.fire()}/ack", data={"comment": "on it"})


async def _page_unack(w: World) -> Call:
    return Call("POST", f"/alerts/{await w.acked()}/unack", data={})


async def _page_resolve(w: World) -> Call:
    return Call("POST", f"/alerts/{await w.fire()}/resolve", data={})


async def _page_silence(w: World) -> Call:
    data = {"matchers": f'alertname="{unique("PageQuiet")}"', "duration": "1h", "comment": "x"}
    return Call("POST", "/silences", data=data)


async def _page_expire(w: World) -> Call:
    return Call("POST", f"/silences/{await w.silence()}/expire", data={})


async def _page_window(w: World) -> Call:
    data = {
        "name": unique("upgrade"),
        "matchers": 'service="backend"',
        "ends_at": w.form_time(7200),
        "comment": "db upgrade",
    }
    return Call("POST", "/maintenance", data=data)


async def _page_delete_window(w: World) -> Call:
    return Call("POST", f"/maintenance/{await w.window()}/delete", data={})


async def _page_override(w: World) -> Call:
    data = {"rotation": "primary", "receiver": "bob", "ends_at": w.form_time(7200)}
    return Call("POST", "/oncall/overrides", data=data)


async def _page_remove_override(w: World) -> Call:
    return Call("POST", f"/oncall/primary/overrides/{w.override()}/delete", data={})


async def _page_label(w: World) -> Call:
    incident = await w.incident()
    return Call("POST", f"/quality/incidents/{incident}/label", data={"label": "noise"})


async def _page_change_user(w: World) -> Call:
    return Call("POST", f"/admin/users/{w.user()}", data={"role": "operator"})


async def _page_revoke_token(w: World) -> Call:
    return Call("POST", f"/admin/tokens/{w.token()}/revoke", data={})


async def _page_readiness(w: World) -> Call:
    await w.readiness_idle()
    return Call("POST", "/readiness/run", data={})


async def _new_user(w: World) -> Call:
    return Call("POST", "/api/v1/users", json={"username": unique("api-user"), "role": "viewer"})


async def _page_new_user(w: World) -> Call:
    return Call("POST", "/admin/users", data={"username": unique("page-user"), "role": "viewer"})


async def _new_token(w: World) -> Call:
    return Call("POST", "/api/v1/tokens", json={"name": unique("deploy"), "role": "viewer"})


async def _page_new_token(w: World) -> Call:
    return Call("POST", "/admin/tokens", data={"name": unique("deploy"), "role": "viewer"})


A = AuditAction
EXAMPLES: dict[tuple[str, str], Example] = {
    ("POST", "/-/reload"): Example(A.CONFIG_RELOAD, call("POST", "/-/reload")),
    ("POST", "/api/v1/users"): Example(A.USERS_CREATE, _new_user),
    ("PATCH", "/api/v1/users/{username}"): Example(A.USERS_ROLE, _patch_user),
    ("POST", "/api/v1/tokens"): Example(A.TOKENS_CREATE, _new_token),
    ("DELETE", "/api/v1/tokens/{token_id}"): Example(A.TOKENS_REVOKE, _revoke_token),
    ("PUT", "/api/v1/secrets/{name:path}"): Example(
        A.SECRETS_WRITE,
        call("PUT", "/api/v1/secrets/receivers/pagerduty", json={"value": "s3cret"}),
    ),
    ("DELETE", "/api/v1/secrets/{name:path}"): Example(A.SECRETS_DELETE, _delete_secret),
    ("POST", "/alertmanager/api/v2/alerts"): Example(
        A.ALERTS_CREATE,
        call(
            "POST",
            "/alertmanager/api/v2/alerts",
            json=[{"labels": {"alertname": "Posted", "service": "backend"}}],
        ),
    ),
    ("POST", "/alertmanager/api/v2/silences"): Example(A.SILENCES_CREATE, _am_silence),
    ("DELETE", "/alertmanager/api/v2/silence/{silence_id}"): Example(A.SILENCES_EXPIRE, _am_expire),
    ("POST", "/api/v1/alerts/groups/{group_id}/ack"): Example(A.ALERTS_ACK, _ack_group),
    ("POST", "/api/v1/alerts/groups/{group_id}/unack"): Example(A.ALERTS_UNACK, _unack_group),
    ("POST", "/api/v1/alerts/{fingerprint}/ack"): Example(A.ALERTS_ACK, _ack_alert),
    ("POST", "/api/v1/alerts/{fingerprint}/unack"): Example(A.ALERTS_UNACK, _unack_alert),
    ("POST", "/api/v1/alerts/{fingerprint}/resolve"): Example(A.ALERTS_RESOLVE, _resolve_alert),
    ("POST", "/api/v1/silences"): Example(A.SILENCES_CREATE, _v1_silence),
    ("DELETE", "/api/v1/silences/{silence_id}"): Example(A.SILENCES_EXPIRE, _v1_expire),
    ("POST", "/api/v1/maintenance-windows"): Example(A.MAINTENANCE_CREATE, _v1_window),
    ("DELETE", "/api/v1/maintenance-windows/{window_id}"): Example(
        A.MAINTENANCE_DELETE, _v1_delete_window
    ),
    ("POST", "/api/v1/oncall/{rotation}/overrides"): Example(
        A.ONCALL_OVERRIDES_CREATE, _v1_override
    ),
    ("DELETE", "/api/v1/oncall/{rotation}/overrides/{override_id}"): Example(
        A.ONCALL_OVERRIDES_DELETE, _v1_remove_override
    ),
    ("POST", "/api/v1/receivers/{name}/test"): Example(
        A.NOTIFICATIONS_TEST, call("POST", "/api/v1/receivers/hook/test")
    ),
    ("POST", "/api/v1/readiness/runs"): Example(A.READINESS_RUN, _readiness_api),
    ("PUT", "/api/v1/alert-quality/incidents/{incident_id}/label"): Example(A.ALERTS_LABEL, _label),
    ("DELETE", "/api/v1/alert-quality/incidents/{incident_id}/label"): Example(
        A.ALERTS_LABEL, _unlabel
    ),
    ("POST", "/api/v1/reports/digests/{kind}/send"): Example(
        A.NOTIFICATIONS_TEST,
        call("POST", "/api/v1/reports/digests/daily/send"),
    ),
    ("POST", "/alerts/{fingerprint}/ack"): Example(A.ALERTS_ACK, _page_ack),
    ("POST", "/alerts/{fingerprint}/unack"): Example(A.ALERTS_UNACK, _page_unack),
    ("POST", "/alerts/{fingerprint}/resolve"): Example(A.ALERTS_RESOLVE, _page_resolve),
    ("POST", "/silences"): Example(A.SILENCES_CREATE, _page_silence),
    ("POST", "/silences/{silence_id}/expire"): Example(A.SILENCES_EXPIRE, _page_expire),
    ("POST", "/maintenance"): Example(A.MAINTENANCE_CREATE, _page_window),
    ("POST", "/maintenance/{window_id}/delete"): Example(A.MAINTENANCE_DELETE, _page_delete_window),
    ("POST", "/oncall/overrides"): Example(A.ONCALL_OVERRIDES_CREATE, _page_override),
    ("POST", "/oncall/{rotation}/overrides/{override_id}/delete"): Example(
        A.ONCALL_OVERRIDES_DELETE, _page_remove_override
    ),
    ("POST", "/quality/incidents/{incident_id}/label"): Example(A.ALERTS_LABEL, _page_label),
    ("POST", "/admin/users"): Example(A.USERS_CREATE, _page_new_user),
    ("POST", "/admin/users/{username}"): Example(A.USERS_ROLE, _page_change_user),
    ("POST", "/admin/tokens"): Example(A.TOKENS_CREATE, _page_new_token),
    ("POST", "/admin/tokens/{token_id}/revoke"): Example(A.TOKENS_REVOKE, _page_revoke_token),
    ("POST", "/readiness/run"): Example(A.READINESS_RUN, _page_readiness),
}

QUERY = "a PromQL read sent as POST (long queries); it changes nothing"
TELEMETRY = "samples pushed by a monitored system: telemetry, not a person's change"
NOT_AUDITED: dict[tuple[str, str], str] = {
    **{
        ("POST", f"/prometheus/api/v1/{endpoint}"): QUERY
        for endpoint in (
            "query",
            "query_range",
            "series",
            "labels",
            "metadata",
            "rules",
            "alerts",
            "query_exemplars",
            "status/buildinfo",
            "label/{name}/values",
        )
    },
    ("POST", "/api/v1/silences/preview"): "shows what a silence would mute; it changes nothing",
    ("POST", "/prometheus/api/v1/write"): TELEMETRY,
    ("POST", "/prometheus/api/v1/import/prometheus"): TELEMETRY,
    **{
        ("POST", path): "a monitored job's heartbeat ping, authenticated by the token in its URL"
        for path in (
            "/api/v1/heartbeat/{token}",
            "/api/v1/heartbeat/{token}/fail",
            "/api/v1/heartbeat/{token}/start",
        )
    },
    ("POST", "/api/v1/cluster/samples"): "samples a peer instance replicates; no person acts",
    ("POST", "/login"): "authentication itself (audited by the security package)",
    ("POST", "/logout"): "authentication itself (audited by the security package)",
}


def file_runtime(tmp: Path) -> Runtime:
    """The full test stack, started from a config file (so that /-/reload can re-read it),
    with an encryption key (so that secrets can be stored)."""
    rules = tmp / "rules.yml"
    rules.write_text(RULES, encoding="utf-8")
    config = tmp / "watchkeeper.yml"
    config.write_text(FULL_CONFIG.format(data=tmp / "data", rules=rules), encoding="utf-8")
    env = {DEFAULT_KEY_ENV: format_keyring(KeyRing.single(generate_key()))}
    return Runtime.from_config(config, RuntimeOptions(env=env))


def state_changing(app: Any) -> set[tuple[str, str]]:
    return {
        (method, guard.path) for guard in route_guards(app) for method in guard.methods - READ_ONLY
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    rt = file_runtime(tmp_path_factory.mktemp("audit"))
    await rt.start()
    with rt.db.begin() as conn:
        token, _ = rt.security.tokens.create(conn, SETUP, TOKEN_NAME, Role.ADMIN)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(rt)),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        yield World(rt, client)
    finally:
        await client.aclose()
        current = rt.readiness.current
        if current is not None:
            await asyncio.gather(current, return_exceptions=True)
        await rt.stop()


def audit_tail(rt: Runtime, after_seq: int) -> list[AuditRecord]:
    with rt.db.connect() as conn:
        return rt.security.audit.list(conn, after_seq=after_seq, limit=1000)


def last_seq(rt: Runtime) -> int:
    with rt.db.connect() as conn:
        newest = rt.security.audit.list(conn, newest_first=True, limit=1)
    return newest[0].seq if newest else 0


@module_loop
async def test_every_state_changing_route_has_an_example_or_a_reason(world: World) -> None:
    served = state_changing(world.client._transport.app)  # type: ignore[attr-defined]
    problems = [
        f"add an example for {method} {path} to EXAMPLES in {Path(__file__).name} (or say in "
        "NOT_AUDITED why it changes nothing a person owns)"
        for method, path in sorted(served - EXAMPLES.keys() - NOT_AUDITED.keys())
    ]
    problems += [
        f"{method} {path} is listed but the app serves no such route; remove it"
        for method, path in sorted((EXAMPLES.keys() | NOT_AUDITED.keys()) - served)
    ]
    problems += [
        f"{method} {path} has an example and a reason not to audit it; keep one"
        for method, path in sorted(EXAMPLES.keys() & NOT_AUDITED.keys())
    ]
    assert not problems, "\n".join(problems)


@module_loop
@pytest.mark.parametrize(
    "route",
    [
        pytest.param(key, id=f"{key[0]} {key[1]}", marks=example.marks)
        for key, example in EXAMPLES.items()
    ],
)
async def test_a_change_through_the_route_is_audited_under_the_caller(
    world: World, route: tuple[str, str]
) -> None:
    example = EXAMPLES[route]
    request = await example.prepare(world)
    before = last_seq(world.rt)
    response = await world.client.request(
        request.method, request.path, json=request.json, data=request.data
    )
    assert response.status_code in (200, 201, 202, 204, 303), response.text[:500]
    if response.status_code == 303:
        assert "error" not in response.headers.get("location", "")
    records = audit_tail(world.rt, before)
    mine = [r for r in records if r.action == example.action.value]
    assert mine, (
        f"{request.method} {request.path} wrote no {example.action.value} record; got "
        f"{[(r.action, r.actor) for r in records]}"
    )
    assert {(r.actor, r.actor_kind, r.remote_addr) for r in mine} == {(ACTOR, "token", "127.0.0.1")}
    with world.rt.db.connect() as conn:
        verdict = world.rt.security.audit.verify(conn)
    assert verdict.ok, verdict.problem
