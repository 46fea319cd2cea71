"""Cross-reference checks over a validated config. Each returns (path, message) pairs;
the loader adds file and line."""

from __future__ import annotations

from watchkeeper.alerting.config import semantic_problems as alerting_problems
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.config.yamlsource import Path_, parse_path

Problems = list[tuple[Path_, str]]


def services(cfg: WatchkeeperConfig) -> Problems:
    problems: Problems = []
    names = [s.name for s in cfg.services]
    seen: set[str] = set()
    for i, svc in enumerate(cfg.services):
        if svc.name in seen:
            problems.append((("services", i, "name"), f"duplicate service name {svc.name!r}"))
        seen.add(svc.name)
        checks: set[str] = set()
        for j, check in enumerate(svc.checks):
            if check.check_name in checks:
                problems.append(
                    (
                        ("services", i, "checks", j),
                        f"two checks of service {svc.name!r} are named {check.check_name!r}; "
                        "give each a distinct name",
                    )
                )
            checks.add(check.check_name)
        for j, dep in enumerate(svc.depends_on):
            if dep not in names:
                problems.append(
                    (
                        ("services", i, "depends_on", j),
                        f"service {svc.name!r} depends on unknown service {dep!r}; "
                        f"known services: {', '.join(names)}",
                    )
                )
            elif dep == svc.name:
                problems.append(
                    (("services", i, "depends_on", j), "a service cannot depend on itself")
                )
    return problems


def checks(cfg: WatchkeeperConfig) -> Problems:
    from watchkeeper.collect.targets import semantic_problems

    return semantic_problems(cfg)


def receivers(cfg: WatchkeeperConfig) -> Problems:
    """Receivers the notification channels cannot be built from (bad URLs, missing keys),
    with Alertmanager's ``global`` defaults applied first."""
    from watchkeeper.notify.amglobals import receivers_with_global
    from watchkeeper.notify.registry import receiver_problems

    try:
        effective = receivers_with_global(cfg.alerting.receivers, cfg.alerting.global_)
    except ValueError as exc:
        return [(("alerting", "global"), str(exc))]
    out: Problems = []
    for text in receiver_problems(effective):
        where, sep, message = text.partition(": ")
        out.append((parse_path(where), message) if sep else (("alerting", "receivers"), text))
    return out


def alerting(cfg: WatchkeeperConfig) -> Problems:
    return [(("alerting", *path), msg) for path, msg in alerting_problems(cfg.alerting)]


def status_page(cfg: WatchkeeperConfig) -> Problems:
    names = {s.name for s in cfg.services}
    return [
        (("status_page", "services", i), f"unknown service {name!r}")
        for i, name in enumerate(cfg.status_page.services or [])
        if name not in names
    ]


def slos(cfg: WatchkeeperConfig) -> Problems:
    from watchkeeper.slo.config import semantic_problems

    return semantic_problems(cfg)


def anomaly_rules(cfg: WatchkeeperConfig) -> Problems:
    from watchkeeper.rules.anomaly import semantic_problems

    return semantic_problems(cfg.anomaly_rules)


def reports(cfg: WatchkeeperConfig) -> Problems:
    from watchkeeper.quality.config import semantic_problems

    return semantic_problems(cfg)


def readiness(cfg: WatchkeeperConfig) -> Problems:
    from watchkeeper.readiness.config import semantic_problems

    return semantic_problems(cfg)


CHECKS = (
    services,
    checks,
    alerting,
    receivers,
    status_page,
    readiness,
    slos,
    anomaly_rules,
    reports,
)
