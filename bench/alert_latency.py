"""Alert latency, end to end and from ingest to notification, side by side with
Prometheus + Alertmanager (issue: alert management, "Latency").

For each trial a fake target flips ``bench_alert_value{rep=...}`` from 0 to 100 at a random
phase; the rule ``bench_alert_value > 10`` (for 0s) fires; a webhook receives the
notification. Measured per system, per trial:

* end to end: flip -> webhook arrival (firing), and the same for the flip back (resolved);
* ingest to notification: the moment the target served the first scrape that carried the
  new value -> webhook arrival. This is what is left once the value is in the system.

Scrape and evaluation intervals are 1 s, ``group_wait: 0s``, ``group_interval: 1s``.
The systems run through the adapters of the shared benchmark harness (its folder is
``--harness``, default ``../shared/bench`` from the repository root), Watchkeeper through
``bench/watchkeeper_adapter.py``. Prints one JSON document on stdout.

    .venv/bin/python bench/alert_latency.py --trials 20
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
THRESHOLD = 10.0
BAD = 100.0


def log(*parts: object) -> None:
    print("[alert-latency]", *parts, file=sys.stderr, flush=True)


class FlipTarget:
    """Serves /metrics and receives POST /hook; records when each value was first served
    and when each notification arrived."""

    def __init__(self, adapter: Any) -> None:
        self.lock = threading.Condition()
        self.values: dict[str, float] = {}
        self.first_served: dict[tuple[str, float], float] = {}
        self.arrivals: list[tuple[float, str, str]] = []  # (time, rep, status)
        self.scrapes = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer.lock:
                    outer.scrapes += 1
                    now = time.time()
                    for rep, value in outer.values.items():
                        outer.first_served.setdefault((rep, value), now)
                    body = "# TYPE bench_alert_value gauge\n" + "".join(
                        f'bench_alert_value{{rep="{r}"}} {v}\n' for r, v in outer.values.items()
                    )
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                arrived = time.time()
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size)
                try:
                    items = outer_adapter.parse_notification(body)
                except Exception:  # a body the adapter cannot parse is not an arrival
                    items = []
                with outer.lock:
                    for item in items:
                        rep = item["labels"].get("rep", "")
                        outer.arrivals.append((arrived, rep, str(item["status"])))
                    outer.lock.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        outer_adapter = adapter
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def set(self, rep: str, value: float) -> float:
        with self.lock:
            self.values = {rep: value}
            self.first_served.pop((rep, value), None)
            return time.time()

    def wait(self, rep: str, status: str, after: float, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for t, r, s in self.arrivals:
                    if r == rep and s == status and t >= after:
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(min(left, 0.5))

    def served(self, rep: str, value: float) -> float | None:
        with self.lock:
            return self.first_served.get((rep, value))

    def close(self) -> None:
        self.httpd.shutdown()


def spec_for(port: int) -> dict[str, Any]:
    return {
        "global": {"scrape_interval_s": 1},
        "scrape": {
            "interval_s": 1,
            "timeout_s": 1,
            "targets": [{"address": f"127.0.0.1:{port}", "path": "/metrics"}],
        },
        "rules": {
            "interval_s": 1,
            "alerts": [
                {
                    "name": "BenchValueHigh",
                    "metric": "bench_alert_value",
                    "op": ">",
                    "threshold": THRESHOLD,
                    "for_s": 0,
                }
            ],
        },
        "notify": {
            "webhook_url": f"http://127.0.0.1:{port}/hook",
            "group_by": ["alertname", "rep"],
            "group_wait_s": 0,
            "group_interval_s": 1,
            "repeat_interval_s": 3600,
        },
    }


def stats(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pct(p: float) -> float:
        k = max(0, min(len(ordered) - 1, round(p * (len(ordered) - 1))))
        return round(ordered[k], 4)

    return {
        "n": len(ordered),
        "p50": pct(0.5),
        "p99": pct(0.99),
        "max": round(ordered[-1], 4),
        "mean": round(statistics.fmean(ordered), 4),
    }


def run_system(
    adapter_name: str, trials: int, timeout: float, rnd: random.Random
) -> dict[str, Any]:
    from lib.adapters import load_adapter  # the harness's package
    from lib.common import make_workdir, wait_until

    workdir = make_workdir("lat")
    adapter = load_adapter(adapter_name)(workdir)
    target = FlipTarget(adapter)
    rows: list[dict[str, float]] = []
    out: dict[str, Any] = {"adapter": adapter_name}
    try:
        adapter.start(spec_for(target.port))
        out["versions"] = adapter.versions()
        wait_until(lambda: target.scrapes >= 3, 60, what="first scrapes")
        for i in range(trials):
            rep = f"r{i}"
            target.set(rep, 0.0)
            time.sleep(rnd.uniform(1.5, 2.5))
            t0 = target.set(rep, BAD)
            fired = target.wait(rep, "firing", t0, timeout)
            row: dict[str, float] = {}
            if fired is not None:
                row["fire_e2e_s"] = fired - t0
                served = target.served(rep, BAD)
                if served is not None:
                    row["fire_ingest_to_notify_s"] = fired - served
                time.sleep(rnd.uniform(0.5, 1.5))
                t1 = target.set(rep, 0.0)
                resolved = target.wait(rep, "resolved", t1, timeout)
                if resolved is not None:
                    row["resolve_e2e_s"] = resolved - t1
                    served0 = target.served(rep, 0.0)
                    if served0 is not None:
                        row["resolve_ingest_to_notify_s"] = resolved - served0
            rows.append(row)
            log(adapter_name, rep, {k: round(v, 3) for k, v in row.items()})
    except Exception as exc:  # recorded in the output, the other system still runs
        out["error"] = repr(exc)
    finally:
        adapter.stop()
        target.close()
        shutil.rmtree(workdir, ignore_errors=True)
    keys = ("fire_e2e_s", "fire_ingest_to_notify_s", "resolve_e2e_s", "resolve_ingest_to_notify_s")
    out["stats"] = {k: stats([r[k] for r in rows if k in r]) for k in keys}
    out["timeouts"] = sum(1 for r in rows if "fire_e2e_s" not in r or "resolve_e2e_s" not in r)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--harness", default=str(HERE.parent.parent / "shared" / "bench"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--system",
        action="append",
        default=None,
        help="adapter names (default: prometheus and watchkeeper_adapter:WatchkeeperAdapter)",
    )
    args = ap.parse_args()
    harness = Path(args.harness).resolve()
    if not (harness / "lib" / "adapters.py").exists():
        print(f"no benchmark harness at {harness}; pass --harness", file=sys.stderr)
        return 2
    sys.path.insert(0, str(harness))
    sys.path.insert(0, str(HERE))
    systems = args.system or ["prometheus", "watchkeeper_adapter:WatchkeeperAdapter"]
    if args.trials < 1 or args.trials > 200:
        print("--trials must be 1..200", file=sys.stderr)
        return 2
    rnd = random.Random(args.seed)
    results = [run_system(name, args.trials, args.timeout, rnd) for name in systems]
    report: dict[str, Any] = {"trials": args.trials, "results": results}
    by_name = {r["adapter"]: r["stats"] for r in results}
    wk = by_name.get("watchkeeper_adapter:WatchkeeperAdapter")
    prom = by_name.get("prometheus")
    if wk and prom and prom["fire_e2e_s"].get("n") and wk["fire_ingest_to_notify_s"].get("n"):
        report["ratios"] = {
            "pair_fire_e2e_p50_over_watchkeeper_ingest_to_notify_p99": round(
                prom["fire_e2e_s"]["p50"] / max(wk["fire_ingest_to_notify_s"]["p99"], 1e-6), 1
            ),
        }
    json.dump(report, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
