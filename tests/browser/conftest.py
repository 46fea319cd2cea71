"""A demo-like stack served on loopback (the simulated Insurance Navigator services, their
traffic, Watchkeeper on the demo config without anonymous access, an admin user) and one
headless Chromium per test module, driven by Playwright; every page fails its test on a
console error (CSP violations, script errors, assets that do not load)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, sync_playwright

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

ADMIN = "admin"
PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ENV = "WATCHKEEPER_ARTIFACTS"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class Site:
    served: ServedApp
    stack: DemoStack

    @property
    def url(self) -> str:
        return self.served.url


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require(
        tools.chromium_path() is not None,
        "Debian chromium for the browser tests",
        "install it with `apt-get install chromium` (`.ci/run` does)",
    )
    data = tmp_path_factory.mktemp("browser")
    port = free_port_block(8)
    text = demo_config(port, data).replace("anonymous_role: viewer", "anonymous_role: null")
    loaded = load_config_text(text, base_dir=data)
    stack = DemoStack(DemoPorts(port), SystemClock())

    def build() -> Runtime:
        rt = Runtime(loaded)
        with rt.db.begin() as conn:
            rt.security.users.create(conn, system_principal("tests"), ADMIN, PASSWORD, Role.ADMIN)
        return rt

    stack.start()
    try:
        served = ServedApp(
            build, port, app_state={"demo": stack}, tasks=lambda: [stack.traffic(rate=4.0)]
        )
        with served:
            yield Site(served, stack)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Browser]:
    path = tools.chromium_path()
    if path is None:  # the site fixture has skipped already
        raise RuntimeError("chromium vanished")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with every console error it met."""

    page: Page
    base: str
    shots: Path
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> Response | None:
        return self.page.goto(self.base + path, wait_until="load")

    def shoot(self, name: str) -> Path:
        target = self.shots / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        if os.environ.get(ARTIFACTS_ENV):
            keep = ROOT / "test-artifacts" / "browser"
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(target, keep / target.name)
        return target

    def log_in(self, user: str = ADMIN, password: str = PASSWORD) -> None:
        self.go("/login")
        self.page.fill("#username", user)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def fits_the_screen(self) -> bool:
        return bool(
            self.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        )


def open_tab(browser: Browser, site: Site, shots: Path, viewport: dict[str, int]) -> Tab:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    tab = Tab(page, site.url, shots)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.errors.append(f"console: {message.text} at {message.location}")

    def on_response(response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 400 and kind not in ("document",):
            tab.errors.append(f"{response.status} for {kind} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: tab.errors.append(f"page error: {exc}"))
    page.on("response", on_response)
    return tab


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def tab(browser: Browser, site: Site, shots: Path) -> Iterator[Tab]:
    made = open_tab(browser, site, shots, DESKTOP)
    yield made
    made.page.context.close()
    assert made.errors == [], "the browser reported errors:\n" + "\n".join(made.errors)


@pytest.fixture
def phone(browser: Browser, site: Site, shots: Path) -> Iterator[Tab]:
    made = open_tab(browser, site, shots, PHONE)
    yield made
    made.page.context.close()
    assert made.errors == [], "the browser reported errors:\n" + "\n".join(made.errors)


def alert_fingerprint(site: Site, name: str) -> str:
    async def find(rt: Runtime) -> Any:
        return next(v.alert.fingerprint for v in rt.alerts.views.alerts() if v.alert.name == name)

    return str(site.served.run(find))
