"""Fixtures of the anomaly tests: the NAB corpus (found next to the repository or through
WATCHKEEPER_NAB_DATA; a loud skip when absent) and small synthetic series."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from watchkeeper.anomaly.nab.corpus import NabFile, load_corpus

NAB_ENV = "WATCHKEEPER_NAB_DATA"
REPO_ROOT = Path(__file__).resolve().parents[2]


def nab_root() -> Path:
    configured = os.environ.get(NAB_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "nab"


def require_nab() -> Path:
    root = nab_root()
    require(
        (root / "combined_windows.json").is_file() and (root / "data").is_dir(),
        f"the NAB corpus at {root}",
        f"set {NAB_ENV} to a folder holding data/ and combined_windows.json",
    )
    return root


@pytest.fixture(scope="session")
def nab_corpus() -> list[NabFile]:
    root = require_nab()
    return load_corpus(root / "data", root / "combined_windows.json")


def noisy_series(n: int, seed: int, scale: float = 1.0, gaussian: bool = False) -> np.ndarray:
    """A wave with a 288-sample period (a day of 5-minute samples) plus noise, bounded
    (uniform) by default: normal behaviour with nothing to alert on."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    noise = rng.normal(0, scale, n) if gaussian else rng.uniform(-2 * scale, 2 * scale, n)
    wave: np.ndarray = 10.0 + 3.0 * np.sin(2 * np.pi * t / 288) + noise
    return wave
