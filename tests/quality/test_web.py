"""The SLO, alert-quality and report routes on the real app: permissions, JSON shapes,
client mistakes as 4xx with a message, the label form, CSV and the print-ready page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import FakeClock
from watchkeeper.core.labels import Labels
from watchkeeper.quality.service import ReportService
from watchkeeper.rules.slo import slo_rules_yaml
from watchkeeper.runtime.app import Runtime, RuntimeOptions
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import system_principal
from watchkeeper.web.app import UNGUARDED_OK, create_app
from watchkeeper.web.deps import route_guards, unguarded_routes

from .support import alert, episode

NOW = 1_772_000_000.0  # on the 1-minute grid

CONFIG = """
storage: {{path: {data}}}
security: {{anonymous_role: null, argon2: {{time_cost: 1, memory_cost: 64, parallelism: 1}}}}
services:
  - name: backend
    checks:
      - type: http
        url: http://127.0.0.1:9/health
slos:
  - name: backend-availability
    service: backend
    objective: 99
    description: quotes answered without a server error
    sli:
      events:
        bad: http_requests_total{{service="backend", code=~"5.."}}
        total: http_requests_total{{service="backend"}}
anomaly_rules:
  - name: LatencyAnomaly
    expr: probe_duration_seconds
alerting:
  route: {{receiver: hook}}
  receivers:
    - name: hook
      webhook_configs: [{{url: "http://127.0.0.1:9/hook"}}]
