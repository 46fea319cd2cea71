"""The series index: postings (sorted series ids) by label name and value.

Matchers resolve to a sorted array of ids: an equality matcher is one dictionary lookup, a
regex that is a plain alternation (``a|b|c``) is one lookup per alternative, other regexes
test each distinct value of their label once (not each series). Matchers that also match
the empty string (``!=``, ``!~``, ``=~".*"``) are applied as exclusions, as Prometheus does.

Postings are ``array('q')`` lists kept sorted because ids only grow; they are copied into
NumPy arrays under the store's lock, never exported as views that outlive it.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from watchkeeper.core.labels import Labels, Matcher, MatchOp

Ids = npt.NDArray[np.int64]
_EMPTY: Ids = np.empty(0, dtype=np.int64)


def _copy(postings: array[int] | None) -> Ids:
    if not postings:
        return _EMPTY
    return np.frombuffer(postings, dtype=np.int64).copy()


def _union(lists: Sequence[array[int]]) -> Ids:
    present = [p for p in lists if p]
    if not present:
        return _EMPTY
    if len(present) == 1:
        return _copy(present[0])
    return np.unique(np.concatenate([np.frombuffer(p, dtype=np.int64) for p in present]))


def _literal_alternatives(pattern: str) -> list[str] | None:
    """The alternatives of a regex like ``a|b|c`` with no other regex syntax, else None."""
    alternatives = pattern.split("|")
    if all(a and re.escape(a) == a for a in alternatives):
        return alternatives
    return None


class SeriesIndex:
    """Postings over series ids; not thread-safe (the store's lock guards it)."""

    __slots__ = ("_all", "_postings", "_unsorted")

    def __init__(self) -> None:
        self._postings: dict[str, dict[str, array[int]]] = {}
        self._all: array[int] = array("q")
        self._unsorted = False

    def __len__(self) -> int:
        return len(self._all)

    def add(self, sid: int, labels: Labels) -> None:
        if self._all and sid <= self._all[-1]:
            self._unsorted = True
        self._all.append(sid)
        for name, value in labels.items_tuple:
            values = self._postings.get(name)
            if values is None:
                values = self._postings[name] = {}
            postings = values.get(value)
            if postings is None:
                values[value] = array("q", (sid,))
            else:
                postings.append(sid)

    def remove(self, removed: Iterable[tuple[int, Labels]]) -> None:
        """Drop series (after retention deleted their last data)."""
        gone: dict[str, dict[str, set[int]]] = {}
        ids: set[int] = set()
        for sid, labels in removed:
            ids.add(sid)
            for name, value in labels.items_tuple:
                gone.setdefault(name, {}).setdefault(value, set()).add(sid)
        if not ids:
            return
        self._all = array("q", (i for i in self._all if i not in ids))
        for name, by_value in gone.items():
            values = self._postings.get(name, {})
            for value, sids in by_value.items():
                kept = array("q", (i for i in values.get(value, ()) if i not in sids))
                if kept:
                    values[value] = kept
                else:
                    values.pop(value, None)
            if not values:
                self._postings.pop(name, None)

    def _ensure_sorted(self) -> None:
        if not self._unsorted:
            return
        self._all = array("q", sorted(self._all))
        for values in self._postings.values():
            for value, postings in list(values.items()):
                values[value] = array("q", sorted(postings))
        self._unsorted = False

    def all_ids(self) -> Ids:
        self._ensure_sorted()
        return _copy(self._all)

    def _matching(self, matcher: Matcher) -> tuple[bool, Ids]:
        """(is exclusion, ids): ids matching, or ids to exclude when the matcher also
        matches series that lack the label."""
        values = self._postings.get(matcher.name, {})
        if matcher.matches_empty():
            if matcher.op is MatchOp.NOT_EQUAL:
                return True, _copy(values.get(matcher.value))
            if matcher.op is MatchOp.EQUAL:  # name="" : series without the label
                return True, _union(list(values.values()))
            return True, _union([p for v, p in values.items() if not matcher.matches(v)])
        if matcher.op is MatchOp.EQUAL:
            return False, _copy(values.get(matcher.value))
        if matcher.op is MatchOp.REGEX:
            literals = _literal_alternatives(matcher.value)
            if literals is not None:
                return False, _union([p for p in map(values.get, literals) if p])
        return False, _union([p for v, p in values.items() if matcher.matches(v)])

    def resolve(self, matchers: Sequence[Matcher]) -> Ids:
        """Sorted ids of the series matching every matcher."""
        self._ensure_sorted()
        include: list[Ids] = []
        exclude: list[Ids] = []
        for matcher in matchers:
            negative, ids = self._matching(matcher)
            if negative:
                exclude.append(ids)
            else:
                if ids.size == 0:
                    return _EMPTY
                include.append(ids)
        if include:
            include.sort(key=len)
            result = include[0]
            for ids in include[1:]:
                result = np.intersect1d(result, ids, assume_unique=True)
                if result.size == 0:
                    return _EMPTY
        else:
            result = _copy(self._all)
        for ids in exclude:
            if ids.size:
                result = np.setdiff1d(result, ids, assume_unique=True)
        return result

    def label_names(self) -> list[str]:
        return sorted(self._postings)

    def label_values(self, name: str) -> list[str]:
        return sorted(self._postings.get(name, {}))
