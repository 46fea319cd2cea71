"""HTTP routers of alert management: the Alertmanager v2 API under ``/alertmanager`` and
Watchkeeper's own ``/api/v1`` (alerts, silences, maintenance windows, escalation
policies, on-call). Each factory takes the :class:`~watchkeeper.alerting.manager.AlertManager`
and returns a FastAPI router; every route declares the permission it needs."""

from __future__ import annotations

from fastapi import APIRouter

from watchkeeper.alerting.api.amv2 import alertmanager_router
from watchkeeper.alerting.api.v1_admin import admin_router
from watchkeeper.alerting.api.v1_alerts import alerts_router
from watchkeeper.alerting.api.v1_silences import silences_router
from watchkeeper.alerting.manager import AlertManager

__all__ = ["alerting_routers", "alertmanager_router"]


def alerting_routers(manager: AlertManager) -> list[APIRouter]:
    """Every router of alert management, to ``include_router`` in the app."""
    return [
        alertmanager_router(manager),
        alerts_router(manager),
        silences_router(manager),
        admin_router(manager),
    ]
