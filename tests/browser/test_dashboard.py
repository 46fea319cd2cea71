"""The dashboard in real headless Chromium against a served demo-like stack with an alert
posted through the alert sink: log in, see the overview of the stack, ack an alert, create
a silence from its preview, run a PromQL query with a chart and a table, see the status
page without logging in; every page is saved as a screenshot and fails its test on any
console error."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from watchkeeper.alerting.model import AlertInput
from watchkeeper.core.labels import Labels
from watchkeeper.runtime.app import Runtime

from .conftest import Site, Tab, alert_fingerprint

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

CHECKOUT = "CheckoutErrorsHigh"
SEARCH = "SearchSlow"


@pytest.fixture(scope="module", autouse=True)
def alerts(site: Site) -> None:
    """Two alerts posted through the alert sink, as a rule or Prometheus would."""

    async def post(rt: Runtime) -> None:
        await rt.alerts.put(
            [
                AlertInput(
                    labels=Labels({"alertname": name, "service": service, "severity": "critical"}),
                    annotations={"summary": summary},
                    starts_at=0.0,
                )
                for name, service, summary in (
                    (CHECKOUT, "backend", "12 % of checkouts fail"),
                    (SEARCH, "frontend", "search answers in 3 s"),
                )
            ]
        )

    site.served.run(post)


def test_a_visitor_logs_in_and_sees_the_overview_of_the_stack(tab: Tab) -> None:
    tab.go("/")
    expect(tab.page).to_have_url(f"{tab.base}/login?next=/")
    tab.shoot("login")
    tab.log_in()
    expect(tab.page).to_have_url(f"{tab.base}/")
    for service in ("frontend", "backend", "database", "ci"):
        expect(tab.page.locator(f'article[data-service="{service}"]')).to_be_visible()
    expect(tab.page.locator("table").first).to_contain_text(CHECKOUT)
    expect(tab.page.locator("#webhook-sink")).to_be_visible()
    tab.page.wait_for_selector(".spark canvas", timeout=30_000)  # uPlot sparklines
    tab.shoot("overview")


def test_an_operator_acks_a_firing_alert_from_the_alerts_page(tab: Tab, site: Site) -> None:
    tab.log_in()
    tab.go("/alerts")
    row = tab.page.locator(f'#firing + .table-wrap tr[data-alert="{CHECKOUT}"]')
    expect(row).to_be_visible()
    tab.shoot("alerts")
    with tab.page.expect_navigation():
        row.locator('button[data-action="ack"]').click()
    expect(tab.page).to_have_url(f"{tab.base}/alerts?msg=acked")
    expect(tab.page.locator(f'#acked + .table-wrap tr[data-alert="{CHECKOUT}"]')).to_be_visible()
    expect(tab.page.locator(".flash.ok")).to_contain_text("Acknowledged")
    tab.shoot("alerts-acked")

    async def acks(rt: Runtime) -> list[str]:
        view = next(v for v in rt.alerts.views.alerts() if v.alert.name == CHECKOUT)
        return [k.by for k in view.acks]

    assert site.served.run(acks) == ["admin"]


def test_an_operator_silences_an_alert_after_previewing_what_it_mutes(tab: Tab, site: Site) -> None:
    tab.log_in()
    fp = alert_fingerprint(site, SEARCH)
    tab.go(f"/alerts/{fp}")
    tab.shoot("alert-detail")
    with tab.page.expect_navigation():
        tab.page.click('a[data-action="silence"]')
    count = tab.page.locator("[data-preview-count]")
    expect(count).to_have_attribute("data-preview-count", "1")
    expect(tab.page.locator("#silence-preview")).to_contain_text(SEARCH)
    tab.page.fill("#matchers", f'alertname="{SEARCH}", service="nowhere"')
    expect(count).to_have_attribute("data-preview-count", "0")  # redrawn by htmx
    tab.page.fill("#matchers", f'alertname="{SEARCH}"')
    expect(count).to_have_attribute("data-preview-count", "1")
    tab.page.fill("#comment", "search index rebuild")
    tab.shoot("silence-new")
    with tab.page.expect_navigation():
        tab.page.click('button[data-action="create-silence"]')
    expect(tab.page.locator(".flash.ok")).to_contain_text("Silence created")
    expect(tab.page.locator("#silences")).to_contain_text("search index rebuild")
    tab.shoot("silences")
    tab.go("/alerts")
    expect(tab.page.locator(f'#muted + .table-wrap tr[data-alert="{SEARCH}"]')).to_be_visible()


def test_a_promql_query_draws_a_chart_and_fills_the_table(tab: Tab) -> None:
    tab.log_in()
    tab.go("/explore")
    tab.page.fill("#expr", "up")
    with tab.page.expect_navigation():
        tab.page.click("button.primary")
    tab.page.wait_for_selector("#explore-chart canvas", timeout=30_000)
    rows = tab.page.locator("#explore-table tbody tr")
    assert rows.count() > 3
    expect(rows.first).to_contain_text("up{")
    expect(tab.page.locator("#explore-chart .u-legend")).to_be_visible()
    tab.shoot("explore")


def test_the_status_page_opens_without_logging_in(tab: Tab) -> None:
    tab.go("/status")
    expect(tab.page).to_have_url(f"{tab.base}/status")
    expect(tab.page.locator(".banner")).to_be_visible()
    services = tab.page.locator(".status-service")
    expect(services).to_have_count(4)
    assert services.first.locator(".bars span").count() == 90
    expect(tab.page.locator("#incidents")).to_contain_text("Checkout errors high")
    assert "severity" not in tab.page.content()
    tab.shoot("status")
    tab.go("/alerts")
    expect(tab.page).to_have_url(f"{tab.base}/login?next=/alerts")


@pytest.mark.parametrize(
    ("path", "name", "ready"),
    [
        ("/services/backend", "service-backend", ".svc-chart canvas"),
        ("/notifications", "notifications", "#channel-health"),
        ("/oncall", "oncall", "h1"),
        ("/readiness", "readiness", '[data-empty="readiness"]'),
        ("/admin", "admin", "#users"),
        ("/admin/audit?verify=true", "audit", '[data-verified="ok"]'),
    ],
)
def test_every_other_page_renders_cleanly(tab: Tab, path: str, name: str, ready: str) -> None:
    tab.log_in()
    tab.go(path)
    tab.page.wait_for_selector(ready, timeout=30_000)
    tab.shoot(name)


@pytest.mark.parametrize(("path", "name"), [("/status", "status-phone"), ("/", "overview-phone")])
def test_pages_fit_a_phone_screen(phone: Tab, path: str, name: str) -> None:
    if path != "/status":
        phone.log_in()
    phone.go(path)
    phone.page.wait_for_load_state("networkidle")
    assert phone.fits_the_screen(), f"{path} scrolls sideways on a phone"
    phone.shoot(name)


def test_screenshots_are_real_images(tab: Tab, shots: Path) -> None:
    tab.go("/status")
    saved = tab.shoot("status-again")
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert saved.stat().st_size > 5_000
