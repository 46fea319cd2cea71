"""``security.https_redirect``: each public service is served over HTTPS and plain HTTP
redirects to it."""

from __future__ import annotations

import httpx

from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.security_support import https_client, security_targets
from watchkeeper.readiness.model import Category, Detail, Status, Verdict

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class HttpsEnforced(Check):
    id = "security.https_redirect"
    category = Category.SECURITY
    title = "HTTPS is enforced with a redirect"

    async def run(self, ctx: CheckContext) -> Verdict:
        details = []
        async with https_client(ctx) as client:
            for t in security_targets(ctx):
                if t.skip:
                    details.append(Detail(t.url, Status.SKIP, t.skip))
                elif not t.https:
                    details.append(Detail(t.url, Status.FAIL, "served over plain HTTP"))
                else:
                    details.append(await _redirect(client, t.url, t.http_url))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="serve every public URL over HTTPS and answer plain HTTP with a 301 "
            "or 308 redirect to it (Vercel and Render do both for custom domains once the "
            "certificate is issued)",
            nothing="no public URL to inspect",
        )


async def _redirect(client: httpx.AsyncClient, url: str, http_url: str) -> Detail:
    try:
        resp = await client.get(http_url)
    except httpx.ConnectError:
        return Detail(
            url,
            Status.WARN,
            f"nothing answers plain HTTP at {http_url}: visitors who type the address "
            "without https:// get an error instead of a redirect",
        )
    except httpx.HTTPError as exc:
        return Detail(url, Status.FAIL, f"{http_url}: {exc}")
    location = resp.headers.get("location", "")
    if resp.status_code in REDIRECTS and location.startswith("https://"):
        return Detail(url, Status.PASS, f"{http_url} → HTTP {resp.status_code} → {location}")
    if resp.status_code in REDIRECTS:
        return Detail(url, Status.FAIL, f"{http_url} redirects to {location}, not to HTTPS")
    return Detail(
        url,
        Status.FAIL,
        f"{http_url} answers HTTP {resp.status_code} over plain HTTP instead of redirecting",
    )
