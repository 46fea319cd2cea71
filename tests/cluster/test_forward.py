"""A follower passes leader-owned requests to the leader over real HTTP on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from watchkeeper.cluster.forward import FORWARDED_HEADER, LeaderForwarding, goes_to_leader
from watchkeeper.testing.server import FakeServer, free_port


@pytest.mark.parametrize(
    ("method", "path", "forwarded"),
    [
        ("POST", "/api/v1/silences", True),
        ("DELETE", "/alertmanager/api/v2/silence/abc", True),
        ("POST", "/alertmanager/api/v2/alerts", True),
        ("POST", "/alerts/group/ack", True),  # dashboard forms
        ("POST", "/login", True),
        ("POST", "/prometheus/api/v1/write", True),  # pushed samples
        ("GET", "/api/v1/heartbeat/tok3n", True),  # pings
        ("GET", "/alertmanager/api/v2/alerts", True),
        ("GET", "/alertmanager", True),
        ("GET", "/api/v1/alerts/groups", True),
        ("GET", "/api/v1/oncall/primary", True),
        ("GET", "/prometheus/api/v1/rules", True),
        ("POST", "/-/reload", False),  # this instance's own config
        ("POST", "/api/v1/cluster/samples", False),  # from peers
        ("GET", "/", False),
        ("GET", "/alerts", False),  # pages read the database copy
        ("GET", "/api/v1/services", False),
        ("GET", "/api/v1/cluster", False),
        ("GET", "/prometheus/api/v1/query", False),
        ("GET", "/readyz", False),
        ("HEAD", "/status", False),
    ],
)
def test_what_a_follower_passes_to_the_leader(method: str, path: str, forwarded: bool) -> None:
    assert goes_to_leader(method, path) is forwarded


@dataclass
class Directory:
    leader: tuple[str, str] | None
    is_leader: bool = False
    member_id: str = "follower-1"

    def leader_url(self) -> tuple[str, str] | None:
        return self.leader


def answer(name: str) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [
            (b"content-type", b"text/plain"),
            (b"x-served-by", name.encode()),
            (b"set-cookie", b"wk_session=abc; Path=/"),
        ]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": name.encode() + b":" + body})

    return app


def follower(directory: Directory) -> tuple[httpx.AsyncClient, LeaderForwarding]:
    """A client of the follower's app, run in this event loop (as the server runs it)."""
    forwarding = LeaderForwarding(answer("local"), lambda: directory, timeout=5.0)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=forwarding), base_url="http://follower"
    )
    return client, forwarding


async def test_a_forwarded_request_reaches_the_leader_whole_and_its_answer_comes_back() -> None:
    async with FakeServer(answer("leader")) as leader:
        directory = Directory(("leader-1", leader.url))
        client, forwarding = follower(directory)
        async with client:
            r = await client.post(
                "/api/v1/silences?x=1",
                content=b'{"comment": "deploy"}',
                headers={"Authorization": "Bearer wk_token", "X-CSRF-Token": "t"},
            )
        await forwarding.aclose()
    assert r.status_code == 201
    assert r.text == 'leader:{"comment": "deploy"}'
    assert r.headers["x-served-by"] == "leader"
    assert r.headers["set-cookie"] == "wk_session=abc; Path=/"
    [seen] = leader.requests
    assert (seen.method, seen.path, seen.query) == ("POST", "/api/v1/silences", "x=1")
    assert seen.headers["authorization"] == "Bearer wk_token"
    assert seen.headers["x-csrf-token"] == "t"
    assert seen.headers[FORWARDED_HEADER] == "follower-1"


async def test_the_leader_and_local_reads_are_answered_where_they_arrive() -> None:
    async with FakeServer(answer("leader")) as leader:
        for directory, method, path in (
            (Directory(("leader-1", leader.url), is_leader=True), "POST", "/api/v1/silences"),
            (Directory(("leader-1", leader.url)), "GET", "/api/v1/services"),
        ):
            client, forwarding = follower(directory)
            async with client:
                r = await client.request(method, path)
            await forwarding.aclose()
            assert r.text.startswith("local:")
    assert leader.requests == []


async def test_without_a_leader_a_forwarded_request_gets_503_with_retry_after() -> None:
    client, forwarding = follower(Directory(None))
    async with client:
        r = await client.post("/api/v1/silences", content=b"{}")
    await forwarding.aclose()
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert "no leader is elected" in r.json()["detail"]


async def test_an_unreachable_leader_gets_503_naming_it() -> None:
    gone = f"http://127.0.0.1:{free_port()}"
    client, forwarding = follower(Directory(("leader-9", gone)))
    async with client:
        r = await client.post("/api/v1/silences", content=b"{}")
    await forwarding.aclose()
    assert r.status_code == 503
    assert "the leader leader-9 cannot be reached" in r.json()["detail"]


async def test_a_request_forwarded_to_a_follower_is_not_forwarded_again() -> None:
    async with FakeServer(answer("leader")) as leader:
        client, forwarding = follower(Directory(("leader-1", leader.url)))
        async with client:
            r = await client.post("/api/v1/silences", headers={FORWARDED_HEADER: "other"})
        await forwarding.aclose()
    assert r.status_code == 503
    assert "not the leader" in r.json()["detail"]
    assert leader.requests == []
