"""Cluster mode in the running instance: what :class:`~watchkeeper.runtime.app.Runtime`
does differently when ``state.backend`` is ``postgres``.

Built before the stages (they are given its fenced database and its store wrapper) and
started after the scheduler:

- every instance collects its shard of the targets (:class:`ShardKeeper`), sends what it
  stores to its peers (:class:`PeerReplicator`), serves the dashboard and the APIs, and on
  a follower reads alert management from the database (:func:`read_copy`);
- the elected leader — and only it — evaluates rules, runs alert management and drains
  the notification outbox. When elected it first loads everything those need from the
  database: the rule evaluator's alert state (``rule_alerts``), the anomaly detectors'
  learnt state, and — by ``AlertManager.start()``, which loads alerts, silences,
  acknowledgements, the notification log, escalations, maintenance windows and on-call
  overrides — alert management; then starts the outbox worker, alert management, the
  rule evaluator and the scheduled readiness runs, in that order. Every round it also
  hands back the outbox deliveries leased to instances that are gone
  (:mod:`watchkeeper.cluster.leases`);
- a leader that loses the lock stops that work at once (without writing: the fence is
  closed) and the instance exits with :data:`EXIT_LEADERSHIP_LOST`, to be restarted as a
  follower by its supervisor.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge

from watchkeeper import __version__
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.cluster.alertview import read_copy
from watchkeeper.cluster.collection import ShardedScheduler, ShardKeeper
from watchkeeper.cluster.config import ClusterConfig, default_instance_id
from watchkeeper.cluster.fence import Fence, FencedDatabase
from watchkeeper.cluster.leases import release_orphaned
from watchkeeper.cluster.node import ClusterNode, ClusterView, Role
from watchkeeper.cluster.replicate import ClusterStore, PeerReplicator
from watchkeeper.cluster.rulestate import LeaderRuleStateStore, restore
from watchkeeper.cluster.session import ClusterSession, MemberInfo
from watchkeeper.collect.targets import ScheduledTarget
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.errors import StorageError
from watchkeeper.remote.ingest import PushIngester, PushResult
from watchkeeper.remote.service import RemoteWriteService
from watchkeeper.rules.anomaly import AnomalyStateStore
from watchkeeper.web.config import ServerConfig

if TYPE_CHECKING:
    from watchkeeper.runtime.app import Runtime

log = logging.getLogger(__name__)

EXIT_LEADERSHIP_LOST = 75  # EX_TEMPFAIL: restart me
COPY_REFRESH = 2.0  # seconds between a follower's reads of alert management
HOLD_INTERVAL_CAP = 300.0  # a restored alert is held at most one lookback past a takeover

__all__ = ["EXIT_LEADERSHIP_LOST", "ClusterMember", "ShardedScheduler", "cluster_config"]


def cluster_config(config: WatchkeeperConfig) -> ClusterConfig:
    """The ``cluster:`` section, or its defaults while the root model has none."""
    section = getattr(config, "cluster", None)
    return section if isinstance(section, ClusterConfig) else ClusterConfig()


def listen_url(server: ServerConfig, host: str | None = None, port: int | None = None) -> str:
    """Where peers reach an instance listening on ``host:port`` (a wildcard address is
    replaced by the machine's name)."""
    scheme = "https" if server.tls else "http"
    host = host or server.host
    if host in ("", "0.0.0.0", "::"):  # noqa: S104
        host = socket.getfqdn()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port if port is not None else server.port}"


class LeaderAnomalyState(AnomalyStateStore):
    """Prunes learnt state of removed anomaly rules only while leading (and not while a new
    leader empties its runner to load every rule afresh)."""

    def __init__(self, member: ClusterMember) -> None:
        super().__init__(member.leader_db)
        self._member = member

    def prune(self, keep: set[str]) -> None:
        if self._member.fence.is_open and not self._member.reloading_anomaly:
            super().prune(keep)


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.leader = Gauge("watchkeeper_cluster_leader", "1 on the leader", registry=registry)
        self.term = Gauge("watchkeeper_cluster_term", "Leader term seen", registry=registry)
        self.members = Gauge(
            "watchkeeper_cluster_members_live", "Live cluster members", registry=registry
        )
        self.targets = Gauge(
            "watchkeeper_cluster_targets_owned", "Targets this instance collects", registry=registry
        )


