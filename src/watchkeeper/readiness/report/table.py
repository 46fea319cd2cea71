"""The terminal report: one rich table, grouped by category, then the summary line."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from watchkeeper.readiness.model import Report, Status

STYLES = {
    Status.PASS: "green",
    Status.WARN: "yellow",
    Status.FAIL: "bold red",
    Status.SKIP: "dim",
    Status.ERROR: "bold magenta",
}


def table(report: Report, *, details: bool = False) -> Table:
    t = Table(title="Production readiness", expand=True, show_lines=False)
    t.add_column("Status", no_wrap=True)
    t.add_column("Check", ratio=2)
    t.add_column("Evidence", ratio=5)
    t.add_column("Time", justify="right", no_wrap=True)
    for category, results in report.by_category():
        t.add_section()
        t.add_row("", Text(category.heading, style="bold underline"), "", "")
        for r in results:
            evidence = r.evidence
            if r.remediation and r.status in (Status.FAIL, Status.ERROR, Status.WARN):
                evidence += f"\n→ {r.remediation}"
            if details:
                evidence += "".join(
                    f"\n  [{d.status.value}] {d.subject}: {d.evidence}" for d in r.details
                )
            t.add_row(
                Text(r.status.value.upper(), style=STYLES[r.status]),
                f"{r.title}\n[dim]{r.id}[/dim]",
                Text(evidence),
                f"{r.duration:.1f}s",
            )
    return t


def summary(report: Report) -> Text:
    return Text(
        f"{report.status.value.upper()}: {report.summary.line()} in {report.duration:.1f}s",
        style=STYLES[report.status],
    )


def print_report(report: Report, console: Console, *, details: bool = False) -> None:
    console.print(table(report, details=details))
    console.print(summary(report))


def to_text(report: Report, *, width: int = 140) -> str:
    """The table as plain text (for ``--output FILE``)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, force_terminal=False)
    print_report(report, console, details=True)
    return buffer.getvalue()
