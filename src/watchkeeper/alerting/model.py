"""Alerts as they enter alert management, from the rule evaluator or the Alertmanager API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from watchkeeper.core.labels import Labels

_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_SEPARATOR = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus' label-set fingerprint (FNV-1a 64 over sorted name/value pairs), in hex."""
    h = _FNV64_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode():
                h ^= byte
                h = (h * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
            h ^= _SEPARATOR
            h = (h * _FNV64_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


@dataclass(frozen=True, slots=True)
class AlertInput:
    """One alert instance as a sender reports it (Alertmanager's ``PostableAlert``).

    ``ends_at`` is ``None`` or in the future while the alert fires; a past ``ends_at``
    resolves it. Senders re-send firing alerts periodically; alert management expires an
    alert that is not re-sent before its ``ends_at``.
    """

    labels: Labels
    annotations: Mapping[str, str]
    starts_at: float
    ends_at: float | None = None
    generator_url: str = ""
    source: str = "api"  # "rule" for Watchkeeper's own rules, "api" for external senders
    value: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    def is_resolved_at(self, now: float) -> bool:
        return self.ends_at is not None and self.ends_at <= now


class AlertSink(Protocol):
    """Where evaluated alerts go (alert management, or a remote Alertmanager)."""

    async def put(self, alerts: Sequence[AlertInput]) -> None: ...