"""


@dataclass
class Stack:
    rt: Runtime
    reports: ReportService
    client: httpx.AsyncClient
    app: FastAPI
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    clock = FakeClock(NOW)
    text = CONFIG.format(data=tmp_path / "data")
    rt = Runtime(load_config_text(text, base_dir=tmp_path), RuntimeOptions(clock=clock))
    reports = rt.reports
    tokens = {}
    with rt.db.begin() as conn:
        for role in ("viewer", "operator"):
            tokens[role], _ = rt.security.tokens.create(
                conn, system_principal("tests"), role, Role(role)
            )
    app = create_app(rt)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield Stack(rt, reports, client, app, tokens)
    rt.store.close()
    rt.db.dispose()


async def traffic(s: Stack, minutes: int, ok: float, failed: float) -> None:
    """Serve requests, scraped every minute, evaluating the SLO group each time."""
    base = {"__name__": "http_requests_total", "service": "backend"}
    (group,) = [g for g in s.rt.rules.groups if g.file == "slos"]
    counts = {"200": 0.0, "500": 0.0}
    start = s.rt.clock.now() - minutes * 60
    for i in range(minutes + 1):
        ts = start + i * 60
        s.rt.store.append(
            [(Labels({**base, "code": c}), int(ts * 1000), n) for c, n in counts.items()]
        )
        await s.rt.rules.evaluate_group(group, ts)
        counts["200"] += ok
        counts["500"] += failed


def test_every_route_declares_a_permission(tmp_path: Path) -> None:
    rt = Runtime(load_config_text(CONFIG.format(data=tmp_path / "d"), base_dir=tmp_path))
    try:
        app = create_app(rt)
        assert unguarded_routes(app, allow=UNGUARDED_OK) == []
        guards = {g.path: g.permissions for g in route_guards(app)}
        assert guards["/api/v1/slos"] == {Permission.SERVICES_READ}
        assert guards["/quality"] == {Permission.ALERTS_READ}
        assert guards["/quality/incidents/{incident_id}/label"] == {Permission.ALERTS_WRITE}
        assert guards["/reports/uptime/print"] == {Permission.REPORTS_READ}
    finally:
        rt.store.close()
        rt.db.dispose()


async def test_slo_status_reads_the_recorded_series(stack: Stack) -> None:
    await traffic(stack, 60, ok=99, failed=1)  # 1 % errors: exactly the 99 % objective
    r = await stack.client.get("/api/v1/slos", headers=stack.auth("viewer"))
    assert r.status_code == 200
    (item,) = r.json()["items"]
    assert item["name"] == "backend-availability"
    # summed from the 5-minute records at 5-minute steps: the first step of the hour is
    # the record of a 5-minute window that began before the traffic
    assert item["events"]["total"] == pytest.approx(6000, rel=0.1)
    assert item["sli_percent"] == pytest.approx(99.0, abs=0.05)
    assert item["burn_rates"]["1h"] == pytest.approx(1.0, rel=0.05)
    assert item["alerts"] == {"page": "inactive", "ticket": "inactive"}
    one = await stack.client.get("/api/v1/slos/backend-availability", headers=stack.auth("viewer"))
    for chart in one.json()["charts"]:  # every chart's query answers
        answer = await stack.client.get(
            "/prometheus/api/v1/query",
            params={"query": chart["query"], "time": stack.rt.clock.now()},
            headers=stack.auth("viewer"),
        )
        assert answer.status_code == 200, (chart, answer.text)
        assert answer.json()["data"]["result"], chart
    page = await stack.client.get("/slos/backend-availability", headers=stack.auth("viewer"))
    assert page.status_code == 200
    assert 'data-query="' in page.text
    assert "slo:sli_total:increase5m" in page.text  # the generated rules are shown
    listing = await stack.client.get("/slos", headers=stack.auth("viewer"))
    assert 'data-slo="backend-availability"' in listing.text


async def test_an_unknown_slo_is_a_404_naming_the_known_ones(stack: Stack) -> None:
    r = await stack.client.get("/api/v1/slos/nope", headers=stack.auth("viewer"))
    assert r.status_code == 404
    assert r.json()["error"]["message"] == (
        "no SLO named 'nope'; configured SLOs: backend-availability"
    )
    assert (await stack.client.get("/api/v1/slos")).status_code == 401


async def test_the_rule_file_is_served_as_yaml(stack: Stack) -> None:
    r = await stack.client.get("/api/v1/slos/rules.yaml", headers=stack.auth("viewer"))
    assert r.status_code == 200
    assert r.text == slo_rules_yaml(stack.rt.config)
    rules = await stack.client.get("/api/v1/anomaly/rules", headers=stack.auth("viewer"))
    assert rules.json()["items"][0]["name"] == "LatencyAnomaly"


async def test_operators_label_resolved_incidents_and_viewers_may_not(stack: Stack) -> None:
    now = stack.rt.clock.now()
    episode(stack.rt.history, alert("HighErrors"), now - 3000, now - 2000)
    episode(stack.rt.history, alert("StillOpen"), now - 1000, None)
    r = await stack.client.get(
        "/api/v1/alert-quality/incidents", params={"period": "1d"}, headers=stack.auth("viewer")
    )
    items = r.json()["items"]
    assert [i["rule"] for i in items] == ["StillOpen", "HighErrors"]
    done, still_open = items[1]["id"], items[0]["id"]
    url = f"/api/v1/alert-quality/incidents/{done}/label"
    body = {"label": "noise", "comment": "a deploy blip"}
    assert (await stack.client.put(url, json=body, headers=stack.auth("viewer"))).status_code == 403
    ok = await stack.client.put(url, json=body, headers=stack.auth("operator"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["label"] == "noise"
    quality = await stack.client.get("/api/v1/alert-quality", headers=stack.auth("viewer"))
    overall = quality.json()["overall"]
    assert overall["false_positive_rate"] == 1.0
    assert overall["labelled"] == 1
    still = await stack.client.put(
        f"/api/v1/alert-quality/incidents/{still_open}/label",
        json={"label": "actionable"},
        headers=stack.auth("operator"),
    )
    assert still.status_code == 400
    assert "has not resolved yet" in still.json()["error"]["message"]
    wrong = await stack.client.put(url, json={"label": "meh"}, headers=stack.auth("operator"))
    assert wrong.status_code in (400, 422)
    missing = await stack.client.put(
        "/api/v1/alert-quality/incidents/00ff-1/label",
        json={"label": "noise"},
        headers=stack.auth("operator"),
    )
    assert missing.status_code == 404
    bad = await stack.client.put(
        "/api/v1/alert-quality/incidents/garbage/label",
        json={"label": "noise"},
        headers=stack.auth("operator"),
    )
    assert bad.status_code == 400
    gone = await stack.client.delete(url, headers=stack.auth("operator"))
    assert gone.status_code == 204


async def test_the_quality_page_labels_through_its_form(stack: Stack) -> None:
    now = stack.rt.clock.now()
    # a firing time finer than the millisecond the incident id keeps
    episode(stack.rt.history, alert("HighErrors"), now - 3000.00041, now - 2000)
    page = await stack.client.get("/quality", headers=stack.auth("operator"))
    assert page.status_code == 200
    (incident,) = re.findall(r'data-incident="([^"]+)"', page.text)
    assert 'class="row label-form"' in page.text
    viewer_page = await stack.client.get("/quality", headers=stack.auth("viewer"))
    assert "label-form" not in viewer_page.text
    posted = await stack.client.post(
        f"/quality/incidents/{incident}/label",
        data={"label": "actionable", "comment": "", "back": "period=7d"},
        headers=stack.auth("operator"),
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == f"/quality?period=7d&labelled={incident}"
    after = await stack.client.get("/quality", headers=stack.auth("operator"))
    assert 'data-label="actionable"' in after.text
    assert 'id="precision">100.0 %' in after.text


async def test_digests_build_on_demand_and_send_once(stack: Stack) -> None:
    r = await stack.client.get("/api/v1/reports/digest?kind=weekly", headers=stack.auth("viewer"))
    assert r.status_code == 200
    assert r.json()["kind"] == "weekly"
    assert r.json()["readiness"]["message"] == "no readiness run yet"
    assert r.json()["overhead"]["series"] >= 0
    bad = await stack.client.get(
        "/api/v1/reports/digest?kind=monthly", headers=stack.auth("viewer")
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "unknown digest 'monthly'; use daily or weekly"
    send = "/api/v1/reports/digests/daily/send"
    assert (await stack.client.post(send, headers=stack.auth("viewer"))).status_code == 403
    assert (await stack.client.post(send, headers=stack.auth("operator"))).status_code == 200
    assert (await stack.client.post(send, headers=stack.auth("operator"))).status_code == 409
    listed = await stack.client.get("/api/v1/reports/digests", headers=stack.auth("viewer"))
    (entry,) = listed.json()["items"]
    assert entry["sent_to"] == ["hook"]
    page = await stack.client.get(f"/reports/digests/{entry['id']}", headers=stack.auth("viewer"))
    assert page.status_code == 200
    assert 'id="by-service"' in page.text
    live = await stack.client.get("/reports/digest", headers=stack.auth("viewer"))
    assert "no readiness run yet" in live.text
    index = await stack.client.get("/reports", headers=stack.auth("viewer"))
    assert f"/reports/digests/{entry['id']}" in index.text


async def test_uptime_report_as_json_csv_page_and_print(stack: Stack) -> None:
    now = stack.rt.clock.now()
    labels = Labels.of(__name__="probe_success", service="backend", check="health")
    stack.rt.store.append(
        [(labels, int((now - 3600 + i * 60) * 1000), float(i != 10)) for i in range(60)]
    )
    q = {"service": "backend", "period": "1h"}
    r = await stack.client.get("/api/v1/reports/uptime", params=q, headers=stack.auth("viewer"))
    assert r.status_code == 200
    assert r.json()["availability_percent"] == pytest.approx(100 * 59 / 60, abs=1e-3)
    csv = await stack.client.get(
        "/api/v1/reports/uptime", params={**q, "format": "csv"}, headers=stack.auth("viewer")
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == (
        "service,day,availability_percent,downtime_seconds,incidents,source"
    )
    page_csv = await stack.client.get("/reports/uptime.csv", params=q, headers=stack.auth("viewer"))
    assert page_csv.text == csv.text
    page = await stack.client.get("/reports/uptime", params=q, headers=stack.auth("viewer"))
    assert 'id="availability">98.333 %' in page.text
    printed = await stack.client.get(
        "/reports/uptime/print", params=q, headers=stack.auth("viewer")
    )
    assert "/static/report.css" in printed.text
    assert 'class="topbar"' not in printed.text
    unknown = await stack.client.get(
        "/api/v1/reports/uptime", params={"service": "nope"}, headers=stack.auth("viewer")
    )
    assert unknown.status_code == 404
    assert "known: backend" in unknown.json()["error"]["message"]
    bad = await stack.client.get(
        "/api/v1/reports/uptime",
        params={"service": "backend", "start": "last tuesday"},
        headers=stack.auth("viewer"),
    )
    assert bad.status_code == 400


async def test_pages_keep_to_the_content_security_policy(stack: Stack) -> None:
    now = stack.rt.clock.now()
    episode(stack.rt.history, alert("HighErrors"), now - 3000, now - 2000)
    for path in (
        "/slos",
        "/slos/backend-availability",
        "/quality",
        "/reports",
        "/reports/digest",
        "/reports/uptime?service=backend",
        "/reports/uptime/print?service=backend",
    ):
        r = await stack.client.get(path, headers=stack.auth("operator"))
        assert r.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", r.text), path
        assert " style=" not in r.text, path
        assert "<style" not in r.text, path


def test_print_stylesheet_has_print_rules() -> None:
    from watchkeeper.web.app import STATIC

    css = (STATIC / "report.css").read_text(encoding="utf-8")
    assert "@media print" in css
    assert "@page" in css
