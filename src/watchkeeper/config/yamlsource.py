"""YAML with positions: every mapping key, sequence item and scalar keeps the file and line
it came from, so validation errors can say where to look.

``${VAR}`` and ``${VAR:-default}`` in string scalars are expanded from the environment
while loading; a variable that is not set (and has no default) is a problem at its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watchkeeper.core.errors import ConfigError

Path_ = tuple[str | int, ...]
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$")


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class SourceMap:
    """Where each path of a loaded document came from."""

    positions: dict[Path_, Position] = field(default_factory=dict)
    default_file: str = "<config>"

    def add(self, path: Path_, pos: Position) -> None:
        self.positions.setdefault(path, pos)

    def merge(self, other: SourceMap, prefix: Path_ = ()) -> None:
        for path, pos in other.positions.items():
            self.positions[prefix + path] = pos

    def find(self, path: Path_) -> Position | None:
        """The position of ``path`` or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:end]))
            if pos is not None:
                return pos
        return None


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PATH_PART_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> Path_:
    """The inverse of :func:`format_path`: ``a.b[0].c`` -> ``("a", "b", 0, "c")``."""
    return tuple(int(index) if index else name for name, index in _PATH_PART_RE.findall(text))


def problem(pos: Position | None, path: Path_, message: str) -> str:
    """One problem line: ``file:line: field.path: message``."""
    where = f"{pos}: " if pos else ""
    field_ = f"{format_path(path)}: " if path else ""
    return f"{where}{field_}{message}"


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys (a silent overwrite hides mistakes)."""


def load_yaml(
    text: str, filename: str, env: Mapping[str, str] | None = None
) -> tuple[Any, SourceMap]:
    """Parse one YAML document. Raises :class:`ConfigError` naming every problem found."""
    env = os.environ if env is None else env
    smap = SourceMap(default_file=filename)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = exc.problem or str(exc)
        raise ConfigError(
            f"{filename}:{line}: invalid YAML: {what}"
            + (f" ({exc.context})" if exc.context else "")
            + "; check indentation, colons and quoting around this line"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{filename}: invalid YAML: {exc}") from None
    if node is None:
        return {}, smap
    problems: list[str] = []
    data = _construct(node, (), filename, smap, env, problems)
    if problems:
        raise ConfigError(problems)
    return data, smap


def load_yaml_file(path: str | Path, env: Mapping[str, str] | None = None) -> tuple[Any, SourceMap]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror or exc}") from None
    return load_yaml(text, str(path), env)


def _construct(
    node: yaml.Node,
    path: Path_,
    filename: str,
    smap: SourceMap,
    env: Mapping[str, str],
    problems: list[str],
) -> Any:
    pos = Position(filename, node.start_mark.line + 1)
    smap.add(path, pos)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = _construct(value_node, path, filename, smap, env, problems)
                for item in merged if isinstance(merged, list) else [merged]:
                    if isinstance(item, dict):
                        for k, v in item.items():
                            out.setdefault(k, v)
                continue
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool):
                problems.append(problem(pos, path, "mapping keys must be plain strings"))
                continue
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                problems.append(
                    problem(
                        Position(filename, key_node.start_mark.line + 1),
                        path,
                        f"duplicate key {key!r}; each key may appear once in a mapping",
                    )
                )
                continue
            child = (*path, key)
            smap.add(child, Position(filename, key_node.start_mark.line + 1))
            out[key] = _construct(value_node, child, filename, smap, env, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, i), filename, smap, env, problems)
            for i, item in enumerate(node.value)
        ]
    value = _scalar(node)
    if isinstance(value, str) and "$" in value:
        value = _expand(value, path, pos, env, problems)
    return value


def _scalar(node: yaml.Node) -> Any:
    # A fresh constructor per scalar: nothing is cached across loads.
    return _Loader("").construct_object(node, deep=True)


def _expand(
    value: str, path: Path_, pos: Position, env: Mapping[str, str], problems: list[str]
) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            problem(
                pos,
                path,
                f"environment variable {name} is not set; export it, or write "
                f"${{{name}:-default}} to give a default",
            )
        )
        return ""

    return _ENV_RE.sub(repl, value)
