"""Inhibition, as Alertmanager does it: a firing source alert mutes the target alerts
that carry the same values of the ``equal`` labels (an absent label equals an absent one).

Source alerts are indexed per rule by their ``equal`` values, so checking a target costs
one dictionary lookup per rule it matches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from watchkeeper.alerting.alerts import Alert
from watchkeeper.alerting.config import InhibitRuleConfig
from watchkeeper.alerting.matchers import from_match_maps
from watchkeeper.core.labels import Matcher, matches_all


@dataclass(frozen=True, slots=True)
class InhibitRule:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]
    name: str | None = None

    @classmethod
    def from_config(cls, cfg: InhibitRuleConfig) -> InhibitRule:
        return cls(
            source=tuple(
                from_match_maps(cfg.source_match, cfg.source_match_re, cfg.source_matchers)
            ),
            target=tuple(
                from_match_maps(cfg.target_match, cfg.target_match_re, cfg.target_matchers)
            ),
            equal=tuple(cfg.equal),
            name=cfg.name,
        )

    def equal_key(self, labels: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(labels.get(n, "") for n in self.equal)


class Inhibitor:
    """Answers "which firing alerts inhibit this one?"."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules = tuple(rules)
        self._sources: list[dict[tuple[str, ...], dict[str, Alert]]] = [{} for _ in self.rules]

    def rebuild(self, alerts: Iterable[Alert], is_firing: Callable[[str], bool]) -> None:
        self._sources = [{} for _ in self.rules]
        for alert in alerts:
            self.update(alert, is_firing(alert.fingerprint))

    def update(self, alert: Alert, firing: bool) -> None:
        """Track ``alert`` as a source while it fires."""
        for rule, index in zip(self.rules, self._sources, strict=True):
            key = rule.equal_key(alert.label_map)
            if firing and matches_all(rule.source, alert.label_map):
                index.setdefault(key, {})[alert.fingerprint] = alert
            else:
                bucket = index.get(key)
                if bucket is not None:
                    bucket.pop(alert.fingerprint, None)
                    if not bucket:
                        del index[key]

    def remove(self, alert: Alert) -> None:
        self.update(alert, False)

    def inhibited_by(self, alert: Alert, now: float, is_firing: Callable[[str], bool]) -> list[str]:
        """Fingerprints of the firing source alerts that inhibit ``alert``."""
        out: set[str] = set()
        labels = alert.label_map
        for rule, index in zip(self.rules, self._sources, strict=True):
            if not matches_all(rule.target, labels):
                continue
            bucket = index.get(rule.equal_key(labels))
            if not bucket:
                continue
            two_sided = matches_all(rule.source, labels)
            for fp, source in bucket.items():
                if not is_firing(fp) or source.resolved(now):
                    continue
                if two_sided and matches_all(rule.target, source.label_map):
                    continue
                out.add(fp)
                break
        return sorted(out)
