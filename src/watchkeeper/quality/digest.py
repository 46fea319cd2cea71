"""Daily and weekly digests: what the alerts, the people and the channels did in a period.

A digest holds: alerts by service and rule, the noisiest rules (with their precision and
false-positive rate from operators' labels), MTTA and MTTR against the targets (the
escalation policy's, unless ``reports.targets`` says otherwise), delivery success per
channel, every SLO's compliance, the latest readiness status and the monitoring overhead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from watchkeeper.alerting.config import AlertingConfig
from watchkeeper.alerting.history import AlertHistory
from watchkeeper.core.clock import rfc3339
from watchkeeper.core.durations import format_duration
from watchkeeper.notify.log import DeliveryLog
from watchkeeper.notify.records import AttemptOutcome
from watchkeeper.quality.config import ReportsConfig
from watchkeeper.quality.incidents import Incident, incidents_between
from watchkeeper.quality.labels import LabelStore
from watchkeeper.quality.metrics import RuleQuality, overall, rule_quality
from watchkeeper.slo.status import SLOStatus

MAX_DELIVERY_PAGES = 200
NO_READINESS = "no readiness run yet"


class DigestKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def seconds(self) -> float:
        return 86400.0 if self is DigestKind.DAILY else 7 * 86400.0


def parse_kind(value: str) -> DigestKind:
    from watchkeeper.core.errors import UserInputError

    try:
        return DigestKind(value.strip().lower())
    except ValueError:
        raise UserInputError(f"unknown digest {value!r}; use daily or weekly") from None


@dataclass(slots=True)
class ChannelDelivery:
    receiver: str
    channel: str
    delivered: int = 0
    failed: int = 0
    retries: int = 0
    skipped: int = 0

    @property
    def success_rate(self) -> float | None:
        finished = self.delivered + self.failed
        return self.delivered / finished if finished else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "receiver": self.receiver,
            "channel": self.channel,
            "delivered": self.delivered,
            "failed": self.failed,
            "retries": self.retries,
            "skipped": self.skipped,
            "success_rate": self.success_rate,
        }


def delivery_stats(log: DeliveryLog, since: float, until: float) -> list[ChannelDelivery]:
    """Per receiver and channel: final outcomes (delivered, failed or given up) and the
    retries on the way, from every attempt in ``[since, until)``."""
    stats: dict[tuple[str, str], ChannelDelivery] = {}
    before: int | None = None
    for _ in range(MAX_DELIVERY_PAGES):
        page = log.query(since=since, until=until, before=before, limit=1000)
        for attempt in page.items:
            key = (attempt.receiver, attempt.channel)
            entry = stats.setdefault(key, ChannelDelivery(*key))
            if attempt.outcome is AttemptOutcome.DELIVERED:
                entry.delivered += 1
            elif attempt.outcome in (AttemptOutcome.FAILED, AttemptOutcome.GAVE_UP):
                entry.failed += 1
            elif attempt.outcome is AttemptOutcome.RETRY:
                entry.retries += 1
            else:
                entry.skipped += 1
        if page.next_before is None:
            break
        before = page.next_before
    return sorted(stats.values(), key=lambda c: (c.receiver, c.channel))


def response_targets(
    reports: ReportsConfig, alerting: AlertingConfig
) -> tuple[float | None, float | None, str]:
    """(MTTA target, MTTR target, where the MTTA target comes from)."""
    mttr = float(reports.targets.mttr) if reports.targets.mttr is not None else None
    if reports.targets.mtta is not None:
        return float(reports.targets.mtta), mttr, "reports.targets.mtta"
    policy_name = alerting.route.escalation_policy
    policy = next((p for p in alerting.escalation_policies if p.name == policy_name), None)
    if policy is None and alerting.escalation_policies:
        policy = alerting.escalation_policies[0]
    if policy is None or len(policy.levels) < 2:
        return None, mttr, "no escalation policy with a second level"
    mtta = float(policy.levels[0].after) + float(policy.levels[1].after)
    return mtta, mttr, f"escalation policy {policy.name!r}: its second level"


@dataclass(slots=True)
class Digest:
    kind: DigestKind
    period_start: float
    period_end: float
    generated_at: float
    incidents: list[Incident]
    rules: list[RuleQuality]
    total: RuleQuality
    noisiest: int
    mtta_target: float | None
    mttr_target: float | None
    mtta_target_source: str
    delivery: list[ChannelDelivery]
    slos: list[SLOStatus]
    readiness: dict[str, Any] | None
    overhead: dict[str, Any] | None = None
    sent_to: list[str] = field(default_factory=list)

    def by_service(self) -> list[tuple[str, int]]:
        counts = Counter(i.service or "(none)" for i in self.incidents)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def by_service_and_rule(self) -> list[tuple[str, str, int]]:
        counts = Counter((i.service or "(none)", i.rule) for i in self.incidents)
        return sorted(
            ((s, r, n) for (s, r), n in counts.items()), key=lambda x: (-x[2], x[0], x[1])
        )

    @staticmethod
    def _met(value: float | None, target: float | None) -> bool | None:
        return None if value is None or target is None else value <= target

    def to_dict(self) -> dict[str, Any]:
        t = self.total
        return {
            "kind": self.kind.value,
            "period_start": rfc3339(self.period_start),
            "period_end": rfc3339(self.period_end),
            "generated_at": rfc3339(self.generated_at),
            "alerts": {
                "incidents": t.incidents,
                "by_service": [{"service": s, "incidents": n} for s, n in self.by_service()],
                "by_service_and_rule": [
                    {"service": s, "rule": r, "incidents": n}
                    for s, r, n in self.by_service_and_rule()
                ],
            },
            "noisiest_rules": [q.to_dict() for q in self.rules[: self.noisiest]],
            "quality": t.to_dict(),
            "response": {
                "mtta_seconds": t.mtta,
                "mttr_seconds": t.mttr,
                "mtta_target_seconds": self.mtta_target,
                "mttr_target_seconds": self.mttr_target,
                "mtta_target_source": self.mtta_target_source,
                "mtta_met": self._met(t.mtta, self.mtta_target),
                "mttr_met": self._met(t.mttr, self.mttr_target),
                "acknowledged": t.acknowledged,
                "resolved": t.resolved,
            },
            "delivery": [c.to_dict() for c in self.delivery],
            "slos": [s.to_dict() for s in self.slos],
            "readiness": self.readiness or {"status": "none", "message": NO_READINESS},
            "overhead": self.overhead,
            "sent_to": list(self.sent_to),
        }

    def text(self) -> str:
        """A plain-text rendering for channels (email, chat)."""
        t = self.total
        lines = [
            f"{self.kind.value.title()} digest, {rfc3339(self.period_start)} to "
            f"{rfc3339(self.period_end)}",
            f"Alerts: {t.incidents} incident(s)"
            + (
                " — " + ", ".join(f"{s}: {n}" for s, n in self.by_service())
                if self.incidents
                else ""
            ),
        ]
        if self.rules:
            lines.append("Noisiest rules:")
            for q in self.rules[: self.noisiest]:
                lines.append(
                    f"  {q.rule}: {q.incidents} incident(s), precision {_pct(q.precision)}, "
                    f"false positives {_pct(q.false_positive_rate)} ({q.labelled} labelled)"
                )
        lines.append(
            f"MTTA {_dur(t.mtta)} (target {_dur(self.mtta_target)}), "
            f"MTTR {_dur(t.mttr)} (target {_dur(self.mttr_target)})"
        )
        if self.delivery:
            lines.append(
                "Delivery: "
                + ", ".join(
                    f"{c.receiver}/{c.channel} {_pct(c.success_rate)}" for c in self.delivery
                )
            )
        for s in self.slos:
            lines.append(
                f"SLO {s.slo.name}: {s.compliance.value}, SLI {_num(s.sli)} % of "
                f"{s.slo.objective:g} %, budget left {_pct(s.budget_remaining)}"
            )
        r = self.readiness
        lines.append(
            f"Readiness: {r['status'].upper()} ({r.get('summary', '')}) at {r.get('at', '')}"
            if r
            else f"Readiness: {NO_READINESS}"
        )
        if self.overhead:
            o = self.overhead
            lines.append(
                f"Overhead: {_pct(o.get('cpu_share'))} of a core, "
                f"{int(o.get('max_rss_bytes', 0)) // 2**20} MiB, {o.get('series') or 0} series"
            )
        return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _dur(value: float | None) -> str:
    return "n/a" if value is None else format_duration(round(value))


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


ReadinessLatest = Callable[[], dict[str, Any] | None]
OverheadFunc = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DigestSources:
    """Where a digest's figures come from (each a real store or reader)."""

    history: AlertHistory
    labels: LabelStore
    delivery_log: DeliveryLog
    slos: Callable[[float], list[SLOStatus]]
    readiness: ReadinessLatest
    overhead: OverheadFunc | None = None


def build_digest(
    kind: DigestKind,
    end: float,
    *,
    sources: DigestSources,
    reports: ReportsConfig,
    alerting: AlertingConfig,
    external_labels: Mapping[str, str],
    now: float,
) -> Digest:
    start = end - kind.seconds
    incidents = incidents_between(sources.history, start, end, external_labels)
    sources.labels.apply(incidents, start, end)
    mtta, mttr, source = response_targets(reports, alerting)
    return Digest(
        kind=kind,
        period_start=start,
        period_end=end,
        generated_at=now,
        incidents=incidents,
        rules=rule_quality(incidents),
        total=overall(incidents),
        noisiest=reports.noisiest,
        mtta_target=mtta,
        mttr_target=mttr,
        mtta_target_source=source,
        delivery=delivery_stats(sources.delivery_log, start, end),
        slos=sources.slos(end),
        readiness=sources.readiness(),
        overhead=sources.overhead() if sources.overhead is not None else None,
    )
