"""What the platform checks share: the targets of one collector kind from the validator's
run of the collectors, and the detail for a target that could not be read."""

from __future__ import annotations

from watchkeeper.readiness.check import CheckContext
from watchkeeper.readiness.evidence import CollectedEvidence, TargetEvidence
from watchkeeper.readiness.model import Detail, Status


async def platform_targets(
    ctx: CheckContext, kind: str
) -> tuple[CollectedEvidence, list[TargetEvidence]]:
    collected = await ctx.evidence.collected()
    return collected, collected.of_kind(kind)


def unreadable(target: TargetEvidence) -> Detail | None:
    """A failing detail when the collector could not read the platform, else ``None``."""
    status = target.status
    if status.up:
        return None
    what = "configuration error (credentials)" if status.is_auth_error else "cannot read"
    return Detail(target.key, Status.FAIL, f"{what}: {status.error}")


def production(ctx: CheckContext, service: str) -> bool:
    names = ctx.settings.scaling.production_services
    return names is None or service in names


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h"
