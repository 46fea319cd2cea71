"""Finding the system tools some tests need (PostgreSQL, Chromium, amtool, Prometheus,
VictoriaMetrics), and stopping the processes started from them.

Where a tool is missing the test is skipped with a loud reason, unless
``WATCHKEEPER_REQUIRE_TOOLS=1`` (set by ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

REQUIRE_ENV = "WATCHKEEPER_REQUIRE_TOOLS"
PG_HOST = os.environ.get("WATCHKEEPER_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("WATCHKEEPER_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("WATCHKEEPER_TEST_PG_USER", "postgres")


def tools_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def find_binary(*names: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in extra_dirs:
            candidate = Path(d) / name
            if candidate.exists():
                return str(candidate)
    return None


def chromium_path() -> str | None:
    return find_binary("chromium", "chromium-browser", "google-chrome")


def amtool_path() -> str | None:
    return find_binary("amtool", "prometheus-alertmanager-amtool")


def prometheus_path() -> str | None:
    return find_binary("prometheus")


def victoriametrics_path() -> str | None:
    return find_binary("victoria-metrics", "victoria-metrics-prod", extra_dirs=("/usr/bin",))


def postgres_available(timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_dsn(dbname: str = "postgres") -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{dbname}"


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """SIGTERM to a process this code started, SIGKILL if it has not ended after
    ``timeout`` seconds; returns its exit status."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10)