class ClusterMember:
    def __init__(self, rt: Runtime) -> None:
        cfg = rt.config
        if cfg.state.dsn is None:  # the state model refuses this; kept for narrowing
            raise StorageError("state backend postgres needs a dsn")
        self.rt = rt
        self.config = cluster_config(cfg)
        self.dsn = cfg.state.dsn.reveal()
        self.member_id = self.config.instance_id or default_instance_id()
        self.advertise_url = self.config.advertise_url or listen_url(cfg.server)
        self.fence = Fence(self.member_id)
        self.leader_db = FencedDatabase(rt.db, self.fence)
        self.replicator = (
            PeerReplicator(rt.data_dir, clock=rt.clock, transport=rt.options.http_transport)
            if self.config.replicate_samples
            else None
        )
        peers = self.replicator if self.replicator is not None else RemoteWriteService([])
        self.store = ClusterStore(rt.store, peers)
        self.rule_state = LeaderRuleStateStore(self.leader_db, self.fence)
        self.ingester = PushIngester(  # samples from peers: stored here, never sent on
            rt.embedded,
            clock=rt.clock,
            config=cfg.storage.push,
            window_s=float(cfg.storage.out_of_order_window),
        )
        self.metrics = _Metrics(rt.registry)
        self.node: ClusterNode | None = None
        self.keeper: ShardKeeper | None = None
        self.leading = False
        self.pending_alerting = False
        self.reloading_anomaly = False
        self.lost_leadership = asyncio.Event()
        self._copy: AlertManager | None = None
        self._copy_at = float("-inf")

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, targets: Sequence[ScheduledTarget]) -> None:
        rt = self.rt
        if not isinstance(rt.scheduler, ShardedScheduler):
            raise TypeError("cluster mode needs the sharded scheduler")
        self.keeper = ShardKeeper(
            rt.scheduler,
            self.store,
            member_id=self.member_id,
            clock=rt.clock,
            member_timeout=float(self.config.member_timeout),
            handover_window=2.5 * float(self.config.heartbeat_interval),
        )
        self.keeper.set_targets(targets)
        if self.replicator is not None:
            await self.replicator.start()
        me = MemberInfo(
            id=self.member_id,
            url=self.advertise_url,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            version=__version__,
        )
        self.node = ClusterNode(
            self.dsn, self.config, me, clock=rt.clock, fence=self.fence, hooks=self
        )
        log.info("joining the cluster as %s (%s)", self.member_id, self.advertise_url)
        await self.node.start()

    async def stop(self) -> None:
        if self.node is not None:
            await self.node.stop()
        if self.replicator is not None:
            await self.replicator.stop()

    def set_targets(self, targets: Sequence[ScheduledTarget]) -> None:
        if self.keeper is not None:
            self.keeper.set_targets(targets)

    # -- node hooks ----------------------------------------------------------------------

    async def elected(self, term: int) -> None:
        rt = self.rt
        cfg = rt.config
        if self.pending_alerting:
            await rt.alerts_live.reload(
                cfg.alerting, {s.name: list(s.depends_on) for s in cfg.services}
            )
            self.pending_alerting = False
        await asyncio.to_thread(self._reload_anomaly_rules, cfg)
        restored = await asyncio.to_thread(
            restore, rt.rules, self.rule_state, hold_until=rt.clock.now() + self.takeover_hold()
        )
        await rt.notify.start()
        await rt.alerts_live.start()
        await rt.rules.start()
        await rt.readiness_schedule.start()
        self.leading = True
        self.metrics.leader.set(1)
        self.metrics.term.set(term)
        log.info(
            "leading (term %d): %d alerts and %d rule alerts loaded from the database",
            term,
            len(rt.alerts_live.store),
            restored,
        )

    def takeover_hold(self) -> float:
        """How long a new leader holds the alerts it restored (see
        :mod:`watchkeeper.cluster.rulestate`): until a dead member's targets have been
        claimed by another and collected once more."""
        longest = max(
            (t.target.interval for t in self.keeper.targets()) if self.keeper else (),
            default=float(self.rt.config.global_.scrape_interval),
        )
        return (
            float(self.config.member_timeout)
            + 2 * float(self.config.heartbeat_interval)
            + min(longest, HOLD_INTERVAL_CAP)
        )

    def _reload_anomaly_rules(self, cfg: WatchkeeperConfig) -> None:
        """Every anomaly rule's learnt state as the database has it now (the runner is
        emptied first, so that no rule keeps what this instance read as a follower)."""
        interval = float(cfg.global_.evaluation_interval)
        self.reloading_anomaly = True
        try:
            self.rt.anomaly.load([], interval)
        finally:
            self.reloading_anomaly = False
        self.rt.anomaly.load(cfg.anomaly_rules, interval)

    async def lost(self, reason: str) -> None:
        rt = self.rt
        self.leading = False
        self.metrics.leader.set(0)
        await rt.rules.stop()
        await rt.readiness_schedule.stop()
        await rt.alerts_live.scheduler.stop()
        await rt.notify.worker.stop(grace=0.0)
        log.error(
            "stopped the leader's work (%s); exiting with status %d so that this instance "
            "restarts as a follower",
            reason,
            EXIT_LEADERSHIP_LOST,
        )
        self.lost_leadership.set()

    async def isolated(self) -> None:
        if self.keeper is not None:
            await self.keeper.drop_all()

    async def round(self, view: ClusterView, session: ClusterSession) -> None:
        keeper = self.keeper
        if keeper is None:
            return
        await keeper.step(session, view.live, view.leader_id, leading=self.leading)
        self.metrics.members.set(len(view.live))
        self.metrics.targets.set(len(self.rt.scheduler.targets()))
        if view.leader is not None:
            self.metrics.term.set(view.leader.term)
        if self.replicator is not None and self.node is not None:
            self.replicator.key = self.node.peer_key
            await self.replicator.set_peers(
                {m.id: m.url for m in view.members if m.id in view.live and m.id != self.member_id}
            )
        if self.leading:
            released = await asyncio.to_thread(
                release_orphaned, self.leader_db, view.live, self.rt.clock.now()
            )
            if released:
                log.warning("handed back %d deliveries leased to instances that are gone", released)
        elif self.rt.clock.monotonic() - self._copy_at >= COPY_REFRESH:
            await self._refresh_copy()

    async def _refresh_copy(self) -> None:
        rt = self.rt
        try:
            self._copy = await asyncio.to_thread(
                read_copy,
                rt.config,
                db=self.leader_db,
                outbox=rt.notify.outbox,
                clock=rt.clock,
                history=rt.history,
            )
        except Exception:
            log.exception("could not read alert management from the database")
        self._copy_at = rt.clock.monotonic()

    # -- what the runtime, the web app and the forwarding ask ----------------------------

    def alerts_view(self) -> AlertManager | None:
        """On a follower, the copy of alert management read from the database."""
        return None if self.leading else self._copy

    @property
    def is_leader(self) -> bool:
        return self.leading

    def leader_url(self) -> tuple[str, str] | None:
        view = self.node.view if self.node else None
        leader = view.leader_id if view else None
        if view is None or leader is None:
            return None
        member = view.member(leader)
        return (leader, member.url) if member else None

    @property
    def peer_key(self) -> str:
        return self.node.peer_key if self.node else ""

    def ingest_samples(self, body: bytes) -> PushResult:
        return self.ingester.remote_write(body)

    def status(self) -> dict[str, Any]:
        if self.node is None:
            return {"enabled": True, "self": self.member_id, "role": Role.STARTING.value}
        out = self.node.status(self.keeper.assignment if self.keeper else None)
        out["advertise_url"] = self.advertise_url
        out["targets_here"] = sorted(t.key for t in self.rt.scheduler.targets())
        out["peers"] = self.replicator.peer_status() if self.replicator else {}
        return out

    def readiness(self) -> tuple[list[str], dict[str, Any]]:
        """Problems that make this instance unready, and a summary for ``/readyz``."""
        node = self.node
        problems: list[str] = []
        if node is None or node.role is Role.STARTING:
            problems.append("cluster: not joined yet")
        elif node.role is Role.LOST:
            problems.append(f"cluster: lost the leadership ({node.lost_reason}); restarting")
        elif node.role is Role.STOPPED:
            problems.append("cluster: left the cluster")
        else:
            silent = self.rt.clock.monotonic() - node.last_round
            if silent > float(self.config.member_timeout):
                problems.append(
                    f"cluster: no heartbeat for {silent:.0f}s; the state database is unreachable"
                )
        view = node.view if node else None
        info = {
            "self": self.member_id,
            "role": node.role.value if node else Role.STARTING.value,
            "leader": view.leader_id if view else None,
            "term": view.leader.term if view and view.leader else None,
            "members": list(view.live) if view else [],
            "targets_here": len(self.rt.scheduler.targets()),
        }
        return problems, info
