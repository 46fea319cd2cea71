"""Default rule packs, one Prometheus rule file per platform, shipped with the package.

:data:`RULE_PACKS` is the explicit table (name -> rule file); each pack has promtool-format
unit tests in ``tests/<name>.test.yml`` (:func:`rule_pack_tests`). A service enables a pack
by listing its file among ``rule_files`` (the runtime resolves names through this table).

Every alert carries ``severity`` and the annotations ``summary``, ``description`` and
``runbook`` (what to look at first and how to fix it). Thresholds are the documented
defaults (for example p95 latency above 1 s, connections above 80 % of the maximum,
newest backup older than 26 h); copy a pack and edit it to change them.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent

RULE_PACKS: dict[str, Path] = {
    "http": _HERE / "http.yml",
    "scrape": _HERE / "scrape.yml",
    "vercel": _HERE / "vercel.yml",
    "render": _HERE / "render.yml",
    "supabase": _HERE / "supabase.yml",
    "postgres": _HERE / "postgres.yml",
    "github": _HERE / "github.yml",
    "heartbeat": _HERE / "heartbeat.yml",
}


def rule_pack(name: str) -> Path:
    """The rule file of pack ``name``; ``KeyError`` names the known packs."""
    try:
        return RULE_PACKS[name]
    except KeyError:
        raise KeyError(f"unknown rule pack {name!r}; known: {', '.join(RULE_PACKS)}") from None


def rule_pack_tests(name: str) -> Path:
    """The promtool-format unit tests of pack ``name``."""
    rule_pack(name)
    return _HERE / "tests" / f"{name}.test.yml"
