"""Turning the root config into scheduled targets, and the label scheme of collected series.

Label scheme — every series a check produces carries:

* ``service``: the service name (``services[].name``);
* ``check``: the check name (``checks[].name``, default: its type);
* ``job``: ``checks[].job``, default the service name;
* ``instance``: what the check looks at — the URL of an ``http`` check, ``host:port`` of a
  ``scrape`` target, the project/service/repository of a platform check (see each kind's
  ``instance()``);
* the service's ``labels`` and then the check's ``labels`` (a check label may override
  ``job`` or ``instance``; ``service`` and ``check`` are reserved).

The synthetic series ``up``, ``scrape_duration_seconds``, ``scrape_samples_scraped``,
``scrape_samples_post_metric_relabeling`` and ``scrape_series_added`` carry exactly these
labels. ``global.external_labels`` are not added here; they belong to remote write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from watchkeeper.collect.base import Target
from watchkeeper.collect.config import CheckBase
from watchkeeper.core.labels import Labels

if TYPE_CHECKING:
    from watchkeeper.config.model import ServiceConfig, WatchkeeperConfig


@dataclass(frozen=True, slots=True)
class ScheduledTarget:
    """A target and the validated check config its collector is built from."""

    target: Target
    check: CheckBase

    @property
    def key(self) -> str:
        return self.target.key


def target_labels(service: ServiceConfig, check: CheckBase) -> Labels:
    labels = {
        "service": service.name,
        "check": check.check_name,
        "job": check.job or service.name,
        "instance": check.instance(),
    }
    labels.update(service.labels)
    labels.update(check.labels)
    labels["service"] = service.name
    labels["check"] = check.check_name
    return Labels(labels)


def build_target(
    service: ServiceConfig, check: CheckBase, *, interval: float, timeout: float
) -> ScheduledTarget:
    interval = float(check.interval) if check.interval is not None else interval
    timeout = float(check.timeout) if check.timeout is not None else timeout
    labels = target_labels(service, check)
    target = Target(
        service=service.name,
        name=check.check_name,
        kind=check.type,
        job=labels["job"],
        instance=labels.get("instance", ""),
        interval=interval,
        timeout=min(timeout, interval),
        labels=labels,
    )
    return ScheduledTarget(target=target, check=check)


def build_targets(config: WatchkeeperConfig) -> list[ScheduledTarget]:
    """Every enabled check of every service, in config order."""
    interval = float(config.global_.scrape_interval)
    timeout = float(config.global_.scrape_timeout)
    return [
        build_target(service, check, interval=interval, timeout=timeout)
        for service in config.services
        for check in service.checks
        if check.enabled
    ]


def semantic_problems(config: WatchkeeperConfig) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-field problems of checks, as (path, message) pairs for the config loader."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    default_interval = float(config.global_.scrape_interval)
    default_timeout = float(config.global_.scrape_timeout)
    for i, service in enumerate(config.services):
        for j, check in enumerate(service.checks):
            interval = float(check.interval) if check.interval is not None else default_interval
            timeout = float(check.timeout) if check.timeout is not None else default_timeout
            if interval <= 0:
                problems.append(
                    (("services", i, "checks", j, "interval"), "interval must be above 0")
                )
            elif check.timeout is not None and timeout > interval:
                problems.append(
                    (
                        ("services", i, "checks", j, "timeout"),
                        f"timeout ({timeout:g}s) is longer than the interval ({interval:g}s); "
                        "a check never overlaps itself, so make the timeout at most the interval",
                    )
                )
    return problems
