"""What every dashboard page shares: templates, the navigation, the login redirect,
fixed flash messages after a form posts (Post/Redirect/Get), and the time filters."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from watchkeeper.core.clock import Clock, rfc3339
from watchkeeper.security.permissions import Permission
from watchkeeper.web.deps import Principal, current_principal

TEMPLATES = Path(__file__).parent / "templates"
MAX_ID = 2**63 - 1  # the largest row id or cursor the state databases store
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z: the last time a page can show

NAV: tuple[tuple[str, str, Permission], ...] = (
    ("/", "Overview", Permission.SERVICES_READ),
    ("/alerts", "Alerts", Permission.ALERTS_READ),
    ("/silences", "Silences", Permission.SILENCES_READ),
    ("/oncall", "On call", Permission.ALERTS_READ),
    ("/notifications", "Notifications", Permission.NOTIFICATIONS_READ),
    ("/explore", "Explore", Permission.METRICS_READ),
    ("/slos", "SLOs", Permission.SERVICES_READ),
    ("/quality", "Alert quality", Permission.ALERTS_READ),
    ("/reports", "Reports", Permission.REPORTS_READ),
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


def page_guard(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """Like ``require``, but a browser that is not logged in is sent to the login page."""

    async def dependency(request: Request) -> Principal:
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
    env.filters["ago"] = ago
    env.filters["rfc3339"] = rfc3339
    env.filters["utc"] = utc_time
    return templates


# What a successful form post says on the page it redirects to (``?msg=<key>``). Fixed
# texts only, so that a crafted link cannot put words on the page.
FLASH_MESSAGES: dict[str, str] = {
    "acked": "Acknowledged: repeat notifications and escalation stop until it resolves.",
    "unacked": "Acknowledgement withdrawn.",
    "resolved": "Resolved by hand.",
    "silence-created": "Silence created.",
    "silence-expired": "Silence expired.",
    "maintenance-created": "Maintenance window created.",
    "maintenance-deleted": "Maintenance window deleted.",
    "override-added": "On-call override added.",
    "override-removed": "On-call override removed.",
    "user-changed": "User updated.",
    "token-revoked": "API token revoked.",
    "readiness-started": "Readiness run started; its report appears here when it finishes.",
    "readiness-busy": "A readiness run is already in progress; its report appears here when "
    "it finishes.",
}


def page_context(request: Request, active: str, **values: Any) -> dict[str, Any]:
    principal = current_principal(request)
    nav = [(href, label) for href, label, perm in NAV if perm in principal.permissions]
    flashes: list[tuple[str, str]] = list(values.pop("flashes", None) or [])
    message = FLASH_MESSAGES.get(request.query_params.get("msg", ""))
    if message:
        flashes.insert(0, ("ok", message))
    return {
        "request": request,
        "principal": principal,
        "csrf_token": getattr(request.state, "csrf_token", None) or "",
        "nav": nav,
        "active": active,
        "flashes": flashes,
        **values,
    }


def can(request: Request, permission: Permission) -> bool:
    return permission in current_principal(request).permissions


def local_path(value: str | None, default: str) -> str:
    """A path on this site to go back to after a form posts; anything else is ``default``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def see_other(path: str, msg: str | None = None) -> RedirectResponse:
    """303 to ``path`` (a local path), with a fixed flash message key."""
    if msg is not None:
        parts = urlsplit(path)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "msg"] + [("msg", msg)]
        path = urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))
    return RedirectResponse(path, status_code=303)


def ago(ts: float | None, now: Callable[[], float] = time.time) -> str:
    """``5m ago`` / ``in 2h`` / ``never``."""
    if ts is None or ts <= 0:
        return "never"
    delta = now() - ts
    future = delta < 0
    delta = abs(delta)
    text = f"{int(delta)}s"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if delta >= size:
            text = f"{int(delta // size)}{unit}"
            break
    return f"in {text}" if future else f"{text} ago"


def utc_time(ts: float | None) -> str:
    """``2026-05-01 10:00 UTC``; empty for no time."""
    if ts is None or ts <= 0:
        return ""
    if ts > MAX_TIME:
        return "after the year 9999"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def install_filters(templates: Jinja2Templates, clock: Clock) -> None:
    """The time filters every page uses, reading the runtime's clock."""
    env = templates.env
    env.filters["ago"] = lambda ts: ago(ts, clock.now)
    env.filters["rfc3339"] = rfc3339
    env.filters["utc"] = utc_time


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
