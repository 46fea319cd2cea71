"""Load Prometheus rule files: YAML with positions -> models -> PromQL and template checks.
Every problem is reported at once as ``file:line: field: message``."""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from watchkeeper.config.loader import format_validation_errors
from watchkeeper.config.yamlsource import SourceMap, load_yaml, load_yaml_file, problem
from watchkeeper.core.errors import ConfigError, QueryError
from watchkeeper.promql import parse
from watchkeeper.rules.model import RuleFileConfig, RuleGroupConfig
from watchkeeper.rules.template import TemplateRenderer, TemplateTranslationError

ExprCheck = Callable[[str], None]
"""Raises ValueError (or a QueryError) with a message when a PromQL expression is invalid."""


@dataclass(frozen=True, slots=True)
class LoadedGroup:
    file: str
    config: RuleGroupConfig

    @property
    def key(self) -> str:
        """Prometheus' group key: file and group name."""
        return f"{self.file};{self.config.name}"


def default_expr_check(expr: str) -> None:
    parse(expr)


def resolve_rule_files(patterns: Iterable[str], base_dir: Path) -> tuple[list[Path], list[str]]:
    """Expand globs relative to ``base_dir``. A pattern matching nothing is a problem."""
    files: list[Path] = []
    problems: list[str] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        matches = sorted(glob.glob(full))
        if not matches:
            problems.append(
                f"rule_files: {pattern!r} matches no file (looked in {base_dir}); "
                "check the path or glob"
            )
        files.extend(Path(m) for m in matches if Path(m).is_file())
    return files, problems


def load_rule_file(
    path: Path,
    *,
    expr_check: ExprCheck = default_expr_check,
    env: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> list[LoadedGroup]:
    data, smap = load_yaml_file(path, env={} if env is None else env)
    return _validate(data, smap, display_name or str(path), expr_check)


def load_rule_text(
    text: str, filename: str, *, expr_check: ExprCheck = default_expr_check
) -> list[LoadedGroup]:
    data, smap = load_yaml(text, filename, env={})
    return _validate(data, smap, filename, expr_check)


def _validate(
    data: object, smap: SourceMap, filename: str, expr_check: ExprCheck
) -> list[LoadedGroup]:
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:1: a rule file is a mapping with a 'groups' list")
    try:
        parsed = RuleFileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_errors(exc, data, smap)) from None
    problems: list[str] = []
    renderer = TemplateRenderer()
    for gi, group in enumerate(parsed.groups):
        for ri, rule in enumerate(group.rules):
            path: tuple[str | int, ...] = ("groups", gi, "rules", ri)
            try:
                expr_check(rule.expr)
            except (ValueError, QueryError) as exc:
                problems.append(
                    problem(smap.find((*path, "expr")), (*path, "expr"), f"invalid PromQL: {exc}")
                )
            for section in ("labels", "annotations"):
                for key, template in getattr(rule, section).items():
                    try:
                        renderer.check(template)
                    except TemplateTranslationError as exc:
                        where = (*path, section, key)
                        problems.append(problem(smap.find(where), where, f"template: {exc}"))
    if problems:
        raise ConfigError(problems)
    return [LoadedGroup(filename, g) for g in parsed.groups]
