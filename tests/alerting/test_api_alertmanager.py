"""The Alertmanager v2 API: Alertmanager's JSON shapes, its query parameters, clear 4xx
for client mistakes, and the permission each route requires."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import yaml

from watchkeeper.core.clock import FakeClock, rfc3339

from .support import OPERATOR_TOKEN, VIEWER_TOKEN, RecordingOutbox, build_app

CONFIG = """
alerting:
  route:
    receiver: ops
    group_by: [alertname]
    group_wait: 0s
    escalation_policy: standard
    routes:
      - matchers: ['severity="critical"']
        receiver: pager
        continue: true
  receivers:
    - name: ops
      webhook_configs:
        - url: http://127.0.0.1:9/secret-token-in-url
    - name: pager
  escalation_policies:
    - name: standard
      levels:
        - receivers: [pager]
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity="warning"']
      equal: [service]
"""

AM = "/alertmanager/api/v2"


@pytest.fixture
async def client(make_manager, fake_clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    manager = make_manager(CONFIG)
    await manager.start()
    transport = httpx.ASGITransport(app=build_app(manager))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    ) as c:
        c.manager = manager  # type: ignore[attr-defined]
        yield c


def posted(name: str, **labels: str) -> dict[str, object]:
    return {"labels": {"alertname": name, **labels}, "annotations": {"summary": name}}


async def test_posted_alerts_come_back_in_alertmanagers_shape(
    client: httpx.AsyncClient, fake_clock: FakeClock, outbox: RecordingOutbox
) -> None:
    r = await client.post(f"{AM}/alerts", json=[posted("Down", severity="critical", service="x")])
    assert r.status_code == 200
    r = await client.get(f"{AM}/alerts")
    assert r.status_code == 200
    (got,) = r.json()
    assert set(got) == {
        "annotations",
        "endsAt",
        "fingerprint",
        "receivers",
        "startsAt",
        "status",
        "updatedAt",
        "generatorURL",
        "labels",
    }
    assert got["labels"] == {"alertname": "Down", "severity": "critical", "service": "x"}
    assert got["receivers"] == [{"name": "pager"}]
    assert got["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
    assert got["startsAt"] == rfc3339(fake_clock.now())
    assert got["endsAt"] == rfc3339(fake_clock.now() + 300)  # resolve_timeout
    await fake_clock.advance(0)
    assert [r for r, _ in outbox.messages] == ["pager"]


async def test_alert_queries_filter_like_alertmanager(
    client: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    await client.post(
        f"{AM}/alerts",
        json=[
            posted("Down", severity="critical", service="x"),
            posted("Slow", severity="warning", service="x"),
            posted("Slow", severity="warning", service="y"),
        ],
    )
    names = lambda r: sorted(  # noqa: E731
        (a["labels"]["alertname"], a["labels"]["service"]) for a in r.json()
    )
    r = await client.get(f"{AM}/alerts", params={"filter": 'alertname="Slow"'})
    assert names(r) == [("Slow", "x"), ("Slow", "y")]
    r = await client.get(f"{AM}/alerts", params={"inhibited": "false"})
    assert names(r) == [("Down", "x"), ("Slow", "y")]
    r = await client.get(f"{AM}/alerts", params={"receiver": "pag.*"})
    assert names(r) == [("Down", "x")]
    r = await client.get(
        f"{AM}/alerts", params=[("filter", "service=x"), ("filter", "severity=~warn.*")]
    )
    assert names(r) == [("Slow", "x")]
    inhibited = [a for a in (await client.get(f"{AM}/alerts")).json() if a["status"]["inhibitedBy"]]
    assert [a["status"]["state"] for a in inhibited] == ["suppressed"]


async def test_alert_groups_list_each_group_with_its_receiver(
    client: httpx.AsyncClient,
) -> None:
    await client.post(f"{AM}/alerts", json=[posted("Down", severity="critical")])
    await client.post(f"{AM}/alerts", json=[posted("Slow", severity="warning")])
    r = await client.get(f"{AM}/alerts/groups")
    groups = sorted(r.json(), key=lambda g: g["receiver"]["name"])
    assert [(g["receiver"]["name"], g["labels"]) for g in groups] == [
        ("ops", {"alertname": "Slow"}),
        ("pager", {"alertname": "Down"}),
    ]
    assert groups[1]["alerts"][0]["labels"]["alertname"] == "Down"


async def test_invalid_alerts_are_refused_with_a_message_and_valid_ones_kept(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post(
        f"{AM}/alerts",
        json=[
            posted("Good"),
            {"labels": {}},
            {"labels": {"alertname": "X", "bad-name": "v"}},
            {
                "labels": {"alertname": "Late"},
                "startsAt": "2023-11-14T22:00:00Z",
                "endsAt": "2023-11-14T21:00:00Z",
            },
        ],
    )
    assert r.status_code == 400
    message = r.json()
    assert "alert 1: at least one label pair is required" in message
    assert "alert 2: invalid label name 'bad-name'" in message
    assert "alert 3: the start time must be before the end time" in message
    assert "(1 other alerts were accepted)" in message
    assert [a["labels"]["alertname"] for a in (await client.get(f"{AM}/alerts")).json()] == ["Good"]


async def test_a_malformed_filter_is_a_400_naming_the_matcher(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{AM}/alerts", params={"filter": 'alertname=~"("'})
    assert r.status_code == 400
    assert "invalid regular expression" in r.json()["detail"]


async def test_silences_round_trip_in_alertmanagers_shape(
    client: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    now = fake_clock.now()
    body = {
        "matchers": [
            {"name": "alertname", "value": "Down", "isRegex": False, "isEqual": True},
            {"name": "service", "value": "a|b", "isRegex": True, "isEqual": False},
        ],
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + 3600),
        "createdBy": "alice",
        "comment": "deploy",
    }
    r = await client.post(f"{AM}/silences", json=body)
    assert r.status_code == 200
    sid = r.json()["silenceID"]
    got = (await client.get(f"{AM}/silence/{sid}")).json()
    assert got["status"] == {"state": "active"}
    assert got["matchers"] == body["matchers"]
    assert (got["createdBy"], got["comment"], got["endsAt"]) == (
        "alice",
        "deploy",
        rfc3339(now + 3600),
    )
    listed = (await client.get(f"{AM}/silences", params={"filter": 'alertname="Down"'})).json()
    assert [s["id"] for s in listed] == [sid]
    assert (await client.delete(f"{AM}/silence/{sid}")).status_code == 200
    assert (await client.get(f"{AM}/silence/{sid}")).json()["status"]["state"] == "expired"
    again = await client.delete(f"{AM}/silence/{sid}")
    assert again.status_code == 400
    assert again.json() == f"silence {sid} already expired"


async def test_bad_silences_are_refused_with_a_clear_message(
    client: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    now = fake_clock.now()

    def body(matchers: list[dict[str, object]], start: float, end: float) -> dict[str, object]:
        return {
            "matchers": matchers,
            "startsAt": rfc3339(start),
            "endsAt": rfc3339(end),
            "createdBy": "a",
            "comment": "c",
        }

    every = [{"name": "alertname", "value": ".+", "isRegex": True}]
    empty = [{"name": "job", "value": ".*", "isRegex": True}]
    one = [{"name": "alertname", "value": "X", "isRegex": False}]
    cases = [
        (body(every, now, now + 60), "matches every alert"),
        (body(empty, now, now + 60), "at least one matcher must not match the empty string"),
        (body(one, now + 60, now), "the end time must be after the start time"),
        (body(one, now - 120, now - 60), "the end time can't be in the past"),
        (body([], now, now + 60), "a silence needs at least one matcher"),
    ]
    for payload, message in cases:
        r = await client.post(f"{AM}/silences", json=payload)
        assert r.status_code == 400, payload
        assert message in r.json()
    r = await client.get(f"{AM}/silence/nope")
    assert (r.status_code, r.json()) == (404, "silence nope not found")


async def test_status_serves_the_config_as_a_plain_alertmanager_file(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get(f"{AM}/status")
    status = r.json()
    assert status["cluster"] == {"name": "watchkeeper", "status": "disabled", "peers": []}
    assert set(status["versionInfo"]) == {
        "branch",
        "buildDate",
        "buildUser",
        "goVersion",
        "revision",
        "version",
    }
    original = status["config"]["original"]
    doc = yaml.safe_load(original)
    assert doc["route"]["receiver"] == "ops"
    assert "escalation_policy" not in original
    assert "escalation_policies" not in original
    assert "secret-token-in-url" not in original
    assert doc["receivers"] == [{"name": "ops"}, {"name": "pager"}]
    r = await client.get(f"{AM}/receivers")
    assert r.json() == [{"name": "ops"}, {"name": "pager"}]


async def test_routes_require_their_permissions(client: httpx.AsyncClient) -> None:
    anonymous = {"Authorization": ""}
    viewer = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
    assert (await client.get(f"{AM}/alerts", headers=anonymous)).status_code == 401
    assert (await client.get(f"{AM}/alerts", headers=viewer)).status_code == 200
    r = await client.post(f"{AM}/alerts", json=[posted("X")], headers=viewer)
    assert r.status_code == 403
    assert "alerts:write" in r.json()["detail"]
    assert (await client.get(f"{AM}/silences", headers=viewer)).status_code == 200
    r = await client.delete(f"{AM}/silence/x", headers=viewer)
    assert r.status_code == 403
