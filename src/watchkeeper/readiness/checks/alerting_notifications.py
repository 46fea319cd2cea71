"""``alerting.test_notifications``: with ``--send-test-alerts``, every receiver (or
``readiness.alerting.test_alert_receivers``) is sent a clearly marked test notification
through the real notifiers; each channel's answer and latency is the evidence."""

from __future__ import annotations

from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.readiness.check import Check, CheckContext, from_details, skipped
from watchkeeper.readiness.model import Category, Detail, Status, Verdict
from watchkeeper.readiness.testalerts import send_test_notifications


class DeliversTestNotifications(Check):
    id = "alerting.test_notifications"
    category = Category.ALERTING
    title = "Each receiver delivers a test notification"
    timeout = 60.0

    async def run(self, ctx: CheckContext) -> Verdict:
        if not ctx.options.send_test_alerts:
            return skipped(
                "not asked to send test notifications",
                "run `watchkeeper validate --send-test-alerts` to send a clearly marked test "
                "notification to every receiver",
            )
        settings = ctx.settings.alerting
        receivers = ctx.config.alerting.receivers
        names = settings.test_alert_receivers or [r.name for r in receivers]
        details: list[Detail] = []
        sendable = []
        for r in receivers:
            if r.name not in names:
                continue
            if r.integrations():
                sendable.append(r.name)
            else:
                details.append(
                    Detail(r.name, Status.WARN, "no channels: alerts routed here reach nobody")
                )
        within = float(settings.test_alert_timeout)
        answers = await send_test_notifications(
            receivers,
            sendable,
            clock=ctx.clock,
            external_url=ctx.config.server.base_url(),
            within=within,
            transport=ctx.transport,
        )
        figures = []
        for a in answers:
            subject = f"{a.receiver}: {a.channel}[{a.integration}] → {a.target}"
            took = f"{a.latency_ms:.0f} ms" if a.latency_ms is not None else "-"
            if a.status is DeliveryStatus.DELIVERED:
                details.append(Detail(subject, Status.PASS, f"delivered in {took} ({a.answer})"))
            elif a.status is DeliveryStatus.FAILED:
                details.append(
                    Detail(
                        subject,
                        Status.FAIL,
                        f"rejected after {a.attempts} attempt(s): {a.answer}",
                    )
                )
            else:
                details.append(
                    Detail(subject, Status.FAIL, f"no final answer within {within:g}s ({a.answer})")
                )
            figures.append(
                {
                    "receiver": a.receiver,
                    "channel": a.channel,
                    "status": a.status.value,
                    "latency_ms": a.latency_ms,
                    "answer": a.answer,
                }
            )
        return from_details(
            details,
            ok=f"{len(answers)} channels of {len(sendable)} receivers delivered the test",
            remediation="fix the failing channel's URL or credentials (the answer says which), "
            "then try it alone with `watchkeeper notify test --config FILE RECEIVER`",
            nothing="no receivers to test",
            data={"deliveries": figures},
        )
