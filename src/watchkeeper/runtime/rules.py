"""Which rule files a config loads: ``rule_files`` (globs relative to the config file),
the rule packs its services enable, each pack once, the SLOs' burn-rate rules and the
anomaly rules' alerts."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.errors import ConfigError
from watchkeeper.rulepacks import RULE_PACKS
from watchkeeper.rules.anomaly import anomaly_rule_groups
from watchkeeper.rules.loader import LoadedGroup, load_rule_file, resolve_rule_files
from watchkeeper.rules.slo import slo_rule_groups


def enabled_packs(config: WatchkeeperConfig) -> list[str]:
    seen: list[str] = []
    for service in config.services:
        for name in service.rule_packs:
            if name not in seen:
                seen.append(name)
    return seen


def load_rules(config: WatchkeeperConfig, base_dir: Path) -> list[LoadedGroup]:
    """Every rule group the config asks for. Raises ConfigError listing every problem."""
    files, problems = resolve_rule_files(config.rule_files, base_dir)
    groups: list[LoadedGroup] = []
    for name in enabled_packs(config):
        try:
            groups.extend(load_rule_file(RULE_PACKS[name], display_name=f"rulepack:{name}"))
        except ConfigError as exc:
            problems.extend(exc.problems)
    for path in files:
        try:
            groups.extend(load_rule_file(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    try:
        groups.extend(slo_rule_groups(config))
    except ConfigError as exc:
        problems.extend(exc.problems)
    groups.extend(
        anomaly_rule_groups(config.anomaly_rules, float(config.global_.evaluation_interval))
    )
    keys: dict[str, str] = {}
    for group in groups:
        if group.key in keys:
            problems.append(f"{group.file}: rule group {group.config.name!r} is loaded twice")
        keys[group.key] = group.file
    if problems:
        raise ConfigError(problems)
    return groups
