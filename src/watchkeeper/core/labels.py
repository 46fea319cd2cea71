"""Label sets and label matchers, as Prometheus defines them.

A :class:`Labels` is an immutable, hashable label set kept sorted by name, so equal sets
compare and hash equal whatever order they were built in. ``__name__`` is an ordinary label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from watchkeeper.core.regex import compile_go

METRIC_NAME = "__name__"
_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def is_valid_label_name(name: str) -> bool:
    return bool(_LABEL_NAME_RE.match(name))


def is_valid_metric_name(name: str) -> bool:
    return bool(_METRIC_NAME_RE.match(name))


class Labels(Mapping[str, str]):
    """An immutable label set, sorted by label name. Empty values are dropped."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: tuple[tuple[str, str], ...] = tuple(
            sorted((k, v) for k, v in pairs if v != "")
        )
        self._hash = hash(self._items)

    @classmethod
    def of(cls, **labels: str) -> Labels:
        return cls(labels)

    @classmethod
    def from_sorted_items(cls, items: tuple[tuple[str, str], ...]) -> Labels:
        """Fast path for hot loops: ``items`` must already be sorted by name and hold no
        empty values (e.g. a filtered ``items_tuple`` of another Labels)."""
        new = cls.__new__(cls)
        new._items = items
        new._hash = hash(items)
        return new

    # Mapping protocol
    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._items)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Labels):
            return self._hash == other._hash and self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __lt__(self, other: Labels) -> bool:
        return self._items < other._items

    def __repr__(self) -> str:
        return f"Labels({self})"

    def __str__(self) -> str:
        name = self.get(METRIC_NAME, "")
        inner = ", ".join(f'{k}="{_escape(v)}"' for k, v in self._items if k != METRIC_NAME)
        return f"{name}{{{inner}}}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Labels, (self._items,))

    @property
    def items_tuple(self) -> tuple[tuple[str, str], ...]:
        return self._items

    @property
    def name(self) -> str:
        return self.get(METRIC_NAME, "")

    def to_dict(self) -> dict[str, str]:
        return dict(self._items)

    def with_(self, **updates: str) -> Labels:
        merged = dict(self._items)
        merged.update(updates)
        return Labels(merged)

    def merged(self, other: Mapping[str, str]) -> Labels:
        merged = dict(self._items)
        merged.update(other)
        return Labels(merged)

    def without(self, *names: str) -> Labels:
        drop = set(names)
        return Labels((k, v) for k, v in self._items if k not in drop)

    def only(self, *names: str) -> Labels:
        keep = set(names)
        return Labels((k, v) for k, v in self._items if k in keep)

    def without_name(self) -> Labels:
        return self.without(METRIC_NAME)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher. Regexes are fully anchored, as in Prometheus."""

    name: str
    op: MatchOp
    value: str
    _compiled: re.Pattern[str] | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            # Go (RE2) syntax, as Prometheus and Alertmanager write it; raises ValueError.
            object.__setattr__(self, "_compiled", compile_go(self.value))

    @classmethod
    def equal(cls, name: str, value: str) -> Matcher:
        return cls(name, MatchOp.EQUAL, value)

    def matches(self, value: str) -> bool:
        """True when ``value`` (``""`` for an absent label) satisfies the matcher."""
        if self.op is MatchOp.EQUAL:
            return value == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return value != self.value
        compiled = self._compiled
        if compiled is None:  # pragma: no cover - set in __post_init__
            raise RuntimeError("regex matcher without compiled pattern")
        hit = compiled.match(value) is not None
        return hit if self.op is MatchOp.REGEX else not hit

    def matches_labels(self, labels: Mapping[str, str]) -> bool:
        return self.matches(labels.get(self.name, ""))

    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{_escape(self.value)}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches_labels(labels) for m in matchers)
