"""What every dashboard page shares: templates, the navigation, the login redirect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from watchkeeper.security.permissions import Permission
from watchkeeper.web.deps import Principal, current_principal

TEMPLATES = Path(__file__).parent / "templates"

NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/", "Overview", Permission.SERVICES_READ),
    ("/alerts", "Alerts", Permission.ALERTS_READ),
    ("/silences", "Silences", Permission.SILENCES_READ),
    ("/notifications", "Notifications", Permission.NOTIFICATIONS_READ),
    ("/explore", "Explore", Permission.METRICS_READ),
    ("/readiness", "Readiness", Permission.READINESS_READ),
    ("/admin", "Admin", Permission.USERS_READ),
    ("/status", "Status page", Permission.STATUS_READ),
)


class LoginRequired(Exception):
    """Raised by page guards for a visitor who is not logged in: redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbidden(Exception):
    def __init__(self, permission: Permission) -> None:
        super().__init__(permission.value)
        self.permission = permission


def page_guard(permission: Permission) -> Callable[[Request], Principal]:
    """Like ``require``, but a browser that is not logged in is sent to the login page."""

    def dependency(request: Request) -> Principal:
        principal = current_principal(request)
        if permission in principal.permissions:
            return principal
        if not principal.is_authenticated:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        raise PageForbidden(permission)

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def make_templates(static_url: Callable[[str], str]) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.globals["static"] = static_url
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    return templates


def page_context(request: Request, active: str, **values: Any) -> dict[str, Any]:
    principal = current_principal(request)
    nav = [(href, label) for href, label, perm in NAV if perm in principal.permissions]
    return {
        "request": request,
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "nav": nav,
        "active": active,
        **values,
    }


def render(
    templates: Jinja2Templates,
    request: Request,
    name: str,
    active: str,
    status_code: int = 200,
    **values: Any,
) -> Response:
    return templates.TemplateResponse(
        request, name, page_context(request, active, **values), status_code=status_code
    )
