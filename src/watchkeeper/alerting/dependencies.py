"""Service dependencies: while an alert of a service fires, the firing alerts of every
service that (directly or through others) depends on it are suppressed. They are still
tracked and shown, and their resolution always goes out.

Alerts belong to a service through a label (``service`` by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from watchkeeper.alerting.alerts import Alert
from watchkeeper.core.labels import Matcher, matches_all


def closure(depends_on: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Every service each service needs, directly or transitively (cycles are cut)."""
    out: dict[str, frozenset[str]] = {}
    for service in depends_on:
        seen: set[str] = set()
        stack = list(depends_on.get(service, ()))
        while stack:
            dep = stack.pop()
            if dep in seen or dep == service:
                continue
            seen.add(dep)
            stack.extend(depends_on.get(dep, ()))
        out[service] = frozenset(seen)
    return out


class DependencyMap:
    def __init__(
        self,
        depends_on: Mapping[str, Sequence[str]],
        *,
        label: str = "service",
        source_matchers: Sequence[Matcher] = (),
        enabled: bool = True,
    ) -> None:
        self.label = label
        self.enabled = enabled
        self.source_matchers = tuple(source_matchers)
        self.needs = closure(depends_on)
        self._firing: dict[str, dict[str, Alert]] = {}
        self._members: dict[str, set[str]] = {}  # service -> fingerprints of its alerts

    def rebuild(self, alerts: Iterable[Alert], is_firing: Callable[[str], bool]) -> None:
        self._firing = {}
        self._members = {}
        for alert in alerts:
            self.update(alert, is_firing(alert.fingerprint))

    def update(self, alert: Alert, firing: bool) -> None:
        service = alert.label_map.get(self.label)
        if not service:
            return
        self._members.setdefault(service, set()).add(alert.fingerprint)
        if firing and matches_all(self.source_matchers, alert.label_map):
            self._firing.setdefault(service, {})[alert.fingerprint] = alert
        else:
            bucket = self._firing.get(service)
            if bucket is not None:
                bucket.pop(alert.fingerprint, None)
                if not bucket:
                    del self._firing[service]

    def suppressed_by(
        self,
        alert: Alert,
        now: float,
        is_firing: Callable[[str], bool],
        limit: int | None = None,
    ) -> list[str]:
        """Fingerprints of the firing alerts of services ``alert``'s service needs (at most
        ``limit``). A resolved alert is never suppressed."""
        if not self.enabled or alert.resolved(now):
            return []
        service = alert.label_map.get(self.label)
        if not service:
            return []
        out: list[str] = []
        for upstream in sorted(self.needs.get(service, ())):
            for fp, source in self._firing.get(upstream, {}).items():
                if is_firing(fp) and not source.resolved(now):
                    out.append(fp)
                    if limit is not None and len(out) >= limit:
                        return sorted(out)
        return sorted(out)

    def dependents_of(self, service: str) -> list[str]:
        return sorted(s for s, needs in self.needs.items() if service in needs)

    def alerts_of(self, services: Iterable[str]) -> set[str]:
        """Fingerprints of the alerts seen for these services."""
        return {fp for s in services for fp in self._members.get(s, ())}

    def retain(self, fps: set[str]) -> None:
        for members in self._members.values():
            members &= fps
