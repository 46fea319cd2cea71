"""``security.headers``: each public service answers with the security headers of
``readiness.security.required_headers`` (nosniff, a Content-Security-Policy, a
Referrer-Policy by default)."""

from __future__ import annotations

import httpx

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.security_support import https_client, security_targets
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class SecurityHeaders(Check):
    id = "security.headers"
    category = Category.SECURITY
    title = "Security headers are set"

    async def run(self, ctx: CheckContext) -> Verdict:
        required = [h.lower() for h in ctx.settings.security.required_headers]
        details = []
        async with https_client(ctx) as client:
            for t in security_targets(ctx):
                if t.skip:
                    details.append(Detail(t.url, Status.SKIP, t.skip))
                    continue
                try:
                    resp = await client.get(t.url)
                except httpx.HTTPError as exc:
                    details.append(Detail(t.url, Status.FAIL, f"no answer: {exc}"))
                    continue
                missing = [h for h in required if h not in resp.headers]
                if missing:
                    details.append(Detail(t.url, Status.FAIL, f"missing {', '.join(missing)}"))
                else:
                    details.append(Detail(t.url, Status.PASS, f"{', '.join(required)} present"))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="set the missing headers in the platform's headers config (vercel.json "
            "headers, Render's response headers) or in the app, e.g. X-Content-Type-Options: "
            "nosniff, a Content-Security-Policy and Referrer-Policy: strict-origin-when-"
            "cross-origin",
            nothing="no public URL to inspect",
        )
