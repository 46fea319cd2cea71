"""The running Watchkeeper: every stage built from one validated config and wired::

    scheduler -> store -> rules -> alert management -> outbox -> channels
                   \\-> PromQL engine -> query API, dashboard

Long-lived state (the store, the state database, alert state) outlives a reload;
config-scoped objects are rebuilt and swapped (:meth:`Runtime.reload`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper import __version__
from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.cluster.migrate import upgrade_locked
from watchkeeper.collect.heartbeat.book import HeartbeatBook
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.targets import build_targets
from watchkeeper.config.loader import LoadedConfig, load_config
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock, SystemClock
from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.core.labels import Labels
from watchkeeper.core.tasks import cancel
from watchkeeper.notify.amglobals import receivers_with_global
from watchkeeper.notify.service import NotifyService
from watchkeeper.promql import Scalar, Vector, referenced_metrics
from watchkeeper.quality.service import build_report_service
from watchkeeper.readiness.schedule import ReadinessScheduler
from watchkeeper.readiness.service import ReadinessService
from watchkeeper.remote.wiring import RemoteStorage
from watchkeeper.rules.alerting_rule import Transition
from watchkeeper.rules.anomaly import AnomalyRunner, AnomalyStateStore
from watchkeeper.rules.group import RuleGroup
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.rules.persist import RuleStateStore
from watchkeeper.rules.views import RuleViews
from watchkeeper.runtime.cluster import ClusterMember, LeaderAnomalyState, ShardedScheduler
from watchkeeper.runtime.rules import load_rules
from watchkeeper.security.setup import (
    SecurityServices,
    build_security,
    data_dir,
    open_state_database,
    secret_box,
    security_config,
)
from watchkeeper.state.db import Database
from watchkeeper.tsdb.embedded import EmbeddedStore

log = logging.getLogger(__name__)
HOUSEKEEPING_INTERVAL = 600.0


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Knobs for tests and the demo; production uses the defaults."""

    clock: Clock | None = None
    env: Mapping[str, str] | None = None
    http_transport: httpx.AsyncBaseTransport | None = None
    resend_delay: float = 60.0
    min_event_spacing: float = 0.05


