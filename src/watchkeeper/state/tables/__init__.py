"""Table modules, one per area, all on :data:`watchkeeper.state.metadata.metadata`.

Importing this package registers every table. Adding an area = one module + one line here.
"""

from __future__ import annotations

from watchkeeper.state.metadata import metadata
from watchkeeper.state.tables import (
    alerting,  # noqa: F401
    cluster,  # noqa: F401
    notify,  # noqa: F401
    quality,  # noqa: F401
    readiness,  # noqa: F401
    rules,  # noqa: F401
    security,  # noqa: F401
)

__all__ = ["metadata"]
