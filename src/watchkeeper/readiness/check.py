"""The check contract.

A check is a small class with an ``id`` (``category.name``), a ``category``, a
``title`` and an async :meth:`Check.run` that returns a
:class:`~watchkeeper.readiness.model.Verdict` (data, never prints). It is listed in
:data:`watchkeeper.readiness.registry.CHECKS`; :meth:`Check.instances` may turn one
class into several checks (one per custom check in the config). The runner bounds every
check by its timeout and turns crashes into ``error`` results, so a check only raises
for what it cannot judge.

Everything a check may use comes in the :class:`CheckContext`: the loaded config, the
run's options, an injected clock and HTTP client, the collectors' evidence (gathered once
and shared) and the running instance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from watchkeeper.config.loader import LoadedConfig
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock
from watchkeeper.readiness.config import ReadinessConfig
from watchkeeper.readiness.evidence import Evidence
from watchkeeper.readiness.instance import InstanceClient
from watchkeeper.readiness.model import Category, Detail, FailOn, Status, Verdict, worst


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What one validation was asked to do."""

    only: frozenset[Category] = frozenset()  # empty: every category
    send_test_alerts: bool = False
    rollback_drill: bool = False
    baseline: Path | None = None
    update_baseline: bool = False
    fail_on: FailOn = FailOn.FAIL
    instance_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "only": sorted(c.value for c in self.only),
            "send_test_alerts": self.send_test_alerts,
            "rollback_drill": self.rollback_drill,
            "baseline": self.baseline.name if self.baseline else None,
            "fail_on": self.fail_on.value,
        }


@dataclass(frozen=True, slots=True)
class CheckContext:
    loaded: LoadedConfig
    options: RunOptions
    clock: Clock
    http: httpx.AsyncClient
    evidence: Evidence
    instance: InstanceClient
    env: Mapping[str, str] | None = None  # None: the process environment
    transport: httpx.AsyncBaseTransport | None = None  # for notifiers and drills

    @property
    def config(self) -> WatchkeeperConfig:
        return self.loaded.config

    @property
    def settings(self) -> ReadinessConfig:
        return self.loaded.config.readiness

    @property
    def base_dir(self) -> Path:
        return self.loaded.base_dir


class Check(ABC):
    id: ClassVar[str]
    category: ClassVar[Category]
    title: ClassVar[str]
    timeout: ClassVar[float | None] = None  # None: readiness.check_timeout
    exclusive: ClassVar[bool] = False  # True: runs alone, after the others (measurements)

    @classmethod
    def instances(cls, config: WatchkeeperConfig) -> Sequence[Check]:
        """The checks this class contributes for ``config`` (one by default)."""
        return [cls()]

    @property
    def check_id(self) -> str:
        return self.id

    @property
    def check_title(self) -> str:
        return self.title

    @property
    def check_category(self) -> Category:
        return self.category

    def time_limit(self, settings: ReadinessConfig) -> float:
        own = settings.timeouts.get(self.check_id)
        if own is not None:
            return float(own)
        return float(self.timeout) if self.timeout is not None else float(settings.check_timeout)

    @abstractmethod
    async def run(self, ctx: CheckContext) -> Verdict: ...


def passed(evidence: str, **kw: Any) -> Verdict:
    return Verdict(Status.PASS, evidence, **kw)


def warned(evidence: str, remediation: str, **kw: Any) -> Verdict:
    return Verdict(Status.WARN, evidence, remediation, **kw)


def failed(evidence: str, remediation: str, **kw: Any) -> Verdict:
    return Verdict(Status.FAIL, evidence, remediation, **kw)


def skipped(evidence: str, remediation: str = "", **kw: Any) -> Verdict:
    return Verdict(Status.SKIP, evidence, remediation, **kw)


def from_details(
    details: Iterable[Detail],
    *,
    ok: str,
    remediation: str,
    nothing: str = "nothing to check",
    data: Mapping[str, Any] | None = None,
) -> Verdict:
    """A verdict over several items: the worst item's status; the evidence lists the
    items that are not fine (or says ``ok`` when all are)."""
    items = tuple(details)
    status = worst(d.status for d in items)
    if not items:
        return Verdict(Status.SKIP, nothing, data=dict(data or {}))
    bad = [d for d in items if d.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    if bad:
        evidence = "; ".join(f"{d.subject}: {d.evidence}" for d in bad)
    elif status is Status.SKIP:
        evidence = "; ".join(f"{d.subject}: {d.evidence}" for d in items)
    else:
        evidence = ok
    return Verdict(
        status,
        evidence,
        remediation if status in (Status.FAIL, Status.WARN, Status.ERROR) else "",
        details=items,
        data=dict(data or {}),
    )
