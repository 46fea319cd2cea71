"""SLO burn-rate rules as rule groups: what the runtime loads beside the rule files.

    groups = slo_rule_groups(config)      # list[LoadedGroup], one group per SLO

The groups pass through the same loader as a user's rule file (PromQL and template
checks), under the file name ``slos``; ``watchkeeper slo rules`` prints the same YAML.
"""

from __future__ import annotations

from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.rules.loader import LoadedGroup, load_rule_text
from watchkeeper.slo.rules import SOURCE_NAME, rule_file_yaml


def slo_rules_yaml(config: WatchkeeperConfig) -> str:
    return rule_file_yaml(config.slos, float(config.global_.evaluation_interval))


def slo_rule_groups(config: WatchkeeperConfig) -> list[LoadedGroup]:
    """One rule group per SLO. Raises ConfigError if a generated rule does not load
    (which points at the SLO's queries)."""
    if not config.slos:
        return []
    return load_rule_text(slo_rules_yaml(config), SOURCE_NAME)
