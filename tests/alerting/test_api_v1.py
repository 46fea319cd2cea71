"""Watchkeeper's own alerting API: alerts (list, filter, page, ack, unack, resolve,
history), silences (preview, force), maintenance windows, escalation policies, on-call."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from watchkeeper.core.clock import FakeClock, rfc3339
from watchkeeper.core.enums import NotificationEvent as Ev

from .support import OPERATOR_TOKEN, VIEWER_TOKEN, RecordingOutbox, alert, build_app

CONFIG = """
services:
  - name: database
  - name: backend
    depends_on: [database]
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
    escalation_policy: standard
  receivers:
    - name: ops
    - name: alice
    - name: bob
    - name: carol
  escalation_policies:
    - name: standard
      levels:
        - receivers: [ops]
        - receivers: [primary]
          after: 15m
  oncall_rotations:
    - name: primary
      members: [alice, bob]
      handoff: daily
      start: 2023-11-14T09:00:00
"""


@pytest.fixture
async def api(make_manager, fake_clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    manager = make_manager(CONFIG)
    await manager.start()
    t0 = fake_clock.now()
    await manager.put(
        [
            alert("DbDown", starts_at=t0, ends_at=t0 + 86400, service="database"),
            alert("ApiErrors", starts_at=t0, ends_at=t0 + 86400, service="backend"),
            alert("Old", starts_at=t0 - 600, ends_at=t0 - 60, service="backend"),
        ]
    )
    await fake_clock.advance(0)
    transport = httpx.ASGITransport(app=build_app(manager))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    ) as client:
        client.manager = manager  # type: ignore[attr-defined]
        yield client


async def fingerprint(api: httpx.AsyncClient, name: str) -> str:
    data = (await api.get("/api/v1/alerts", params={"filter": f"alertname={name}"})).json()
    return str(data["data"][0]["fingerprint"])


async def test_alerts_list_filters_and_pages(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/alerts")
    body = r.json()
    assert body["total"] == 2
    assert {a["labels"]["alertname"] for a in body["data"]} == {"DbDown", "ApiErrors"}
    api_errors = next(a for a in body["data"] if a["labels"]["alertname"] == "ApiErrors")
    assert api_errors["state"] == "suppressed"
    assert api_errors["suppressed_by"]
    r = await api.get("/api/v1/alerts", params={"service": "backend", "status": "all"})
    # a resolved alert is cleared once its group has been flushed; the history keeps it
    assert [a["labels"]["alertname"] for a in r.json()["data"]] == ["ApiErrors"]
    old = (await api.get("/api/v1/alerts/history", params={"event": "resolved"})).json()
    assert [e["labels"]["alertname"] for e in old["data"]] == ["Old"]
    r = await api.get("/api/v1/alerts", params={"state": "active"})
    assert [a["labels"]["alertname"] for a in r.json()["data"]] == ["DbDown"]
    page = (await api.get("/api/v1/alerts", params={"limit": 1, "offset": 1})).json()
    assert (page["total"], len(page["data"]), page["offset"]) == (2, 1, 1)
    r = await api.get("/api/v1/alerts", params={"limit": 0})
    assert r.status_code == 422


async def test_ack_unack_and_resolve_record_who_and_when(
    api: httpx.AsyncClient, fake_clock: FakeClock, outbox: RecordingOutbox
) -> None:
    fp = await fingerprint(api, "DbDown")
    r = await api.post(f"/api/v1/alerts/{fp}/ack", json={"comment": "on it", "expires_in": "2h"})
    assert r.status_code == 200
    (ack,) = r.json()["data"]
    assert ack["acknowledged_by"] == "operator-test"
    assert ack["expires_at"] == rfc3339(fake_clock.now() + 7200)
    alert = (await api.get(f"/api/v1/alerts/{fp}")).json()
    assert alert["acknowledged"] is True
    group = (await api.get(f"/api/v1/alerts/groups/{ack['group_id']}")).json()
    assert group["acknowledgement"]["comment"] == "on it"
    r = await api.post(f"/api/v1/alerts/{fp}/unack")
    assert r.status_code == 200
    r = await api.post(f"/api/v1/alerts/{fp}/unack")
    assert (r.status_code, r.json()["detail"]) == (404, f"alert {fp} is not acknowledged")
    r = await api.post(f"/api/v1/alerts/{fp}/resolve")
    assert r.json()["status"] == "resolved"
    assert r.json()["resolved_by"] == "operator-test"
    await fake_clock.advance(0)
    events = [e["event"] for e in (await api.get(f"/api/v1/alerts/{fp}/history")).json()["data"]]
    assert events[:4] == ["resolved", "resolved_by_hand", "unacknowledged", "acknowledged"]
    assert Ev.ACKNOWLEDGED in [e for _, e, _ in outbox.events()]


async def test_history_pages_newest_first(api: httpx.AsyncClient) -> None:
    first = (await api.get("/api/v1/alerts/history", params={"limit": 2})).json()
    assert len(first["data"]) == 2
    older = (
        await api.get("/api/v1/alerts/history", params={"before_id": first["next_before_id"]})
    ).json()
    ids = [e["id"] for e in first["data"] + older["data"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids))
    notified = (await api.get("/api/v1/alerts/history", params={"event": "notified"})).json()
    assert notified["data"]
    assert all(e["detail"]["receiver"] == "ops" for e in notified["data"])


async def test_unknown_things_are_clear_404s(api: httpx.AsyncClient) -> None:
    r = await api.get("/api/v1/alerts/deadbeef")
    assert r.status_code == 404
    assert "alert deadbeef not found" in r.json()["detail"]
    r = await api.post("/api/v1/alerts/groups/nope/ack")
    assert r.status_code == 404
    r = await api.get("/api/v1/escalation-policies/nope")
    assert r.json()["detail"] == "unknown escalation policy 'nope'; policies: standard"


async def test_silence_preview_force_and_expiry(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/v1/silences/preview", json={"matchers": ['service=~"back.*"']})
    preview = r.json()
    assert (preview["count"], preview["matches_every_alert"]) == (1, False)
    assert preview["alerts"][0]["labels"]["alertname"] == "ApiErrors"
    body = {"matchers": ['alertname=~".+"'], "duration": "1h", "comment": "all quiet"}
    r = await api.post("/api/v1/silences", json=body)
    assert r.status_code == 400
    assert "matches every alert" in r.json()["detail"]
    r = await api.post("/api/v1/silences", json={**body, "force": True})
    assert r.status_code == 201
    silence = r.json()
    assert silence["createdBy"] == "operator-test"
    assert silence["matchers_text"] == '{alertname=~".+"}'
    assert len(silence["muting"]) == 2
    r = await api.delete(f"/api/v1/silences/{silence['id']}")
    assert r.json()["status"]["state"] == "expired"
    r = await api.post(
        "/api/v1/silences", json={"matchers": ["bad"], "duration": "1h", "comment": "x"}
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("matchers: bad matcher 'bad'")
    r = await api.post("/api/v1/silences", json={"matchers": ["a=b"], "comment": "x"})
    assert r.json()["detail"] == "give ends_at or duration (e.g. 2h) to say when it ends"


async def test_maintenance_windows_through_the_api(
    api: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    now = fake_clock.now()
    r = await api.post(
        "/api/v1/maintenance-windows",
        json={
            "name": "deploy",
            "matchers": ['service="backend"'],
            "starts_at": rfc3339(now),
            "ends_at": rfc3339(now + 3600),
        },
    )
    assert r.status_code == 201
    window = r.json()
    assert (window["kind"], window["created_by"]) == ("one_off", "operator-test")
    await fake_clock.advance(0)
    assert (await api.get(f"/api/v1/maintenance-windows/{window['id']}")).json()["active"]
    r = await api.post(
        "/api/v1/maintenance-windows", json={"name": "x", "matchers": ['a="b"'], "cron": "nope"}
    )
    assert r.status_code == 400
    assert "invalid cron expression 'nope'" in r.json()["detail"]
    r = await api.delete(f"/api/v1/maintenance-windows/{window['id']}")
    assert r.json() == {"deleted": window["id"], "name": "deploy"}


async def test_silence_and_maintenance_window_lists_are_paged_and_filtered(
    api: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    now = fake_clock.now()
    for name in ("A", "B", "C"):
        body = {"matchers": [f'alertname="{name}"'], "duration": "1h", "comment": name}
        assert (await api.post("/api/v1/silences", json=body)).status_code == 201
    later = {
        "matchers": ['alertname="Later"'],
        "starts_at": rfc3339(now + 600),
        "duration": "1h",
        "comment": "later",
    }
    assert (await api.post("/api/v1/silences", json=later)).status_code == 201
    page = (await api.get("/api/v1/silences", params={"limit": 2, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (4, 2, 1, 2)
    assert page["data"] == page["items"]  # the earlier key, for earlier clients
    pending = (await api.get("/api/v1/silences", params={"state": "pending"})).json()
    assert [s["comment"] for s in pending["items"]] == ["later"]
    filtered = (await api.get("/api/v1/silences", params={"filter": 'alertname="B"'})).json()
    assert [s["comment"] for s in filtered["items"]] == ["B"]

    for name, start in (("now", now), ("tomorrow", now + 86400)):
        window = {
            "name": name,
            "matchers": ['service="backend"'],
            "starts_at": rfc3339(start),
            "ends_at": rfc3339(start + 3600),
        }
        assert (await api.post("/api/v1/maintenance-windows", json=window)).status_code == 201
    await fake_clock.advance(0)
    windows = (await api.get("/api/v1/maintenance-windows", params={"limit": 1})).json()
    assert (windows["total"], len(windows["items"]), windows["data"]) == (
        2,
        1,
        windows["items"],
    )
    active = (await api.get("/api/v1/maintenance-windows", params={"active": "true"})).json()
    assert [w["name"] for w in active["items"]] == ["now"]
    configured = await api.get("/api/v1/maintenance-windows", params={"source": "config"})
    assert configured.json()["total"] == 0
    for path in ("/api/v1/silences", "/api/v1/maintenance-windows"):
        for params in ({"offset": 2**63}, {"offset": -1}, {"limit": 0}, {"limit": 1001}):
            assert (await api.get(path, params=params)).status_code == 422, (path, params)


async def test_escalation_policies_show_running_escalations(api: httpx.AsyncClient) -> None:
    policies = (await api.get("/api/v1/escalation-policies")).json()["data"]
    assert [p["name"] for p in policies] == ["standard"]
    running = policies[0]["escalations"]
    assert running
    assert running[0]["status"] == "running"
    assert running[0]["next_level"] == 2


async def test_oncall_resolves_the_person_and_takes_overrides(
    api: httpx.AsyncClient, fake_clock: FakeClock, outbox: RecordingOutbox
) -> None:
    rot = (await api.get("/api/v1/oncall/primary")).json()
    assert rot["on_call"]["receiver"] == "alice"  # 2023-11-14 22:13, first shift
    assert [s["receiver"] for s in rot["upcoming"]] == ["bob", "alice", "bob", "alice"]
    now = fake_clock.now()
    r = await api.post(
        "/api/v1/oncall/primary/overrides",
        json={"receiver": "carol", "ends_at": rfc3339(now + 7200), "comment": "swap"},
    )
    assert r.status_code == 201
    override = r.json()
    assert (await api.get("/api/v1/oncall/primary")).json()["on_call"]["receiver"] == "carol"
    await fake_clock.advance(900)  # level 2 of the escalation names the rotation
    escalated = [(r, m) for r, m in outbox.messages if m.event is Ev.ESCALATED]
    assert [r for r, _ in escalated] == ["carol"]  # ApiErrors is suppressed: no escalation
    assert escalated[0][1].extra["oncall_rotation"] == "primary"
    r = await api.post(
        "/api/v1/oncall/primary/overrides",
        json={"receiver": "mallory", "ends_at": rfc3339(now + 60)},
    )
    assert r.status_code == 400
    assert "unknown receiver 'mallory'" in r.json()["detail"]
    r = await api.delete(f"/api/v1/oncall/primary/overrides/{override['id']}")
    assert r.status_code == 200
    r = await api.get("/api/v1/oncall/nobody")
    assert r.status_code == 404


async def test_a_viewer_reads_but_cannot_change(api: httpx.AsyncClient) -> None:
    viewer = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    assert (await api.get("/api/v1/alerts", headers=viewer)).status_code == 200
    fp = await fingerprint(api, "DbDown")
    assert (await api.post(f"/api/v1/alerts/{fp}/ack", headers=viewer)).status_code == 403
    r = await api.post(
        "/api/v1/maintenance-windows", json={"name": "x", "matchers": ['a="b"']}, headers=viewer
    )
    assert r.status_code == 403
