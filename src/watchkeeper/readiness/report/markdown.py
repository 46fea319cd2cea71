"""A Markdown report for people (pull requests, wikis, chat): the summary, then one
table per category, then what to fix."""

from __future__ import annotations

from watchkeeper.core.clock import rfc3339
from watchkeeper.readiness.model import Report, Status

MARKS = {
    Status.PASS: "✅ pass",
    Status.WARN: "⚠️ warn",
    Status.FAIL: "❌ fail",
    Status.SKIP: "⏭️ skip",
    Status.ERROR: "💥 error",
}


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")


def to_markdown(report: Report) -> str:
    lines = [
        "# Production readiness",
        "",
        f"**{MARKS[report.status]}** — {report.summary.line()} "
        f"({report.config or 'config'}, {rfc3339(report.started_at)}, "
        f"{report.duration:.1f} s)",
        "",
    ]
    for category, results in report.by_category():
        lines += [
            f"## {category.heading}",
            "",
            "| Status | Check | Evidence |",
            "| --- | --- | --- |",
        ]
        for r in results:
            lines.append(
                f"| {MARKS[r.status]} | {_cell(r.title)} (`{r.id}`) | {_cell(r.evidence)} |"
            )
        lines.append("")
    todo = [r for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN)]
    if todo:
        lines += ["## What to fix", ""]
        for r in todo:
            lines.append(
                f"- **{_cell(r.title)}** (`{r.id}`, {r.status.value}): {_cell(r.remediation)}"
            )
        lines.append("")
    return "\n".join(lines)
