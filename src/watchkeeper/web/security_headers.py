"""Security headers on every response, and HSTS under HTTPS.

The default Content-Security-Policy suits server-rendered pages whose scripts, styles and
chart library are files served by the app itself: no inline scripts or styles, no other
origins, no framing. A page that needs an inline script asks for a per-request nonce
(``request.state.csp_nonce`` when ``script_nonce=True``) and writes
``<script nonce="{{ request.state.csp_nonce }}">``. A route that sets one of these headers
itself (say, an embeddable status badge) keeps its own value.

Install it as the outermost middleware (added last)::

    app.add_middleware(SecurityHeadersMiddleware, **security_headers_options(config.security))
"""

from __future__ import annotations

import base64
import os
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchkeeper.security.config import SecurityConfig

DEFAULT_CSP = (
    "default-src 'self'; "
    "script-src 'self'{nonce}; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "font-src 'self'; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)


def security_headers_options(config: SecurityConfig) -> dict[str, Any]:
    """Middleware keyword arguments from the ``security`` section."""
    return {
        "hsts_max_age": int(config.hsts_max_age),
        "hsts_include_subdomains": config.hsts_include_subdomains,
    }


class SecurityHeadersMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        csp: str = DEFAULT_CSP,
        script_nonce: bool = False,
        hsts_max_age: int = 2 * 365 * 86400,
        hsts_include_subdomains: bool = False,
        referrer_policy: str = "same-origin",
    ) -> None:
        self.app = app
        self.csp = csp
        self.script_nonce = script_nonce
        hsts = f"max-age={hsts_max_age}"
        if hsts_include_subdomains:
            hsts += "; includeSubDomains"
        self.hsts = hsts
        self.static = {
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": referrer_policy,
            "cross-origin-opener-policy": "same-origin",
            "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = ""
        if self.script_nonce:
            nonce = base64.b64encode(os.urandom(16)).decode()
            scope.setdefault("state", {})["csp_nonce"] = nonce
        csp = self.csp.replace("{nonce}", f" 'nonce-{nonce}'" if nonce else "")
        https = scope.get("scheme") == "https"
        credentialed = any(k in (b"authorization", b"cookie") for k, _ in scope["headers"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.static.items():
                    headers.setdefault(name, value)
                headers.setdefault("content-security-policy", csp)
                if https:
                    headers.setdefault("strict-transport-security", self.hsts)
                if credentialed:  # pages for one user must not sit in shared caches
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)
