"""Burn-rate alerts as timelines: synthetic request counters in the embedded store, the
generated rules evaluated by the rule manager on a fake clock. The low-traffic guard
keeps a handful of failures from paging; a real outage on a busy service still pages."""

from __future__ import annotations

from typing import Any

from .harness import Timeline

PAGE = "ErrorBudgetBurnFast"
TICKET = "ErrorBudgetBurnSlow"


def slo(**alerting: Any) -> dict[str, Any]:
    return {
        "name": "api-availability",
        "service": "api",
        "objective": 99.9,
        "sli": {
            "events": {
                "bad": 'http_requests_total{service="api", code=~"5.."}',
                "total": 'http_requests_total{service="api"}',
            }
        },
        "alerting": alerting,
    }


async def night(t: Timeline) -> None:
    """A quiet hour, then 3 requests at night of which 2 fail."""
    await t.run(3000, evaluate_every=600)
    t.requests(ok=1)
    await t.run(240, evaluate_every=60)
    t.requests(failed=1)
    await t.run(120, evaluate_every=60)
    t.requests(failed=1)
    await t.run(360, evaluate_every=60)


async def test_two_failures_of_three_requests_at_night_do_not_page() -> None:
    t = Timeline(slo(), scrape=60)
    await night(t)
    # The ratio alone says "page": both windows burn far faster than 14.4x ...
    assert t.value('slo:sli_error:ratio_rate1h{slo="api-availability"} / 0.001 > 14.4')
    # ... but the hour holds 3 events, below min_events (30), and 2 bad ones (< 5).
    (total,) = t.value("slo:sli_total:increase1h")
    assert 2 <= total[1] < 30
    assert t.first_firing(PAGE) is None
    assert t.sink.received == []


async def test_without_the_guard_the_same_night_pages() -> None:
    t = Timeline(slo(min_events=0, error_floor=0), scrape=60)
    await night(t)
    assert t.first_firing(PAGE) is not None
    assert PAGE in {a.labels["alertname"] for a in t.sink.received}


async def test_few_failures_among_enough_requests_stay_under_the_error_floor() -> None:
    t = Timeline(slo(), scrape=60)
    await t.run(3600, ok_per_min=2, evaluate_every=600)
    # 4 failures in the next 40 minutes: 3 % of requests, twice the paging burn rate,
    # but fewer bad events than the floor of 5.
    for _ in range(4):
        t.requests(failed=1)
        await t.run(600, ok_per_min=2, evaluate_every=120)
    (ratio,) = t.value('slo:sli_error:ratio_rate1h{slo="api-availability"}')
    assert ratio[1] > 14.4 * 0.001
    assert t.first_firing(PAGE) is None


async def test_an_outage_on_a_busy_service_pages_within_minutes_and_resolves() -> None:
    t = Timeline(slo(), scrape=60)
    await t.run(3600, ok_per_min=1000, evaluate_every=600)
    outage_start = t.clock.now()
    await t.run(1800, ok_per_min=900, failed_per_min=100, evaluate_every=60)
    fired = t.first_firing(PAGE)
    assert fired is not None
    # 10 % errors burn 100x. With one hour of history the 6 h window holds that hour
    # too, so the 6 h / 30 m pair (6x) fires first, after about 4 minutes; the 1 h / 5 m
    # pair (14.4x) would need about 9.
    assert 3 * 60 <= fired - outage_start <= 6 * 60
    assert t.firing(PAGE)
    recovered = t.clock.now()
    await t.run(2100, ok_per_min=1000, evaluate_every=120)
    assert not t.firing(PAGE)
    cleared = next(ts for ts, names in t.alert_log if ts > recovered and PAGE not in names)
    # the short windows make it resolve: the 5 m one at once, the 30 m one (of the
    # 6 h pair) once the outage's errors drop under 6x in it, about 28 minutes after
    assert 20 * 60 <= cleared - recovered <= 31 * 60
    alert = next(a for a in t.sink.received if a.labels["alertname"] == PAGE)
    assert alert.labels["slo"] == "api-availability"
    assert alert.labels["severity"] == "critical"
    assert alert.labels["slo_alert"] == "page"
    assert "times too fast" in alert.annotations["summary"]


async def test_a_slow_burn_opens_a_ticket_but_does_not_page() -> None:
    t = Timeline(slo(), scrape=60)
    await t.run(1800, ok_per_min=1000, evaluate_every=300)
    # 0.5 % errors: a burn rate of 5, above the ticket's 3x but below the page's 6x.
    await t.run(3 * 3600, ok_per_min=995, failed_per_min=5, evaluate_every=300)
    assert t.first_firing(TICKET) is not None
    assert t.first_firing(PAGE) is None
    ticket = next(a for a in t.sink.received if a.labels["alertname"] == TICKET)
    assert ticket.labels["severity"] == "warning"