class Runtime:
    """Owns every component. Build with :meth:`from_config`, then ``await start()``."""

    def __init__(self, loaded: LoadedConfig, options: RuntimeOptions | None = None) -> None:
        self.options = options or RuntimeOptions()
        self.loaded = loaded
        self.clock: Clock = self.options.clock or SystemClock()
        self.registry = CollectorRegistry(auto_describe=True)
        cfg = loaded.config
        self.data_dir: Path = data_dir(cfg, loaded.base_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        clustered = cfg.state.backend == "postgres"
        self.db: Database = open_state_database(loaded, migrate=not clustered)
        if clustered:
            upgrade_locked(self.db)  # instances starting together migrate once
        storage = cfg.storage.model_copy(update={"path": str(self.data_dir)})
        self.embedded = EmbeddedStore.open(storage, clock=self.clock, registry=self.registry)
        try:
            # remote write (what is appended is also sent on) and query_url (a remote
            # TSDB answers PromQL): without them, the embedded store and engine themselves
            self.remote = RemoteStorage.build(
                cfg.storage,
                store=self.embedded,
                data_dir=self.data_dir,
                clock=self.clock,
                registry=self.registry,
                transport=self.options.http_transport,
                external_labels=cfg.global_.external_labels,
            )
            self.store = self.remote.ingest_store
            # cluster mode (several instances on one PostgreSQL): see runtime/cluster.py
            self.cluster: ClusterMember | None = ClusterMember(self) if clustered else None
            self._build(cfg)
        except BaseException:
            self.embedded.close()
            self.db.dispose()
            raise
        self._started = False
        self._reload_lock = asyncio.Lock()

    @classmethod
    def from_config(cls, path: str | Path, options: RuntimeOptions | None = None) -> Runtime:
        env = options.env if options else None
        return cls(load_config(path, env), options)

    @property
    def config(self) -> WatchkeeperConfig:
        return self.loaded.config

    @property
    def alerts(self) -> AlertManager:
        """Alert management; on a cluster follower, a copy read from the database."""
        if self.cluster is not None:
            return self.cluster.alerts_view() or self.alerts_live
        return self.alerts_live

    def _build(self, cfg: WatchkeeperConfig) -> None:
        clock = self.clock
        cluster = self.cluster
        # leader-owned state is written through the fence; appends also go to the peers
        state_db = cluster.leader_db if cluster is not None else self.db
        ingest = cluster.store if cluster is not None else self.store
        self.engine = self.remote.engine
        self.http = httpx.AsyncClient(
            transport=self.options.http_transport,
            follow_redirects=False,
            timeout=httpx.Timeout(30.0),
            headers={"User-Agent": f"Watchkeeper/{__version__}"},
        )
        self.heartbeats = HeartbeatBook()
        self.scheduler = (Scheduler if cluster is None else ShardedScheduler)(
            ingest,
            clock=clock,
            http=self.http,
            registry=self.registry,
            heartbeats=self.heartbeats,
            # a transport given for tests carries every request, scrapes included
            client_per_target=self.options.http_transport is None,
        )
        external_url = cfg.server.base_url()
        self.notify = NotifyService.build(
            state_db,
            receivers_with_global(cfg.alerting.receivers, cfg.alerting.global_),
            clock=clock,
            settings=cfg.notify,
            external_url=external_url,
            registry=self.registry,
            transport=self.options.http_transport,
            worker_id=cluster.member_id if cluster is not None else None,
        )
        env = self.options.env
        try:
            box = secret_box(self.loaded, env)
        except ConfigError:
            box = None  # no key configured: storing secrets through the API is refused
        self.security: SecurityServices = build_security(security_config(cfg), clock=clock, box=box)
        self.history = AlertHistory(state_db, clock)
        # changes people make to alert management are audited in the transactions making them
        self.alerts_live = AlertManager.from_config(
            cfg,
            db=state_db,
            outbox=self.notify.outbox,
            clock=clock,
            history=self.history,
            audit=self.security.audit,
        )
        self.anomaly = self.new_anomaly_runner(cfg)
        self.rule_state = RuleStateStore(self.db) if cluster is None else cluster.rule_state
        self.rules = RuleManager(
            query=self.query_vector,
            metrics_of=referenced_metrics,
            store=ingest,
            sink=self.alerts_live,
            clock=clock,
            options=self._rule_options(cfg),
            persistence=self.rule_state,
            on_transition=self._record_transition,
            registry=self.registry,
            before_evaluation=[self._before_evaluation],
        )
        self.rules.load(load_rules(cfg, self.loaded.base_dir))
        self.rule_views = RuleViews(self.rules)
        self.readiness = ReadinessService(
            self.db,
            lambda: self.loaded,
            clock=clock,
            transport=self.options.http_transport,
            env=self.options.env,
            audit=self.security.audit,
        )
        self.readiness_schedule = ReadinessScheduler(
            self.readiness, lambda: self.config, clock=clock, outbox=self.notify.outbox
        )
        self.reports = build_report_service(self)  # alert quality, digests, uptime reports

    def new_anomaly_runner(self, cfg: WatchkeeperConfig) -> AnomalyRunner:
        """The anomaly rules' runner, its learnt state restored from the database."""
        cluster = self.cluster
        runner = AnomalyRunner(
            query=self.query_vector,
            store=self.store if cluster is None else cluster.store,
            clock=self.clock,
            state=AnomalyStateStore(self.db) if cluster is None else LeaderAnomalyState(cluster),
        )
        runner.load(cfg.anomaly_rules, float(cfg.global_.evaluation_interval))
        return runner

    async def _before_evaluation(self, group: RuleGroup, ts: float) -> None:
        await self.anomaly.before_evaluation(group, ts)

    def _rule_options(self, cfg: WatchkeeperConfig) -> RuleManagerOptions:
        return RuleManagerOptions(
            default_interval=float(cfg.global_.evaluation_interval),
            resend_delay=self.options.resend_delay,
            min_event_spacing=self.options.min_event_spacing,
            event_driven=self.remote.event_driven,
            external_labels=dict(cfg.global_.external_labels),
            external_url=cfg.server.base_url(),
        )

    # --- queries the rules and the dashboard share ----------------------------------------

    def query_vector(self, expr: str, at_s: float) -> Sequence[tuple[Labels, float]]:
        result = self.engine.instant(expr, at_s)
        if isinstance(result, Vector):
            return [(s.labels, s.value) for s in result]
        if isinstance(result, Scalar):
            return [(Labels(), result.value)]
        raise ConfigError(f"expression {expr!r} must return a vector or a scalar")

    def _record_transition(self, group: RuleGroup, t: Transition) -> None:
        self.history.record_transition(
            t.labels, t.new, at=t.at, value=t.value, detail={"rule_group": group.name}
        )

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.remote.start()
        if self.cluster is not None:  # the leader's work starts when this one is elected
            await self.scheduler.start()
            await self.cluster.start(build_targets(self.config))
        else:
            await self.notify.start()
            await self.alerts_live.start()
            await self.rules.start()
            await self.scheduler.start(build_targets(self.config))
            await self.readiness_schedule.start()
            await self.reports.start()
        self._housekeeping = asyncio.create_task(self._housekeep(), name="housekeeping")
        self._started = True
        log.info(
            "watchkeeper started: %d services, %d targets, %d rule groups",
            len(self.config.services),
            len(self.scheduler.targets()),
            len(self.rules.groups),
        )

    async def _housekeep(self) -> None:
        """Periodic clean-up that no stage owns: expired login sessions."""
        while True:
            await self.clock.sleep(HOUSEKEEPING_INTERVAL)
            try:
                with self.db.begin() as conn:
                    self.security.sessions.purge_expired(conn)
            except StorageError as exc:
                log.warning("housekeeping failed, will retry: %s", exc)

    async def stop(self) -> None:
        if self._started:
            await cancel(self._housekeeping)
            await self.readiness_schedule.stop()
            await self.reports.stop()
            await self.scheduler.stop()
            if self.cluster is None or self.cluster.leading:
                await self.rules.stop()
                self.anomaly.save()
                await self.alerts_live.stop()
            await self.notify.stop()
            await self.remote.stop()
            if self.cluster is not None:  # after the leader's last writes: leave, unlock
                await self.cluster.stop()
            self._started = False
        else:  # never started, but checks may have been run (run_once): close their clients
            await self.scheduler.stop()
        await self.http.aclose()
        self.embedded.close()
        self.db.dispose()

    async def reload(self, loaded: LoadedConfig | None = None) -> None:
        """Re-read the config file (or take ``loaded``) and swap config-scoped parts.
        A config with errors raises ConfigError and changes nothing."""
        async with self._reload_lock:
            if loaded is None:
                if self.loaded.path is None:
                    raise ConfigError("this instance was not started from a config file")
                loaded = load_config(self.loaded.path, self.options.env)
            cfg = loaded.config
            groups = load_rules(cfg, loaded.base_dir)
            if self.cluster is None or self.cluster.leading:
                await self.alerts_live.reload(
                    cfg.alerting, {svc.name: list(svc.depends_on) for svc in cfg.services}
                )
            else:  # applied when this instance is elected
                self.cluster.pending_alerting = True
            self.notify.reload(
                receivers_with_global(cfg.alerting.receivers, cfg.alerting.global_),
                external_url=cfg.server.base_url(),
            )
            self.rules.options = self._rule_options(cfg)
            self.anomaly.load(cfg.anomaly_rules, float(cfg.global_.evaluation_interval))
            self.rules.load(groups)
            if self.cluster is not None:
                self.cluster.set_targets(build_targets(cfg))
            else:
                await self.scheduler.reconfigure(build_targets(cfg))
            self.loaded = loaded
            log.info("configuration reloaded from %s", loaded.path)
