"""The SLO, alert-quality and report pages in real headless Chromium against a served
demo-like stack with an SLO and an anomaly rule: charts drawn by uPlot from the recorded
SLO series, an incident labelled through the form, the print-ready report; every page
fails its test on a console error (CSP violations, script errors, missing assets)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from conftest import require
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import SystemClock
from watchkeeper.demo.config import DemoPorts, demo_config
from watchkeeper.demo.stack import DemoStack
from watchkeeper.runtime.app import Runtime
from watchkeeper.security.permissions import Role
from watchkeeper.security.principal import system_principal
from watchkeeper.testing import tools
from watchkeeper.testing.server import free_port_block
from web.served import ServedApp

from .support import alert, episode

pytestmark = [pytest.mark.chromium, pytest.mark.slow]

ADMIN = "admin"
PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]
EXTRA = """
slos:
  - name: backend-availability
    service: backend
    objective: 99
    sli:
      events:
        bad: http_requests_total{service="backend", path="/api/quote", status=~"5.."}
        total: http_requests_total{service="backend", path="/api/quote"}
anomaly_rules:
  - name: QuoteLatencyAnomaly
    expr: service:quote_duration_seconds:p95_20s{service="backend"}
"""


@dataclass
class Tab:
    page: Page
    base: str
    shots: Path
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")

    def shoot(self, name: str) -> None:
        target = self.shots / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        if os.environ.get("WATCHKEEPER_ARTIFACTS"):
            keep = ROOT / "test-artifacts" / "browser"
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, keep / target.name)

    def log_in(self) -> None:
        self.go("/login")
        self.page.fill("#username", ADMIN)
        self.page.fill("#password", PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    require(
        tools.chromium_path() is not None,
        "Debian chromium for the browser tests",
        "install it with `apt-get install chromium` (`.ci/run` does)",
    )
    data = tmp_path_factory.mktemp("slo-browser")
    port = free_port_block(8)
    text = demo_config(port, data).replace("anonymous_role: viewer", "anonymous_role: null")
    loaded = load_config_text(text + EXTRA, base_dir=data)
    stack = DemoStack(DemoPorts(port), SystemClock())

    def build() -> Runtime:
        rt = Runtime(loaded)
        with rt.db.begin() as conn:
            rt.security.users.create(conn, system_principal("tests"), ADMIN, PASSWORD, Role.ADMIN)
        now = rt.clock.now()
        episode(rt.history, alert("BackendErrorRateHigh"), now - 900, now - 600)
        return rt

    stack.start()
    try:
        app = ServedApp(build, port, tasks=lambda: [stack.traffic(rate=4.0)])
        with app:
            yield app
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def chromium(served: ServedApp) -> Iterator[Browser]:
    path = tools.chromium_path()
    if path is None:
        raise RuntimeError("chromium vanished")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=["--headless", "--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def tab(chromium: Browser, served: ServedApp, tmp_path: Path) -> Iterator[Tab]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    made = Tab(page, served.url, tmp_path)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            made.errors.append(f"console: {message.text}")

    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            made.errors.append(f"{response.status} for {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: made.errors.append(f"page error: {exc}"))
    page.on("response", on_response)
    yield made
    context.close()
    assert made.errors == [], "the browser reported errors:\n" + "\n".join(made.errors)


def test_the_slo_page_draws_its_charts_from_the_recorded_series(tab: Tab) -> None:
    tab.log_in()
    tab.go("/slos")
    expect(tab.page.locator('tr[data-slo="backend-availability"]')).to_be_visible()
    # The charts are drawn once, at page load: until the SLO's recording rules have
    # written a point they say "no data in this range yet", so load again while waiting.
    deadline = time.monotonic() + 60
    while True:
        tab.go("/slos/backend-availability")
        try:
            tab.page.wait_for_selector(".slo-chart canvas", timeout=5_000)
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                texts = tab.page.locator(".slo-chart").all_text_contents()
                raise AssertionError(f"no SLO chart drawn within 60 s: {texts}") from None
    expect(tab.page.locator("#burn-rates")).to_be_visible()
    expect(tab.page.locator("pre.rules-yaml")).to_contain_text("ErrorBudgetBurnFast")
    tab.shoot("slo")


def test_an_operator_labels_an_incident_on_the_quality_page(tab: Tab) -> None:
    tab.log_in()
    tab.go("/quality")
    form = tab.page.locator("form.label-form").first
    form.locator("select[name=label]").select_option("actionable")
    with tab.page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(tab.page.locator(".flash.ok")).to_contain_text("Labelled incident")
    expect(tab.page.locator('[data-label="actionable"]')).to_be_visible()
    expect(tab.page.locator("#precision")).to_have_text("100.0 %")
    tab.shoot("quality")


@pytest.mark.parametrize(
    ("path", "name", "ready"),
    [
        ("/reports", "reports", "#digests"),
        ("/reports/digest?kind=weekly", "digest", "#noisiest"),
        ("/reports/uptime?service=frontend&period=1d", "uptime", "#uptime-days"),
        ("/reports/uptime/print?service=frontend&period=1d", "uptime-print", "#uptime-days"),
    ],
)
def test_report_pages_render_cleanly(tab: Tab, path: str, name: str, ready: str) -> None:
    tab.log_in()
    tab.go(path)
    tab.page.wait_for_selector(ready)
    tab.shoot(name)


def test_the_print_ready_report_hides_the_navigation_on_paper(tab: Tab) -> None:
    tab.log_in()
    tab.go("/reports/uptime/print?service=frontend&period=1d")
    tab.page.emulate_media(media="print")
    assert tab.page.locator("p.no-print").is_hidden()
    pdf = tab.page.pdf(format="A4")
    assert pdf[:5] == b"%PDF-"
