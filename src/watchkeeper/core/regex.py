"""Go (RE2) regular expressions, as PromQL, Alertmanager and Prometheus configs write them,
translated for Python's ``re``.

Differences handled: flag groups such as ``(?i)`` in the middle of a pattern (RE2 scopes
them to the rest of the enclosing group; Python only accepts them at the very start),
POSIX classes like ``[[:alpha:]]``, ``\\z`` and ``\\Q...\\E``. Syntax Python cannot express
(Unicode classes ``\\pL``, the ungreedy flag ``U``) is reported as an error.
"""

from __future__ import annotations

import re
from functools import lru_cache

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7F",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_FLAGS_RE = re.compile(r"\(\?([imsU-]+)\)")


class RegexError(ValueError):
    """A Go regular expression that Python cannot run."""


@lru_cache(maxsize=1024)
def go_to_python(pattern: str) -> str:
    out: list[str] = []
    # For each open group: how many scoped flag groups were opened inside it.
    pending: list[int] = [0]
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise RegexError("trailing backslash")
            nxt = pattern[i + 1]
            if nxt == "z":
                out.append("\\Z")
            elif nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            elif nxt in "pP":
                raise RegexError("Unicode classes (\\p, \\P) are not supported")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[":
            j, text = _char_class(pattern, i)
            out.append(text)
            i = j
            continue
        if ch == "(":
            flags = _FLAGS_RE.match(pattern, i)
            if flags:
                if "U" in flags.group(1):
                    raise RegexError("the ungreedy flag (?U) is not supported")
                out.append(f"(?{flags.group(1)}:")
                pending[-1] += 1
                i = flags.end()
                continue
            if pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
                out.append("(?P<")
                i += 3
                pending.append(0)
                continue
            pending.append(0)
            out.append("(")
            i += 1
            continue
        if ch == ")":
            if len(pending) == 1:
                raise RegexError("unexpected )")
            out.append(")" * pending.pop())
            out.append(")")
            i += 1
            continue
        out.append(ch)
        i += 1
    if len(pending) != 1:
        raise RegexError("missing closing )")
    out.append(")" * pending[0])
    return "".join(out)


def _char_class(pattern: str, start: int) -> tuple[int, str]:
    """Translate ``[...]`` starting at ``start``; return (index after it, text)."""
    out = ["["]
    i = start + 1
    n = len(pattern)
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < n:
        ch = pattern[i]
        if ch == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        first = False
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end > 0 else ""
            if name in _POSIX:
                out.append(_POSIX[name])
                i = end + 2
                continue
            raise RegexError(f"unknown character class [:{name}:]")
        if ch == "[":
            out.append("\\[")
            i += 1
            continue
        out.append(ch)
        i += 1
    raise RegexError("missing closing ]")


def compile_go(pattern: str, *, anchored: bool = True) -> re.Pattern[str]:
    """Compile a Go regular expression (fully anchored, ``.`` matching newlines)."""
    text = go_to_python(pattern)
    return re.compile(f"^(?s:{text})$" if anchored else text)
