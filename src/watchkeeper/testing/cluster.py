"""Real ``watchkeeper serve`` processes sharing one PostgreSQL database, for the cluster
tests, the benchmarks and anyone trying cluster mode on one machine: free loopback ports,
one data directory each, one config file for all (the port and the data directory come
from the environment as ``WK_PORT`` and ``WK_DATA``), stopped by PID::

    with local_cluster(workdir, cluster_config(dsn, body), dsn=dsn) as cl:
        for _ in range(3):
            cl.start()
        leader = cl.wait_formed()
        leader.kill()
        new = cl.wait("a new leader", cl.leader, timeout=20, every=0.05)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

import watchkeeper
from watchkeeper.testing.server import FakeServer, free_port
from watchkeeper.testing.tools import stop_process
from watchkeeper.testing.webhook_sink import WebhookSink

SRC = Path(watchkeeper.__file__).resolve().parents[1]  # the folder that holds the package
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
    headers: dict[str, str] = field(default_factory=dict)  # sent with every request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def get(self, path: str, timeout: float = 5.0) -> Any:
        response = httpx.get(self.url + path, headers=self.headers, timeout=timeout)
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
        return stop_process(self.proc, timeout)


class LocalCluster:
    """Instances of one config on this machine; every one is stopped on exit.

    ``config`` is the config's text (written to ``workdir/watchkeeper.yaml``) or the path
    of a config file used as it is. Each instance is given a free port and a data
    directory of its own in the environment variables ``port_env`` and ``data_env``, on
    top of this process's environment and ``env``; ``headers`` go with every request the
    helpers make (e.g. an API token where anonymous visitors may not read the cluster)."""

    def __init__(
        self,
        workdir: Path,
        config: str | Path,
        *,
        dsn: str,
        env: Mapping[str, str] | None = None,
        port_env: str = "WK_PORT",
        data_env: str = "WK_DATA",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.dsn = dsn
        if isinstance(config, Path):
            self.config = config.resolve()
        else:
            self.config = workdir / "watchkeeper.yaml"
            self.config.write_text(config)
        self.env = dict(env or {})
        self.port_env = port_env
        self.data_env = data_env
        self.headers = dict(headers or {})
        self.instances: list[Instance] = []

    def start(self, name: str | None = None) -> Instance:
        name = name or f"wk{len(self.instances)}"
        port = free_port()
        data = self.workdir / name
        data.mkdir(exist_ok=True)
        log_path = self.workdir / f"{name}.log"
        env = {
            **os.environ,
            **self.env,
            self.port_env: str(port),
            self.data_env: str(data),
            "PYTHONPATH": str(SRC),
            "PYTHONUNBUFFERED": "1",
        }
        with log_path.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, a fixed command line
                [sys.executable, "-c", SERVE, "serve", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        inst = Instance(name, port, data, log_path, proc, headers=dict(self.headers))
        self.instances.append(inst)
        return inst

    def live(self) -> list[Instance]:
        return [i for i in self.instances if i.alive()]

    def wait(
        self,
        what: str,
        check: Callable[[], Any],
        timeout: float = START_TIMEOUT,
        every: float = 0.1,
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
        out: dict[str, dict[str, Any]] = {}
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

    def leader_other_than(self, old: Instance) -> Instance | None:
        """:meth:`leader`, once it is not ``old`` (which may not know yet that it lost)."""
        found = self.leader()
        return found if found is not None and found is not old else None

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
            with contextlib.suppress(ProcessLookupError):  # it may have exited meanwhile
                os.kill(inst.pid, signal.SIGTERM)
        for inst in live:
            inst.terminate()

    def db_query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())  # type: ignore[arg-type]


@contextlib.contextmanager
def local_cluster(
    workdir: Path, config: str | Path, *, dsn: str, **options: Any
) -> Iterator[LocalCluster]:
    """A :class:`LocalCluster` (same arguments) whose instances are stopped on exit."""
    cluster = LocalCluster(workdir, config, dsn=dsn, **options)
    try:
        yield cluster
    finally:
        cluster.stop()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, sort_keys=True, default=str)


# -- an alert to fail over with: services down, a firing and a resolved notification each --

SERVICE_DOWN_RULES = """groups:
  - name: availability
    interval: 1s
    rules:
      - alert: ServiceDown
        expr: probe_success == 0
        for: 0s
"""


class DownTargets:
    """HTTP targets on loopback that answer 500 until healed (``down = False``)."""

    def __init__(self) -> None:
        self.down = True
        self.server = FakeServer(self.app)

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status = 500 if self.down else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def service_down_body(services: int, targets_url: str, hook_url: str) -> str:
    """Config after :func:`cluster_config`'s part: ``services`` checks of ``targets_url``
    every second, :data:`SERVICE_DOWN_RULES` in ``rules.yml`` beside the config, one alert
    group per service sent to the webhook ``hook_url``."""
    checks = "".join(
        f"  - name: svc{i}\n    checks:\n      - {{type: http, name: health, "
        f"url: '{targets_url}/svc{i}', interval: 1s, timeout: 900ms}}\n"
        for i in range(services)
    )
    return (
        "global: {evaluation_interval: 1s}\n"
        f"services:\n{checks}"
        "rule_files: [rules.yml]\n"
        "notify: {send_timeout: 20s, lease: 60s, backoff_initial: 200ms, backoff_max: 1s}\n"
        "alerting:\n"
        "  route: {receiver: hook, group_by: [alertname, service], group_wait: 0s, "
        "group_interval: 1s, repeat_interval: 1h}\n"
        f"  receivers: [{{name: hook, webhook_configs: [{{url: '{hook_url}'}}]}}]\n"
    )


def delivered_events(sink: WebhookSink) -> Counter[tuple[str, str]]:
    """How many times each (alert group, firing or resolved) reached the sink."""
    return Counter((d.payload["groupKey"], d.status) for d in sink.deliveries())


def service_down_events(services: int) -> set[tuple[str, str]]:
    """Every event :func:`service_down_body` makes once its services fail, then heal."""
    return {
        (f'{{}}:{{alertname="ServiceDown", service="svc{i}"}}', status)
        for i in range(services)
        for status in ("firing", "resolved")
    }
