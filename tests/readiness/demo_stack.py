"""The demo stack as a separate process (``watchkeeper demo``), for the end-to-end test
and the benchmark: started on a free block of ports, waited for until every check has
run, stopped by its PID."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from watchkeeper.testing.server import free_port_block
from watchkeeper.testing.tools import stop_process

DEMO_CHECKS = 8  # targets in the demo config with PostgreSQL


class DemoProcess:
    def __init__(self, data_dir: Path, *, seconds: float = 240.0) -> None:
        self.port = free_port_block(8)
        self.data_dir = data_dir
        self.config = data_dir / "watchkeeper.yaml"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from watchkeeper.cli.main import main; main()",
                "demo",
                "--port",
                str(self.port),
                "--duration",
                str(seconds),
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the dashboard answers and every check has succeeded once."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    raise RuntimeError(f"the demo exited early: {err[-2000:]}")
                try:
                    items = client.get(f"{self.url}/api/v1/checks").json()["items"]
                except (httpx.HTTPError, ValueError, KeyError):
                    items = []
                if len(items) >= DEMO_CHECKS and all(i["last_success"] for i in items):
                    return
                time.sleep(0.5)
        raise TimeoutError(f"the demo was not ready within {timeout:g}s")

    def stop(self) -> None:
        stop_process(self.proc, 30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
