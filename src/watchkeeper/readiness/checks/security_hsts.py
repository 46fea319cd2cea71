"""``security.hsts``: each public HTTPS service sends Strict-Transport-Security with a
max-age of at least ``readiness.security.hsts_min_max_age``."""

from __future__ import annotations

import re

import httpx

from watchkeeper.core.durations import format_duration
from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.security_support import https_client, security_targets
from watchkeeper.readiness.model import Category, Detail, Status, Verdict

_MAX_AGE = re.compile(r"max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class Hsts(Check):
    id = "security.hsts"
    category = Category.SECURITY
    title = "HSTS is sent"

    async def run(self, ctx: CheckContext) -> Verdict:
        minimum = float(ctx.settings.security.hsts_min_max_age)
        details = []
        async with https_client(ctx) as client:
            for t in security_targets(ctx):
                if t.skip:
                    details.append(Detail(t.url, Status.SKIP, t.skip))
                    continue
                if not t.https:
                    details.append(Detail(t.url, Status.FAIL, "not served over HTTPS"))
                    continue
                try:
                    resp = await client.get(t.url)
                except httpx.HTTPError as exc:
                    details.append(Detail(t.url, Status.FAIL, f"no answer: {exc}"))
                    continue
                details.append(
                    _judge(t.url, resp.headers.get("strict-transport-security"), minimum)
                )
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="send Strict-Transport-Security: max-age=63072000 (two years) on every "
            "HTTPS response (in the platform's headers settings or the app)",
            nothing="no public URL to inspect",
        )


def _judge(url: str, header: str | None, minimum: float) -> Detail:
    if not header:
        return Detail(url, Status.FAIL, "no Strict-Transport-Security header")
    found = _MAX_AGE.search(header)
    if found is None:
        return Detail(url, Status.FAIL, f"Strict-Transport-Security without max-age: {header}")
    age = int(found.group(1))
    if age < minimum:
        return Detail(
            url,
            Status.WARN,
            f"max-age {format_duration(age)} is shorter than {format_duration(minimum)}",
        )
    return Detail(url, Status.PASS, f"Strict-Transport-Security: {header}")
