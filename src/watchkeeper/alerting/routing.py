"""The routing tree, as Alertmanager builds and walks it.

Options are inherited from the parent route (the root inherits Alertmanager's defaults:
group_wait 30s, group_interval 5m, repeat_interval 4h); ``mute_time_intervals`` and
``active_time_intervals`` are per route. :meth:`Route.match` is a depth-first,
left-to-right search that stops at the first matching child unless it has ``continue``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from watchkeeper.alerting.config import RouteConfig
from watchkeeper.alerting.matchers import from_match_maps, matchers_string
from watchkeeper.core.labels import Labels, Matcher, matches_all

DEFAULT_GROUP_WAIT = 30.0
DEFAULT_GROUP_INTERVAL = 300.0
DEFAULT_REPEAT_INTERVAL = 4 * 3600.0


@dataclass(frozen=True, slots=True)
class RouteOpts:
    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait: float
    group_interval: float
    repeat_interval: float
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalation_policy: str | None = None


_ROOT_DEFAULTS = RouteOpts(
    receiver="",
    group_by=(),
    group_by_all=False,
    group_wait=DEFAULT_GROUP_WAIT,
    group_interval=DEFAULT_GROUP_INTERVAL,
    repeat_interval=DEFAULT_REPEAT_INTERVAL,
)


class Route:
    """One node of the routing tree. Immutable once built."""

    __slots__ = ("continue_", "id", "key", "matchers", "opts", "parent", "routes")

    opts: RouteOpts
    parent: Route | None

    def __init__(self, config: RouteConfig, parent: Route | None = None) -> None:
        base = parent.opts if parent is not None else _ROOT_DEFAULTS
        group_by, group_by_all = base.group_by, base.group_by_all
        if config.group_by is not None:
            if config.group_by == ["..."]:
                group_by, group_by_all = (), True
            else:
                group_by, group_by_all = tuple(sorted(config.group_by)), False
        policy = base.escalation_policy
        if config.escalation_policy is not None:
            policy = config.escalation_policy or None
        self.opts = RouteOpts(
            receiver=config.receiver or base.receiver,
            group_by=group_by,
            group_by_all=group_by_all,
            group_wait=_pick(config.group_wait, base.group_wait),
            group_interval=_pick(config.group_interval, base.group_interval),
            repeat_interval=_pick(config.repeat_interval, base.repeat_interval),
            mute_time_intervals=tuple(config.mute_time_intervals),
            active_time_intervals=tuple(config.active_time_intervals),
            escalation_policy=policy,
        )
        self.parent = parent
        self.matchers: tuple[Matcher, ...] = tuple(
            from_match_maps(config.match, config.match_re, config.matchers)
        )
        self.continue_ = config.continue_
        own = matchers_string(self.matchers)
        self.key: str = f"{parent.key}/{own}" if parent is not None else own
        self.id: str = self.key
        self.routes: list[Route] = []
        for i, child_config in enumerate(config.routes):
            child = Route(child_config, self)
            child.id = f"{child.key}/{i}"
            self.routes.append(child)

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """Every route the alert is routed to, in Alertmanager's order."""
        if not matches_all(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_:
                break
        return found or [self]

    def walk(self) -> Iterator[Route]:
        yield self
        for child in self.routes:
            yield from child.walk()

    def group_labels(self, labels: Labels) -> Labels:
        if self.opts.group_by_all:
            return labels
        return labels.only(*self.opts.group_by)

    def group_key(self, group_labels: Labels) -> str:
        return f"{self.key}:{labelset_string(group_labels)}"

    def depth(self) -> int:
        return 0 if self.parent is None else self.parent.depth() + 1

    def __repr__(self) -> str:
        return f"Route({self.id!r}, receiver={self.opts.receiver!r})"


def _pick(value: float | None, inherited: float) -> float:
    return float(value) if value is not None else inherited


def go_quote(value: str) -> str:
    """Go's ``%q`` for the strings that appear in label values."""
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def labelset_string(labels: Mapping[str, str]) -> str:
    """``{a="b", c="d"}``: how Alertmanager prints a label set (in group keys)."""
    return "{" + ", ".join(f"{k}={go_quote(labels[k])}" for k in sorted(labels)) + "}"


def build_routes(config: RouteConfig) -> Route:
    return Route(config)


def receivers_for(root: Route, labels: Mapping[str, str]) -> list[str]:
    """What ``amtool config routes test`` prints: the receiver of every matching route."""
    return [r.opts.receiver for r in root.match(labels)]


def render_tree(root: Route, highlight: Mapping[str, str] | None = None) -> str:
    """The tree ``amtool config routes`` (and ``routes test --tree``) prints."""
    matched = set(map(id, root.match(highlight))) if highlight is not None else set()
    keep: set[int] = set()
    if highlight is not None:
        for r in root.walk():
            if id(r) in matched:
                node: Route | None = r
                while node is not None:
                    keep.add(id(node))
                    node = node.parent
    lines = ["Matching routes:" if highlight is not None else "Routing tree:", "."]

    def label(r: Route) -> str:
        name = matchers_string(r.matchers) if r.matchers else "default-route"
        if highlight is None and r.continue_:
            name += "  continue: true"
        if highlight is None or id(r) in matched:
            name += f"  receiver: {r.opts.receiver}"
        return name

    def visit(r: Route, prefix: str, last: bool) -> None:
        lines.append(f"{prefix}{'└── ' if last else '├── '}{label(r)}")
        children = [c for c in r.routes if highlight is None or id(c) in keep]
        for i, child in enumerate(children):
            visit(child, prefix + ("    " if last else "│   "), i == len(children) - 1)

    visit(root, "", True)
    return "\n".join(lines) + "\n"
