"""Alertmanager's matcher syntax: ``name="value"``, ``name=~"regex"``, ``name!="value"``,
``name!~"regex"``, optionally several separated by commas and wrapped in braces
(``{a="b", c=~"d|e"}``), with unquoted values tolerated (``severity=critical``).

The rules follow Alertmanager's classic parser so that every config line and every
``amtool`` argument that Alertmanager accepts means the same here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from watchkeeper.core.labels import Matcher, MatchOp, is_valid_label_name

_MATCHER_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)


class MatcherError(ValueError):
    """A matcher that cannot be parsed; the message says what is wrong and how to write it."""


def parse_matcher(text: str) -> Matcher:
    """One matcher such as ``severity=~"critical|warning"``."""
    m = _MATCHER_RE.match(text)
    if m is None:
        raise MatcherError(
            f'bad matcher {text!r}: write name="value" with one of the operators '
            '=, !=, =~, !~ (e.g. severity="critical" or service=~"api|db")'
        )
    name, op, raw = m.group(1), MatchOp(m.group(2)), m.group(3)
    value = _unquote(raw, text)
    if op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(f"bad matcher {text!r}: invalid regular expression: {exc}") from None
    return Matcher(name, op, value)


def _unquote(raw: str, text: str) -> str:
    expect_trailing_quote = False
    if raw.startswith('"'):
        raw = raw[1:]
        expect_trailing_quote = True
    out: list[str] = []
    escaped = False
    last = len(raw) - 1
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            if ch == "n":
                out.append("\n")
            elif ch in ('"', "\\"):
                out.append(ch)
            else:  # a spurious escape is a literal backslash
                out.append("\\" + ch)
            continue
        if ch == "\\":
            if i < last:
                escaped = True
                continue
            out.append("\\")
        elif ch == '"':
            if not expect_trailing_quote or i < last:
                raise MatcherError(
                    f"bad matcher {text!r}: the value contains an unescaped double quote; "
                    'write \\" inside a quoted value'
                )
            expect_trailing_quote = False
        else:
            out.append(ch)
    if expect_trailing_quote:
        raise MatcherError(f"bad matcher {text!r}: the value's closing double quote is missing")
    return "".join(out)


def parse_matchers(text: str) -> list[Matcher]:
    """A comma-separated list of matchers, optionally in braces: ``{a="b", c!="d"}``."""
    body = text.strip()
    body = body.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside_quotes = False
    escaped = False
    for ch in body:
        if ch == "," and not inside_quotes:
            tokens.append("".join(token))
            token = []
            continue
        if ch == '"':
            if not escaped:
                inside_quotes = not inside_quotes
            else:
                escaped = False
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(ch)
    last = "".join(token).strip()
    if last:
        tokens.append(last)
    return [parse_matcher(t) for t in tokens]


def parse_matcher_lines(lines: Iterable[str]) -> list[Matcher]:
    """Every matcher of a config ``matchers:`` list (each line may hold several)."""
    out: list[Matcher] = []
    for line in lines:
        out.extend(parse_matchers(line))
    return out


def from_match_maps(
    match: Mapping[str, str], match_re: Mapping[str, str], matchers: Sequence[str]
) -> list[Matcher]:
    """The matchers of a route or inhibit rule from the deprecated ``match``/``match_re``
    maps plus the ``matchers`` list, sorted as Alertmanager sorts them."""
    out = [Matcher(name, MatchOp.EQUAL, value) for name, value in match.items()]
    # Alertmanager anchors the deprecated regexes in the matcher itself.
    out += [Matcher(name, MatchOp.REGEX, f"^(?:{value})$") for name, value in match_re.items()]
    out += parse_matcher_lines(matchers)
    return sort_matchers(out)


_OP_ORDER = {MatchOp.EQUAL: 0, MatchOp.NOT_EQUAL: 1, MatchOp.REGEX: 2, MatchOp.NOT_REGEX: 3}


def sort_matchers(matchers: Iterable[Matcher]) -> list[Matcher]:
    return sorted(matchers, key=lambda m: (m.name, m.value, _OP_ORDER[m.op]))


def matchers_string(matchers: Sequence[Matcher]) -> str:
    """``{a="b",c=~"d"}``: how Alertmanager prints a matcher list (route keys, trees)."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def check_label_names(names: Iterable[str], what: str) -> None:
    for name in names:
        if not is_valid_label_name(name):
            raise MatcherError(
                f"invalid label name {name!r} in {what}: use letters, digits and _, "
                "not starting with a digit"
            )


def matcher_dict(m: Matcher) -> dict[str, object]:
    """The Alertmanager API's matcher object."""
    return {
        "name": m.name,
        "value": m.value,
        "isRegex": m.op in (MatchOp.REGEX, MatchOp.NOT_REGEX),
        "isEqual": m.op in (MatchOp.EQUAL, MatchOp.REGEX),
    }


def matcher_from_parts(name: str, value: str, *, is_regex: bool, is_equal: bool = True) -> Matcher:
    if not is_valid_label_name(name):
        raise MatcherError(
            f"invalid label name {name!r} in a matcher: use letters, digits and _, "
            "not starting with a digit"
        )
    if is_regex:
        op = MatchOp.REGEX if is_equal else MatchOp.NOT_REGEX
        try:
            re.compile(value)
        except re.error as exc:
            raise MatcherError(
                f"matcher {name}: invalid regular expression {value!r}: {exc}"
            ) from None
    else:
        op = MatchOp.EQUAL if is_equal else MatchOp.NOT_EQUAL
    return Matcher(name, op, value)
