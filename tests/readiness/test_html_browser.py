"""The HTML report in real headless Chromium: it renders offline from a file, draws one
uPlot chart per load-tested endpoint, and raises no script error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import require
from watchkeeper.readiness.report import ReportFormat, render
from watchkeeper.testing import tools

from .sample import sample_report

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.chromium
def test_the_html_report_draws_the_baseline_charts_in_chromium(tmp_path: Path) -> None:
    chromium = tools.chromium_path()
    require(chromium is not None, "chromium", "install the Debian package chromium")
    from playwright.sync_api import sync_playwright

    page_file = tmp_path / "readiness.html"
    page_file.write_text(render(sample_report(), ReportFormat.HTML), encoding="utf-8")
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.on(
                "console", lambda msg: problems.append(msg.text) if msg.type == "error" else None
            )
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_file.as_uri())
            page.wait_for_selector("#charts canvas", timeout=10_000)
            assert page.get_attribute("body", "data-charts") == "2"
            charts = page.locator(".chart")
            assert charts.count() == 2
            assert charts.nth(0).get_attribute("data-endpoint") == "backend/health"
            legend = page.locator(".chart").nth(0).inner_text()
            assert "this run (ms)" in legend
            assert "SLA p95" in legend
            assert "baseline p95" in legend
            assert page.locator("#overall").inner_text().lower() == "fail"
            assert page.locator("tr.result").count() == 6
            assert page.locator('tr.result[data-status="error"]').count() == 1
            page.screenshot(path=str(tmp_path / "readiness-report.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert all(url.startswith("file://") for url in requests), requests
    assert (tmp_path / "readiness-report.png").stat().st_size > 10_000
