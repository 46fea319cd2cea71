"""The stored performance baseline (``--baseline FILE``): per endpoint, the p50/p95/p99
latency and error rate of an earlier run. A readiness JSON report is accepted as a
baseline too (its performance figures are used). The file is written when it does not
exist yet, or with ``--update-baseline``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchkeeper.core.clock import rfc3339
from watchkeeper.core.errors import ConfigError

BASELINE_KIND = "watchkeeper.performance-baseline"
BASELINE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Baseline:
    p50: float
    p95: float
    p99: float
    error_rate: float


def read_baseline(path: Path) -> dict[str, Baseline]:
    """Endpoint key -> figures; ``{}`` when the file does not exist. Raises ConfigError
    for a file that is not a baseline."""
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the baseline: {exc}") from None
    endpoints: Mapping[str, Any] | None = None
    if isinstance(raw, dict) and raw.get("kind") == BASELINE_KIND:
        endpoints = raw.get("endpoints")
    elif isinstance(raw, dict) and isinstance(raw.get("results"), list):
        for result in raw["results"]:
            if isinstance(result, dict) and result.get("id") == "performance.baseline":
                endpoints = (result.get("data") or {}).get("endpoints")
    if not isinstance(endpoints, dict):
        raise ConfigError(
            f"{path} is neither a performance baseline nor a readiness JSON report with "
            "performance figures; delete it to record a new baseline"
        )
    out: dict[str, Baseline] = {}
    for key, fig in endpoints.items():
        try:
            out[str(key)] = Baseline(
                float(fig["p50"]), float(fig["p95"]), float(fig["p99"]), float(fig["error_rate"])
            )
        except (KeyError, TypeError, ValueError):
            raise ConfigError(f"{path}: endpoint {key!r} lacks p50/p95/p99/error_rate") from None
    return out


def write_baseline(path: Path, figures: Mapping[str, Baseline], at: float) -> None:
    doc = {
        "kind": BASELINE_KIND,
        "version": BASELINE_VERSION,
        "recorded_at": rfc3339(at),
        "endpoints": {
            key: {"p50": b.p50, "p95": b.p95, "p99": b.p99, "error_rate": b.error_rate}
            for key, b in sorted(figures.items())
        },
    }
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
