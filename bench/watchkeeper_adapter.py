"""Watchkeeper as a system under test of the shared benchmark harness (W1-W4), so that it
runs on the same workloads as Prometheus, Alertmanager and blackbox_exporter.

Run a workload from the folder that holds the harness, with this folder on the path::

    PYTHONPATH=<repo>/bench python3 bench/w3_alert_latency.py \\
        --adapter prometheus --adapter watchkeeper_adapter:WatchkeeperAdapter

The adapter starts ``watchkeeper serve`` (from the project's virtualenv, or
``$WATCHKEEPER_BIN``) on a free loopback port with a config rendered from the workload's
spec: scrape targets as ``scrape`` checks of job ``bench``, HTTP endpoints as ``http``
checks, the rules as a Prometheus rule file and the notification route as an
Alertmanager-format route with one webhook receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from lib.adapters import Adapter, dur  # the harness's package
from lib.common import LOOPBACK, free_port, http_get, metric_sum, prom_scalar

REPO = Path(__file__).resolve().parents[1]


def watchkeeper_bin() -> str:
    return os.environ.get("WATCHKEEPER_BIN") or str(REPO / ".venv" / "bin" / "watchkeeper")


def render_config(spec: dict[str, Any], workdir: str, port: int) -> dict[str, Any]:
    g = spec.get("global", {})
    scrape_interval = g.get("scrape_interval_s") or 15
    services: list[dict[str, Any]] = []
    sc = spec.get("scrape")
    if sc:
        checks = [
            {
                "type": "scrape",
                "name": f"t{i}",
                "job": "bench",
                "url": f"http://{t['address']}{t.get('path', '/metrics')}",
                "interval": dur(sc["interval_s"]),
                "timeout": dur(min(sc.get("timeout_s", sc["interval_s"]), sc["interval_s"])),
            }
            for i, t in enumerate(sc["targets"])
        ]
        services.append({"name": "bench", "checks": checks})
    hc = spec.get("http_checks")
    if hc:
        checks = [
            {
                "type": "http",
                "name": f"c{i}",
                "job": "blackbox",
                "url": url,
                "interval": dur(hc["interval_s"]),
                "timeout": dur(min(hc.get("timeout_s", 5), hc["interval_s"])),
            }
            for i, url in enumerate(hc["urls"])
        ]
        services.append({"name": "checks", "checks": checks})
    config: dict[str, Any] = {
        "server": {"listen": f"{LOOPBACK}:{port}"},
        "storage": {"path": os.path.join(workdir, "wk-data")},
        "global": {"scrape_interval": dur(scrape_interval)},
        "security": {"anonymous_role": "viewer"},
        "services": services,
    }
    rules = spec.get("rules")
    if rules:
        config["global"]["evaluation_interval"] = dur(rules["interval_s"])
        group = {
            "name": "bench",
            "interval": dur(rules["interval_s"]),
            "rules": [
                {
                    "alert": a["name"],
                    "expr": f"{a['metric']} {a['op']} {float(a['threshold'])!r}",
                    "for": dur(a.get("for_s", 0)),
                    **({"labels": a["labels"]} if a.get("labels") else {}),
                }
                for a in rules["alerts"]
            ],
        }
        path = os.path.join(workdir, "rules.yml")
        with open(path, "w") as f:
            json.dump({"groups": [group]}, f, indent=1)
        config["rule_files"] = [path]
    notify = spec.get("notify")
    receiver = {"name": "bench", "webhook_configs": [{"url": "http://127.0.0.1:9/unused"}]}
    route: dict[str, Any] = {"receiver": "bench"}
    if notify:
        receiver["webhook_configs"] = [{"url": notify["webhook_url"], "send_resolved": True}]
        route["group_by"] = notify.get("group_by", ["alertname"])
        for key, name in (
            ("group_wait_s", "group_wait"),
            ("group_interval_s", "group_interval"),
            ("repeat_interval_s", "repeat_interval"),
        ):
            if notify.get(key) is not None:
                route[name] = dur(notify[key])
    config["alerting"] = {"route": route, "receivers": [receiver]}
    return config


class WatchkeeperAdapter(Adapter):
    name = "watchkeeper"
    query_url = ""

    def versions(self) -> dict[str, Any]:
        out = subprocess.run(
            [watchkeeper_bin(), "version"], capture_output=True, text=True, timeout=60
        )
        return {"watchkeeper": out.stdout.strip() or out.stderr.strip()}

    def start(self, spec: dict[str, Any]) -> None:
        port = free_port()
        config = render_config(spec, self.workdir, port)
        path = self._write_json("watchkeeper.yaml", config)
        self.base_url = f"http://{LOOPBACK}:{port}"
        self.query_url = self.base_url + "/prometheus"
        self._spawn(
            "watchkeeper",
            [watchkeeper_bin(), "serve", "--config", path],
            f"{self.base_url}/readyz",
            timeout=120.0,
        )

    def ingested_samples(self) -> float | None:
        text = http_get(self.base_url + "/metrics").decode()
        return metric_sum(text, "watchkeeper_tsdb_samples_appended_total")

    def scrape_health(self, window_s: float) -> dict[str, Any]:
        w = f"{int(window_s)}s"
        out: dict[str, Any] = {}
        for key, query in (
            (
                "max_scrape_duration_s",
                f'max(max_over_time(scrape_duration_seconds{{job="bench"}}[{w}]))',
            ),
            ("targets_down_now", 'count(up{job="bench"} == 0) or vector(0)'),
            (
                "targets_ever_down_in_window",
                f'count(min_over_time(up{{job="bench"}}[{w}]) == 0) or vector(0)',
            ),
            ("targets_up_now", 'count(up{job="bench"} == 1) or vector(0)'),
        ):
            try:
                out[key] = prom_scalar(self.query_url, query)
            except Exception as exc:  # recorded in the JSON, not fatal
                out[key] = f"error: {exc}"
        return out

    def check_health(self, window_s: float) -> dict[str, Any]:
        w = f"{int(window_s)}s"
        out: dict[str, Any] = {}
        for key, query in (
            ("probes_failed_now", "count(probe_success == 0) or vector(0)"),
            ("probes_ok_now", "count(probe_success == 1) or vector(0)"),
            ("max_probe_duration_s", f"max(max_over_time(probe_duration_seconds[{w}]))"),
        ):
            try:
                out[key] = prom_scalar(self.query_url, query)
            except Exception as exc:  # recorded in the JSON
                out[key] = f"error: {exc}"
        return out
