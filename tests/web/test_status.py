"""The public status page: no login, the configured services in order, a bar per day for
90 days from the store (probe_success where a check has it, else up), the current
incidents of those services, and nothing internal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import pytest_asyncio

from watchkeeper.config.loader import load_config_text
from watchkeeper.core.labels import Labels
from watchkeeper.runtime.app import Runtime
from watchkeeper.web.app import create_app
from watchkeeper.web.status import (
    DAY_S,
    DAYS,
    DayBar,
    day_starts,
    humanize,
    promql_availability,
    rollup_availability,
)

from .conftest import CONFIG, firing_alert, make_full_runtime

# Availability per day before today (index -1 is yesterday) of backend's HTTP check.
BACKEND_DAYS = {-4: [1.0] * 8, -3: [1.0] * 6 + [0.0] * 2, -2: [1.0] * 39 + [0.0]}
FRONTEND_UP = {-4: [1.0, 0.0]}  # a scrape-only check: availability from up


@dataclass
class Status:
    rt: Runtime
    anonymous: httpx.AsyncClient
    days: list[float]


def samples(day: float, values: list[float]) -> tuple[np.ndarray, np.ndarray]:
    step = DAY_S // (len(values) + 1)
    ts = np.array([int((day + step * (i + 1)) * 1000) for i in range(len(values))], np.int64)
    return ts, np.array(values, np.float64)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def status(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Status]:
    rt = make_full_runtime(tmp_path_factory.mktemp("status"))
    starts = day_starts(rt.clock.now())
    health = {"service": "backend", "check": "health", "job": "backend", "instance": "h"}
    data: dict[Labels, list[tuple[np.ndarray, np.ndarray]]] = {}
    for offset, values in BACKEND_DAYS.items():
        day = starts[offset - 1]
        ts, vals = samples(day, values)
        data.setdefault(Labels({"__name__": "probe_success", **health}), []).append((ts, vals))
        ones = np.ones_like(vals)
        data.setdefault(Labels({"__name__": "up", **health}), []).append((ts, ones))
    metrics = {"service": "frontend", "check": "metrics", "job": "frontend", "instance": "m"}
    for offset, values in FRONTEND_UP.items():
        day = starts[offset - 1]
        data.setdefault(Labels({"__name__": "up", **metrics}), []).append(samples(day, values))
    rt.store.import_series(
        {
            labels: (np.concatenate([t for t, _ in parts]), np.concatenate([v for _, v in parts]))
            for labels, parts in data.items()
        }
    )
    await rt.start()
    await rt.alerts.put(
        [
            firing_alert("BackendErrorRateHigh", "backend", instance="10.0.0.7:8080"),
            firing_alert("SecretThingBroke", "secret-internal"),
        ]
    )
    app = create_app(rt)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    try:
        yield Status(rt, client, starts)
    finally:
        await client.aclose()
        await rt.stop()


module_loop = pytest.mark.asyncio(loop_scope="module")


@module_loop
async def test_status_page_needs_no_login_and_lists_the_chosen_services_in_order(
    status: Status,
) -> None:
    page = await status.anonymous.get("/status")
    assert page.status_code == 200
    assert "<title>Insurance Navigator status</title>" in page.text
    order = [page.text.index(f'data-service="{n}"') for n in ("frontend", "backend")]
    assert order == sorted(order)
    assert "secret-internal" not in page.text
    assert page.text.count('class="card status-service"') == 2
    api = (await status.anonymous.get("/api/v1/status")).json()
    assert [s["name"] for s in api["services"]] == ["frontend", "backend"]
    assert all(len(s["days"]) == DAYS for s in api["services"])


@module_loop
async def test_status_page_leaks_nothing_internal(status: Status) -> None:
    for path in ("/status", "/api/v1/status"):
        text = (await status.anonymous.get(path)).text
        for secret in (
            "10.0.0.7",  # an instance label
            "internal detail",  # an annotation
            "127.0.0.1",  # check URLs
            "internal quote service",  # a service description
            "severity=",  # label syntax
            "SecretThing",  # an alert of a service not on the page
            "/admin",
            'href="/alerts',
            "health",  # a check name
        ):
            assert secret not in text, (path, secret)


@module_loop
async def test_current_incidents_are_the_firing_alerts_of_the_listed_services(
    status: Status,
) -> None:
    api = (await status.anonymous.get("/api/v1/status")).json()
    assert [(i["service"], i["title"], i["severity"]) for i in api["incidents"]] == [
        ("Backend API", "Backend error rate high", "critical")
    ]
    page = await status.anonymous.get("/status")
    assert "Backend error rate high" in page.text
    assert api["status"] in ("degraded", "outage")
    assert f'data-state="{api["status"]}"' in page.text


@module_loop
async def test_daily_bars_show_each_days_availability_from_probe_success(
    status: Status,
) -> None:
    api = (await status.anonymous.get("/api/v1/status")).json()
    backend = next(s for s in api["services"] if s["name"] == "backend")
    days = {d["date"]: d["availability"] for d in backend["days"]}
    expected = {
        DayBar(status.days[-5], None).date: 1.0,
        DayBar(status.days[-4], None).date: 0.75,
        DayBar(status.days[-3], None).date: 39 / 40,
        DayBar(status.days[-2], None).date: None,
        DayBar(status.days[-20], None).date: None,
    }
    for date, availability in expected.items():
        if availability is None:
            assert days[date] is None, date
        else:
            assert days[date] == pytest.approx(availability), date
    page = await status.anonymous.get("/status")
    assert f'title="{DayBar(status.days[-5], None).date}: 100.00% available"' in page.text
    assert f'class="outage" title="{DayBar(status.days[-4], None).date}: 75.00%' in page.text
    assert f'class="partial" title="{DayBar(status.days[-3], None).date}: 97.50%' in page.text
    assert f'class="nodata" title="{DayBar(status.days[-2], None).date}: no data"' in page.text


@module_loop
async def test_a_check_without_probe_success_counts_by_up(status: Status) -> None:
    api = (await status.anonymous.get("/api/v1/status")).json()
    frontend = next(s for s in api["services"] if s["name"] == "frontend")
    day = DayBar(status.days[-5], None).date
    assert next(d for d in frontend["days"] if d["date"] == day)["availability"] == 0.5


@module_loop
async def test_promql_fallback_agrees_with_the_rollups(status: Status) -> None:
    rt = status.rt
    now = rt.clock.now()
    past = status.days[-6:-1]
    read = rt.store.select_rollups
    for service in ("backend", "frontend"):
        from_rollups = rollup_availability(read, service, past)
        from_promql = promql_availability(rt.engine, service, past, now)
        assert from_rollups == pytest.approx(from_promql), service
    assert rollup_availability(read, "backend", past)[2] == pytest.approx(0.75)


async def test_status_page_turned_off_is_not_found(tmp_path: Path) -> None:
    text = CONFIG.format(data=tmp_path / "data", anon="null") + "status_page: {enabled: false}\n"
    rt = Runtime(load_config_text(text, base_dir=tmp_path))
    try:
        app = create_app(rt)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            assert (await client.get("/status")).status_code == 404
            answer = await client.get("/api/v1/status")
            assert answer.status_code == 404
            assert "status_page.enabled" in answer.json()["error"]["message"]
    finally:
        rt.store.close()
        rt.db.dispose()


@pytest.mark.parametrize(
    ("alertname", "title"),
    [
        ("BackendErrorRateHigh", "Backend error rate high"),
        ("HTTPProbeFailed", "HTTP probe failed"),
        ("service_down", "Service down"),
        ("Disk90PercentFull", "Disk 90 percent full"),
        ("", "Incident"),
    ],
)
def test_incident_titles_are_made_from_the_alert_name(alertname: str, title: str) -> None:
    assert humanize(alertname) == title
