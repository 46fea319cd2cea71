"""``security.certificate``: each public HTTPS service's certificate is valid (verified by
the http collector, trusting ``ca_file`` too) for at least
``readiness.security.min_certificate_days`` more days."""

from __future__ import annotations

from watchkeeper.collect.base import CollectContext, CollectorDeps, Target
from watchkeeper.collect.http.collector import HttpCollector
from watchkeeper.collect.http.config import HttpCheckConfig
from watchkeeper.core.clock import now_ms
from watchkeeper.core.labels import Labels
from watchkeeper.readiness.check import Check, CheckContext, from_details
from watchkeeper.readiness.checks.security_support import security_targets
from watchkeeper.readiness.model import Category, Detail, Status, Verdict


class CertificateValid(Check):
    id = "security.certificate"
    category = Category.SECURITY
    title = "TLS certificates are valid for long enough"

    async def run(self, ctx: CheckContext) -> Verdict:
        settings = ctx.settings.security
        details = []
        expiry_days: dict[str, float] = {}
        for t in security_targets(ctx):
            if t.skip:
                details.append(Detail(t.url, Status.SKIP, t.skip))
                continue
            if not t.https:
                details.append(Detail(t.url, Status.FAIL, "not served over HTTPS: no certificate"))
                continue
            ca_file = str(ctx.base_dir / settings.ca_file) if settings.ca_file else None
            config = HttpCheckConfig(
                url=t.url, ca_file=ca_file, expected_status=list(range(100, 600))
            )
            collector = HttpCollector(config, CollectorDeps(clock=ctx.clock, http=ctx.http))
            target = Target(
                "readiness", "certificate", "http", "readiness", t.url, 15.0, 10.0, Labels()
            )
            try:
                result = await collector.collect(
                    CollectContext(
                        target=target,
                        clock=ctx.clock,
                        http=ctx.http,
                        scrape_time_ms=now_ms(ctx.clock),
                    )
                )
            finally:
                await collector.close()
            expiry = next(
                (
                    v
                    for labels, v, _ in result.samples
                    if labels.get("__name__") == "probe_ssl_earliest_cert_expiry"
                ),
                None,
            )
            if expiry is None:
                details.append(
                    Detail(
                        t.url,
                        Status.FAIL,
                        f"no valid certificate: {result.error or 'TLS handshake failed'}",
                    )
                )
                continue
            days = (expiry - ctx.clock.now()) / 86400
            expiry_days[t.url] = round(days, 2)
            if days < settings.min_certificate_days:
                details.append(
                    Detail(
                        t.url,
                        Status.FAIL,
                        f"expires in {days:.1f} days (need {settings.min_certificate_days:g})",
                    )
                )
            else:
                details.append(Detail(t.url, Status.PASS, f"valid for {days:.0f} more days"))
        return from_details(
            details,
            ok="; ".join(f"{d.subject}: {d.evidence}" for d in details),
            remediation="renew the certificate (or find why automatic renewal failed: DNS, the "
            "ACME challenge, the platform's domain settings)",
            nothing="no public URL to inspect",
            data={"expiry_days": expiry_days},
        )
