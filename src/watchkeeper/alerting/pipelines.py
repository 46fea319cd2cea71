"""The pipelines alert management runs, assembled from the stages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from watchkeeper.alerting.acks import Acknowledgements
from watchkeeper.alerting.dependencies import DependencyMap
from watchkeeper.alerting.escalation import EscalationEngine
from watchkeeper.alerting.flapping import FlapDetector
from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.inhibit import Inhibitor
from watchkeeper.alerting.marker import MuteMarker
from watchkeeper.alerting.nflog import NotificationLog
from watchkeeper.alerting.pipeline.ack_stage import AckStage
from watchkeeper.alerting.pipeline.dedup_stage import DedupStage
from watchkeeper.alerting.pipeline.dependency_stage import DependencyStage
from watchkeeper.alerting.pipeline.enqueue_stage import EnqueueStage
from watchkeeper.alerting.pipeline.escalate_stage import EscalateStage
from watchkeeper.alerting.pipeline.escalation_stage import EscalationStage
from watchkeeper.alerting.pipeline.flapping_stage import FlappingStage
from watchkeeper.alerting.pipeline.inhibit_stage import InhibitStage
from watchkeeper.alerting.pipeline.maintenance_stage import MaintenanceMuter, MaintenanceStage
from watchkeeper.alerting.pipeline.mute_history_stage import MuteHistoryStage
from watchkeeper.alerting.pipeline.set_notifies_stage import SetNotifiesStage
from watchkeeper.alerting.pipeline.silence_stage import SilenceStage
from watchkeeper.alerting.pipeline.stage import ForEachReceiver, MultiStage, Stage
from watchkeeper.alerting.pipeline.time_active_stage import TimeActiveStage
from watchkeeper.alerting.pipeline.time_mute_stage import TimeMuteStage
from watchkeeper.alerting.silences import Silences
from watchkeeper.alerting.timeintervals import TimeIntervalSet
from watchkeeper.notify.base import Outbox


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """What the stages need; callables return the current (reloadable) component."""

    outbox: Outbox
    nflog: NotificationLog
    history: AlertHistory
    silences: Silences
    acks: Acknowledgements
    maintenance: MaintenanceMuter
    escalation: EscalationEngine
    flaps: FlapDetector
    marker: MuteMarker
    inhibitor: Callable[[], Inhibitor]
    dependencies: Callable[[], DependencyMap]
    intervals: Callable[[], Mapping[str, TimeIntervalSet]]
    is_firing: Callable[[str], bool]
    send_resolved: Callable[[str], bool]
    resolve_receiver: Callable[[str, float], tuple[str, dict[str, str]]]
    external_url: Callable[[], str]
    nflog_retention: Callable[[], float]
    schedule_escalation: Callable[[str, float], None]


def _mutes(p: PipelineParts, *, flapping: bool = True) -> list[Stage]:
    stages: list[Stage] = [
        InhibitStage(p.inhibitor, p.is_firing),
        TimeActiveStage(p.intervals),
        TimeMuteStage(p.intervals),
        SilenceStage(p.silences),
        MaintenanceStage(p.maintenance),
        DependencyStage(p.dependencies, p.is_firing),
    ]
    if flapping:
        stages.append(FlappingStage(p.flaps))
    return stages


def _enqueue(p: PipelineParts) -> EnqueueStage:
    return EnqueueStage(p.outbox, resolve_receiver=p.resolve_receiver, external_url=p.external_url)


def _set_notifies(p: PipelineParts) -> SetNotifiesStage:
    return SetNotifiesStage(p.nflog, p.history, p.nflog_retention)


def flush_pipeline(p: PipelineParts) -> Stage:
    """What a group flush runs."""
    branch = MultiStage(DedupStage(p.nflog, p.send_resolved), _enqueue(p), _set_notifies(p))
    return MultiStage(
        *_mutes(p),
        MuteHistoryStage(p.marker, p.history),
        AckStage(p.acks),
        ForEachReceiver(branch),
        EscalationStage(p.escalation, p.schedule_escalation),
    )


def escalation_pipeline(p: PipelineParts) -> Stage:
    """What reaching an escalation level runs."""
    return MultiStage(
        *_mutes(p),
        AckStage(p.acks),
        EscalateStage(p.escalation, p.nflog),
        ForEachReceiver(MultiStage(_enqueue(p), _set_notifies(p))),
    )


def event_pipeline(p: PipelineParts) -> Stage:
    """Announcements (acknowledged, unacknowledged, maintenance) to the context's
    receivers, with the event and discriminator already set."""
    return ForEachReceiver(_enqueue(p))


def flapping_pipeline(p: PipelineParts) -> Stage:
    """The one notification that an alert started flapping (unless it is muted)."""
    return MultiStage(*_mutes(p, flapping=False), ForEachReceiver(_enqueue(p)))
