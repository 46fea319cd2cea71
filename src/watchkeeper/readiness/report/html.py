"""A self-contained HTML report: every result grouped by category, and charts of the
performance baseline drawn by the vendored uPlot (inlined, with its stylesheet, so the
page works offline, from a file or as a CI artefact). The report data is embedded as JSON
and read by a small inline script."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from watchkeeper.core.clock import rfc3339
from watchkeeper.readiness.model import Report, Status

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _vendor(name: str) -> str:
    return (VENDOR / name).read_text(encoding="utf-8")


def _script_safe(text: str) -> Markup:
    """Text placed inside a <script> or <style> element: no closing tag can end it."""
    return Markup(text.replace("</", "<\\/"))  # noqa: S704 - our own vendored files and JSON


@cache
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def to_html(report: Report) -> str:
    perf = report.result("performance.baseline")
    endpoints = dict(perf.data.get("endpoints", {})) if perf is not None else {}
    data = json.dumps({"endpoints": endpoints}, allow_nan=False, default=str)
    return (
        _env()
        .get_template("report.html")
        .render(
            report=report,
            groups=report.by_category(),
            started=rfc3339(report.started_at),
            Status=Status,
            uplot_js=_script_safe(_vendor("uPlot.iife.min.js")),
            uplot_css=_script_safe(_vendor("uPlot.min.css")),
            data_json=_script_safe(data),
            endpoints=endpoints,
        )
    )
