"""Load a config file: parse YAML with positions -> validate with pydantic -> check
cross-references. Every problem is reported at once, each as ``file:line: field: what is
wrong; how to fix it``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.config.yamlsource import Path_, SourceMap, load_yaml, load_yaml_file, problem
from watchkeeper.core.errors import ConfigError

SemanticCheck = Callable[[WatchkeeperConfig], list[tuple[Path_, str]]]


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    config: WatchkeeperConfig
    path: Path | None  # None for a config built from text
    source: SourceMap

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load and validate a config file. Raises :class:`ConfigError` with every problem."""
    p = Path(path)
    data, smap = load_yaml_file(p, env)
    return _validate(data, smap, p, env)


def load_config_text(
    text: str,
    filename: str = "watchkeeper.yaml",
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> LoadedConfig:
    data, smap = load_yaml(text, filename, env)
    return _validate(data, smap, (base_dir / filename) if base_dir else None, env)


def _validate(
    data: Any, smap: SourceMap, path: Path | None, env: Mapping[str, str] | None
) -> LoadedConfig:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            problem(smap.find(()), (), "the top level must be a mapping (key: value lines)")
        )
    base_dir = path.parent if path else Path.cwd()
    data = _include_files(data, smap, base_dir, env)
    try:
        config = WatchkeeperConfig.model_validate(data, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(exc, data, smap)) from None
    problems = []
    for check in semantic_checks():
        for field_path, message in check(config):
            problems.append(problem(smap.find(field_path), field_path, message))
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(config=config, path=path, source=smap)


def _include_files(
    data: dict[str, Any], smap: SourceMap, base_dir: Path, env: Mapping[str, str] | None
) -> dict[str, Any]:
    """``alerting: {config_file: alertmanager.yml}`` loads an Alertmanager file in place;
    Watchkeeper's own alerting keys (escalation_policies, ...) may stay beside it."""
    from watchkeeper.alerting.config_ext import EXTENSION_KEYS

    alerting = data.get("alerting")
    if isinstance(alerting, dict) and "config_file" in alerting:
        rest = {k: v for k, v in alerting.items() if k != "config_file"}
        misplaced = sorted(k for k in rest if k not in EXTENSION_KEYS)
        if misplaced:
            raise ConfigError(
                problem(
                    smap.find(("alerting",)),
                    ("alerting",),
                    "config_file replaces Alertmanager's part of the alerting section; move "
                    f"{', '.join(misplaced)} into that file",
                )
            )
        file = base_dir / str(alerting["config_file"])
        am_data, am_map = load_yaml_file(file, env)
        if not isinstance(am_data, dict):
            raise ConfigError(f"{file}: the top level must be a mapping")
        twice = sorted(k for k in rest if k in am_data)
        if twice:
            raise ConfigError(
                problem(
                    smap.find(("alerting", twice[0])),
                    ("alerting", twice[0]),
                    f"{', '.join(twice)} given both here and in {file}; keep one",
                )
            )
        smap.merge(am_map, ("alerting",))
        data = {**data, "alerting": {**am_data, **rest}}
    return data


def format_validation_errors(exc: ValidationError, data: Any, smap: SourceMap) -> list[str]:
    out: list[str] = []
    for err in exc.errors(include_url=False):
        path = _data_path(err["loc"], data)
        message = _message(err)
        line = problem(smap.find(path), path, message)
        if line not in out:
            out.append(line)
    return out


def _data_path(loc: tuple[int | str, ...], data: Any) -> Path_:
    """Map a pydantic error location onto the document: discriminated unions and
    validator wrappers insert names that are not keys of the data, so they are skipped;
    a last part that is not in the data is a missing field and is kept."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        key: str | int = "global" if part == "global_" else part
        if (isinstance(node, dict) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        ):
            path.append(key)
            node = node[key]  # type: ignore[index]
        elif i == len(loc) - 1 and isinstance(node, dict) and isinstance(key, str):
            path.append(key)
    return tuple(path)


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown field; remove it or check its spelling and indentation"
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "union_tag_invalid":
        ctx = err.get("ctx", {})
        return f"unknown type {ctx.get('tag')!r}; use one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "a 'type' field is required here (e.g. type: http)"
    if kind.startswith("value_error"):
        return msg.removeprefix("Value error, ")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "expected a mapping (key: value lines) here"
    if kind == "list_type":
        return "expected a list (lines starting with '- ') here"
    return msg


def semantic_checks() -> list[SemanticCheck]:
    """Cross-reference checks, one function per area, in a fixed order."""
    from watchkeeper.config.semantics import CHECKS

    return list(CHECKS)
