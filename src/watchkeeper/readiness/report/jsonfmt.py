"""The machine-readable report: JSON with ``schema`` and ``version`` (see
:meth:`watchkeeper.readiness.model.Report.to_dict`)."""

from __future__ import annotations

import json

from watchkeeper.readiness.model import Report


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False, default=str) + "\n"


def from_json(text: str) -> Report:
    """Raises ValueError for text that is not a readiness report this version reads."""
    return Report.from_dict(json.loads(text))
