"""Readiness reports: a terminal table grouped by category, versioned JSON, JUnit XML for
CI systems, Markdown, and a self-contained HTML page with charts of the performance
baseline.

    text = render(report, ReportFormat.JUNIT, fail_on=FailOn.FAIL)
"""

from __future__ import annotations

from enum import StrEnum

from watchkeeper.readiness.model import FailOn, Report


class ReportFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JUNIT = "junit"
    MARKDOWN = "markdown"
    HTML = "html"


def render(report: Report, fmt: ReportFormat, *, fail_on: FailOn = FailOn.FAIL) -> str:
    if fmt is ReportFormat.JSON:
        from watchkeeper.readiness.report.jsonfmt import to_json

        return to_json(report)
    if fmt is ReportFormat.JUNIT:
        from watchkeeper.readiness.report.junit import to_junit

        return to_junit(report, fail_on=fail_on)
    if fmt is ReportFormat.MARKDOWN:
        from watchkeeper.readiness.report.markdown import to_markdown

        return to_markdown(report)
    if fmt is ReportFormat.HTML:
        from watchkeeper.readiness.report.html import to_html

        return to_html(report)
    from watchkeeper.readiness.report.table import to_text

    return to_text(report)


__all__ = ["ReportFormat", "render"]
