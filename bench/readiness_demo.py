"""How long `watchkeeper validate` takes on the demo stack: the demo runs as its own
process (every platform fake, the webhook receivers, the running Watchkeeper), a scratch
PostgreSQL database with one table serves the restore drill, and `validate
--send-test-alerts` runs as a separate process --runs times. Prints, per run, the wall
time of the command (imports included) and of the validation itself (from the JSON
report), the slowest checks and the statuses.

    .venv/bin/python bench/readiness_demo.py [--runs 3] [--requests 100]

Bounded: the demo is stopped after --demo-seconds; each validate run has a 300 s limit.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from watchkeeper.testing import tools
from watchkeeper.testing.server import free_port_block


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> float:
    t0 = time.monotonic()
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError("the demo exited early")
            try:
                items = client.get(f"{url}/api/v1/checks").json()["items"]
            except (httpx.HTTPError, ValueError, KeyError):
                items = []
            if items and all(i["last_success"] for i in items):
                return time.monotonic() - t0
            time.sleep(0.5)
    raise TimeoutError("the demo was not ready in time")


def main(runs: int, requests: int, demo_seconds: float) -> None:
    port = free_port_block(8)
    scratch = f"wk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    dsn = tools.postgres_dsn(scratch)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE quotes (id serial PRIMARY KEY, premium numeric, zip text)")
        conn.execute(
            "INSERT INTO quotes (premium, zip) "
            "SELECT 180 + i, '94107' FROM generate_series(1, 10000) AS i"
        )
    with tempfile.TemporaryDirectory(prefix="wk-bench-readiness-") as tmp:
        data = Path(tmp) / "demo"
        demo = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from watchkeeper.cli.main import main; main()",
                "demo",
                "--port",
                str(port),
                "--duration",
                str(demo_seconds),
                "--data-dir",
                str(data),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            ready = wait_ready(f"http://127.0.0.1:{port}", demo)
            print(f"demo on ports {port}..{port + 7}, every check ran once after {ready:.1f} s")
            config = Path(tmp) / "validate.yaml"
            config.write_text(
                (data / "watchkeeper.yaml").read_text(encoding="utf-8") + "\nreadiness:\n"
                f"  backups: {{restore_drill: {{dsn: '{dsn}'}}}}\n"
                f"  performance: {{requests: {requests}, concurrency: 10}}\n",
                encoding="utf-8",
            )
            walls, inner = [], []
            for n in range(1, runs + 1):
                out = Path(tmp) / f"report-{n}.json"
                t0 = time.monotonic()
                done = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        "from watchkeeper.cli.main import main; main()",
                        "validate",
                        "--config",
                        str(config),
                        "--send-test-alerts",
                        "--format",
                        "json",
                        "--output",
                        str(out),
                        "--baseline",
                        str(Path(tmp) / "baseline.json"),
                        "--no-store",
                    ],
                    capture_output=True,
                    timeout=300,
                    check=False,
                )
                wall = time.monotonic() - t0
                report = json.loads(out.read_text(encoding="utf-8"))
                walls.append(wall)
                inner.append(float(report["duration_seconds"]))
                s = report["summary"]
                slow = sorted(report["results"], key=lambda r: -r["duration_seconds"])[:5]
                print(
                    f"run {n}: command {wall:.1f} s (exit {done.returncode}), validation "
                    f"{report['duration_seconds']:.1f} s; {s['total']} checks: {s['pass']} pass, "
                    f"{s['warn']} warn, {s['fail']} fail, {s['skip']} skip, {s['error']} error"
                )
                print(
                    "  slowest: "
                    + ", ".join(f"{r['id']} {r['duration_seconds']:.1f}s" for r in slow)
                )
            print(
                f"validation: median {statistics.median(inner):.1f} s, max {max(inner):.1f} s; "
                f"command incl. start-up: median {statistics.median(walls):.1f} s, "
                f"max {max(walls):.1f} s"
            )
        finally:
            if demo.poll() is None:
                demo.terminate()
                demo.wait(timeout=30)
            with psycopg.connect(tools.postgres_dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--demo-seconds", type=float, default=600.0)
    args = parser.parse_args()
    main(args.runs, args.requests, args.demo_seconds)
