"""``alerting.rule_tests``: the rule files pass their unit tests (``promtool test rules``
format, run by ``watchkeeper test rules`` on Watchkeeper's own engine): the files in
``readiness.alerting.rule_tests`` and the tests of every enabled rule pack."""

from __future__ import annotations

import asyncio
import glob
from pathlib import Path

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.model import Category, Detail, Status, Verdict
from watchkeeper.readiness.ruletests import run_test_files
from watchkeeper.rulepacks import rule_pack_tests
from watchkeeper.runtime.rules import enabled_packs


class RuleUnitTests(Check):
    id = "alerting.rule_tests"
    category = Category.ALERTING
    title = "Rule files pass their unit tests"
    timeout = 120.0

    async def run(self, ctx: CheckContext) -> Verdict:
        settings = ctx.settings.alerting
        files: list[Path] = []
        details: list[Detail] = []
        for pattern in settings.rule_tests:
            full = pattern if Path(pattern).is_absolute() else str(ctx.base_dir / pattern)
            found = sorted(Path(p) for p in glob.glob(full))
            if not found:
                details.append(Detail(pattern, Status.FAIL, "matches no file"))
            files.extend(found)
        if settings.rule_pack_tests:
            files.extend(rule_pack_tests(name) for name in enabled_packs(ctx.config))
        if ctx.config.rule_files and not settings.rule_tests:
            details.append(
                Detail(
                    "rule_files",
                    Status.WARN,
                    "the rule files have no unit tests (readiness.alerting.rule_tests)",
                )
            )
        # CPU-bound evaluation runs on its own event loop in a worker thread, so the
        # checks waiting on the network meanwhile are not held up.
        results = await asyncio.to_thread(asyncio.run, run_test_files(files))
        groups = 0
        for r in results:
            groups += r.groups
            name = _display(r.path, ctx.base_dir)
            if r.ok:
                details.append(Detail(name, Status.PASS, f"SUCCESS ({r.groups} test groups)"))
            elif r.error is not None:
                details.append(Detail(name, Status.FAIL, f"cannot run: {r.error}"))
            else:
                first = r.failures[0].splitlines()[0]
                more = f" (+{len(r.failures) - 1} more)" if len(r.failures) > 1 else ""
                details.append(Detail(name, Status.FAIL, f"FAILED: {first}{more}"))
        return from_details(
            details,
            ok=f"{len(results)} test files, {groups} test groups: all pass",
            remediation="run `watchkeeper test rules FILE` to see each failure in full, then "
            "fix the rule or the test",
            nothing="no rule unit tests to run",
            data={"files": len(results), "groups": groups},
        )


def _display(path: Path, base: Path) -> str:
    if path.parent.parent.name == "rulepacks":
        return f"rulepack:{path.name.removesuffix('.test.yml')}"
    try:
        return str(path.relative_to(base))
    except ValueError:
        return path.name
