"""Real ``watchkeeper serve`` processes sharing one PostgreSQL database, for the cluster
tests and benchmarks: free loopback ports, one data directory each, one config file for
all (the port and the data directory come from the environment), stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from watchkeeper.testing.server import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # generous: a loaded machine starts three processes slowly
SERVE = "from watchkeeper.cli.main import main; main()"


def cluster_config(dsn: str, body: str, *, heartbeat: str = "1s") -> str:
    """A config every instance shares: listen port and data directory from the environment."""
    return (
        'server: {listen: "127.0.0.1:${WK_PORT}"}\n'
        'storage: {path: "${WK_DATA}", retention: 1d}\n'
        f"state: {{backend: postgres, dsn: '{dsn}'}}\n"
        f"cluster: {{heartbeat_interval: {heartbeat}}}\n"
        "security: {anonymous_role: viewer}\n" + body
    )


@dataclass
class Instance:
    name: str
    port: int
    data: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 5.0) -> Any:
        response = httpx.get(self.url + path, timeout=timeout)
        response.raise_for_status()
        return response.json()

    def cluster(self) -> dict[str, Any] | None:
        """``/api/v1/cluster`` as this instance sees it (``None`` while it does not answer)."""
        try:
            data: dict[str, Any] = self.get("/api/v1/cluster", timeout=2.0)
        except (httpx.HTTPError, ValueError):
            return None
        return data

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9, by PID."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=30)


class LocalCluster:
    """Instances of one config on this machine; every one is stopped on exit."""

    def __init__(self, workdir: Path, config_text: str, *, dsn: str) -> None:
        self.workdir = workdir
        self.dsn = dsn
        self.config = workdir / "watchkeeper.yaml"
        self.config.write_text(config_text)
        self.instances: list[Instance] = []

    def start(self, name: str | None = None) -> Instance:
        name = name or f"wk{len(self.instances)}"
        port = free_port()
        data = self.workdir / name
        data.mkdir(exist_ok=True)
        log_path = self.workdir / f"{name}.log"
        env = {
            **os.environ,
            "WK_PORT": str(port),
            "WK_DATA": str(data),
            "PYTHONPATH": str(ROOT / "src"),
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", SERVE, "serve", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        inst = Instance(name, port, data, log_path, proc)
        self.instances.append(inst)
        return inst

    def live(self) -> list[Instance]:
        return [i for i in self.instances if i.alive()]

    def wait(
        self, what: str, check: Callable[[], Any], timeout: float = START_TIMEOUT, every=0.1
    ) -> Any:
        """Poll ``check`` until it returns something truthy (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            for inst in self.instances:
                if not inst.alive() and inst.proc.returncode not in (None, -9, 75, 0):
                    raise AssertionError(f"{inst.name} exited:\n{inst.log()[-3000:]}")
            time.sleep(every)
        logs = "\n".join(f"--- {i.name}\n{i.log()[-2000:]}" for i in self.instances)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")

    def views(self) -> dict[str, dict[str, Any]]:
        out = {}
        for inst in self.live():
            view = inst.cluster()
            if view is not None and view.get("enabled"):
                out[inst.name] = view
        return out

    def leader(self) -> Instance | None:
        """The live instance that says it leads, when every live instance agrees."""
        views = self.views()
        if len(views) != len(self.live()):
            return None
        leaders = {v["leader"]["id"] for v in views.values() if v.get("leader")}
        leading = [n for n, v in views.items() if v["role"] == "leader"]
        if len(leading) != 1 or leaders != {views[leading[0]]["self"]}:
            return None
        return next(i for i in self.instances if i.name == leading[0])

    def wait_formed(self, timeout: float = START_TIMEOUT) -> Instance:
        """Every live instance answers, sees all the others live and agrees on one leader."""

        def formed() -> Instance | None:
            leader = self.leader()
            if leader is None:
                return None
            views = self.views()
            ids = {v["self"] for v in views.values()}
            for v in views.values():
                if {m["id"] for m in v["members"] if m["live"]} != ids:
                    return None
            return leader

        result: Instance = self.wait("the cluster to form", formed, timeout)
        return result

    def stop(self) -> None:
        """SIGTERM to every live instance at once, then wait for each (kill -9 after 30s)."""
        live = self.live()
        for inst in live:
            os.kill(inst.pid, signal.SIGTERM)
        for inst in live:
            inst.terminate()

    def db_query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


@contextlib.contextmanager
def local_cluster(workdir: Path, config_text: str, *, dsn: str) -> Iterator[LocalCluster]:
    cluster = LocalCluster(workdir, config_text, dsn=dsn)
    try:
        yield cluster
    finally:
        cluster.stop()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, default=str)
