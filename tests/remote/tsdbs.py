"""Real Prometheus and VictoriaMetrics processes for the remote tests and benchmarks: each
on a free loopback port with its own temporary data directory, stopped by its PID."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

import httpx

from watchkeeper.testing import tools
from watchkeeper.testing.server import free_port
from watchkeeper.testing.tools import stop_process


class TSDBProcess:
    """One started binary. ``stop()`` ends it by its PID (SIGTERM, then SIGKILL)."""

    def __init__(self, name: str, argv: Sequence[str], url: str, workdir: Path) -> None:
        self.name = name
        self.url = url
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self._log: IO[bytes] = self.log_path.open("wb")
        self.proc = subprocess.Popen(list(argv), stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready in {timeout:g}s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        stop_process(self.proc)
        self._log.close()


def victoriametrics_binary() -> str | None:
    return tools.victoriametrics_path()


def prometheus_binary() -> str | None:
    return tools.prometheus_path()


def start_victoriametrics(workdir: Path, *, port: int | None = None) -> TSDBProcess:
    binary = victoriametrics_binary()
    if binary is None:
        raise RuntimeError("victoria-metrics is not installed")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    vm = TSDBProcess(
        "victoria-metrics",
        [
            binary,
            f"-storageDataPath={workdir / 'vm-data'}",
            f"-httpListenAddr=127.0.0.1:{port}",
            "-retentionPeriod=100y",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-loggerLevel=WARN",
        ],
        f"http://127.0.0.1:{port}",
        workdir,
    )
    vm.wait_ready("/health")
    return vm


def vm_force_flush(vm: TSDBProcess) -> None:
    """Make everything VictoriaMetrics received searchable now (it buffers about 1s)."""
    httpx.get(vm.url + "/internal/force_flush", timeout=10.0).raise_for_status()


def start_prometheus(
    workdir: Path,
    config: str,
    *,
    receiver: bool = False,
    port: int | None = None,
) -> TSDBProcess:
    binary = prometheus_binary()
    if binary is None:
        raise RuntimeError("prometheus is not installed")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "prometheus.yml"
    config_path.write_text(config)
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'prom-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=100y",
        "--log.level=warn",
    ]
    if receiver:
        argv.append("--web.enable-remote-write-receiver")
    prom = TSDBProcess("prometheus", argv, f"http://127.0.0.1:{port}", workdir)
    prom.wait_ready("/-/ready")
    return prom


@contextlib.contextmanager
def running(process: TSDBProcess) -> Iterator[TSDBProcess]:
    try:
        yield process
    finally:
        process.stop()
