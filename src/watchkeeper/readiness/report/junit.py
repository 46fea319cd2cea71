"""JUnit XML as CI systems read it (GitLab, Jenkins, GitHub test reporters): one
``testsuite`` per category, one ``testcase`` per check; a failing check is a
``failure``, a check that could not run an ``error``, a skipped one ``skipped``. A
warning passes, with its evidence in ``system-out``, unless ``fail_on`` is warn."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from watchkeeper.core.clock import rfc3339
from watchkeeper.readiness.model import CheckResult, FailOn, Report, Status


def _text(result: CheckResult) -> str:
    lines = [result.evidence]
    if result.remediation:
        lines.append(f"How to fix: {result.remediation}")
    lines += [f"- [{d.status.value}] {d.subject}: {d.evidence}" for d in result.details]
    return "\n".join(lines)


def _case(parent: ET.Element, result: CheckResult, fail_on: FailOn) -> tuple[int, int, int]:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=f"readiness.{result.category.value}",
        name=f"{result.id}: {result.title}",
        time=f"{result.duration:.3f}",
    )
    failures = errors = skipped = 0
    failing = result.status is Status.FAIL or (
        result.status is Status.WARN and fail_on is FailOn.WARN
    )
    if failing:
        node = ET.SubElement(
            case, "failure", message=result.evidence[:1000], type=result.status.value
        )
        node.text = _text(result)
        failures = 1
    elif result.status is Status.ERROR:
        node = ET.SubElement(case, "error", message=result.evidence[:1000], type="error")
        node.text = _text(result)
        errors = 1
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=result.evidence[:1000])
        skipped = 1
    out = ET.SubElement(case, "system-out")
    out.text = f"{result.status.value.upper()}: {_text(result)}"
    return failures, errors, skipped


def to_junit(report: Report, *, fail_on: FailOn = FailOn.FAIL) -> str:
    root = ET.Element("testsuites", name="watchkeeper validate")
    totals = [0, 0, 0, 0]
    for category, results in report.by_category():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=category.value,
            timestamp=rfc3339(report.started_at),
            hostname="watchkeeper",
        )
        counts = [0, 0, 0]
        for result in results:
            for i, n in enumerate(_case(suite, result, fail_on)):
                counts[i] += n
        suite.set("tests", str(len(results)))
        suite.set("failures", str(counts[0]))
        suite.set("errors", str(counts[1]))
        suite.set("skipped", str(counts[2]))
        suite.set("time", f"{sum(r.duration for r in results):.3f}")
        totals = [
            totals[0] + len(results),
            *(t + c for t, c in zip(totals[1:], counts, strict=True)),
        ]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", str(totals[2]))
    root.set("skipped", str(totals[3]))
    root.set("time", f"{report.duration:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
