"""Cheap HTTP targets in a process of their own: every request is answered ``200 ok`` and
noted (path, arrival time, the ``X-From`` header) with the timing of a process that does
nothing else; ``GET /__log`` returns the notes. Started on a free loopback port, stopped
by PID.

Run as a module: ``python targets.py PORT``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from watchkeeper.testing.server import free_port

Scope = dict[str, Any]


def make_app() -> Any:
    notes: list[tuple[str, float, str]] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        at = time.time()
        if scope["path"] == "/__log":
            body = json.dumps(notes).encode()
        else:
            headers = dict(scope["headers"])
            notes.append((scope["path"], at, headers.get(b"x-from", b"?").decode()))
            body = b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    return app


class TargetProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TargetProcess:
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(root / "src")}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__)), str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/__log", timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the target process did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def log(self) -> list[tuple[str, float, str]]:
        response = httpx.get(self.url + "/__log", timeout=30)
        return [(p, float(t), by) for p, t, by in response.json()]


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(make_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
