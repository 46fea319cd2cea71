"""The running Watchkeeper: every stage built from one validated config and wired::

    scheduler -> store -> rules -> alert management -> outbox -> channels
                   \\-> PromQL engine -> query API, dashboard

Long-lived state (the store, the state database, alert state) outlives a reload;
config-scoped objects are rebuilt and swapped (:meth:`Runtime.reload`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper import __version__
from watchkeeper.alerting.history import AlertHistory
from watchkeeper.alerting.manager import AlertManager
from watchkeeper.collect.heartbeat.book import HeartbeatBook
from watchkeeper.collect.scheduler import Scheduler
from watchkeeper.collect.targets import build_targets
from watchkeeper.config.loader import LoadedConfig, load_config
from watchkeeper.config.model import WatchkeeperConfig
from watchkeeper.core.clock import Clock, SystemClock
from watchkeeper.core.errors import ConfigError, StorageError
from watchkeeper.core.labels import Labels
from watchkeeper.notify.service import NotifyService
from watchkeeper.promql import Engine, Scalar, Vector, referenced_metrics
from watchkeeper.rules.alerting_rule import Transition
from watchkeeper.rules.anomaly import AnomalyRunner, AnomalyStateStore
from watchkeeper.rules.group import RuleGroup
from watchkeeper.rules.manager import RuleManager, RuleManagerOptions
from watchkeeper.rules.persist import RuleStateStore
from watchkeeper.rules.views import RuleViews
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
        self.db: Database = open_state_database(loaded)
        storage = cfg.storage.model_copy(update={"path": str(self.data_dir)})
        self.store = EmbeddedStore.open(storage, clock=self.clock, registry=self.registry)
        try:
            self._build(cfg)
        except BaseException:
            self.store.close()
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

    def _build(self, cfg: WatchkeeperConfig) -> None:
        clock = self.clock
        self.engine = Engine(self.store, clock=clock)
        self.http = httpx.AsyncClient(
            transport=self.options.http_transport,
            follow_redirects=False,
            timeout=httpx.Timeout(30.0),
            headers={"User-Agent": f"Watchkeeper/{__version__}"},
        )
        self.heartbeats = HeartbeatBook()
        self.scheduler = Scheduler(
            self.store,
            clock=clock,
            http=self.http,
            registry=self.registry,
            heartbeats=self.heartbeats,
        )
        external_url = cfg.server.base_url()
        self.notify = NotifyService.build(
            self.db,
            cfg.alerting.receivers,
            clock=clock,
            external_url=external_url,
            registry=self.registry,
            transport=self.options.http_transport,
        )
        self.history = AlertHistory(self.db, clock)
        self.alerts = AlertManager.from_config(
            cfg, db=self.db, outbox=self.notify.outbox, clock=clock, history=self.history
        )
        self.anomaly = AnomalyRunner(
            query=self.query_vector, store=self.store, clock=clock, state=AnomalyStateStore(self.db)
        )
        self.anomaly.load(cfg.anomaly_rules, float(cfg.global_.evaluation_interval))
        self.rules = RuleManager(
            query=self.query_vector,
            metrics_of=referenced_metrics,
            store=self.store,
            sink=self.alerts,
            clock=clock,
            options=self._rule_options(cfg),
            persistence=RuleStateStore(self.db),
            on_transition=self._record_transition,
            registry=self.registry,
            before_evaluation=[self.anomaly.before_evaluation],
        )
        self.rules.load(load_rules(cfg, self.loaded.base_dir))
        self.rule_views = RuleViews(self.rules)
        env = self.options.env
        try:
            box = secret_box(self.loaded, env)
        except ConfigError:
            box = None  # no key configured: storing secrets through the API is refused
        self.security: SecurityServices = build_security(security_config(cfg), clock=clock, box=box)

    def _rule_options(self, cfg: WatchkeeperConfig) -> RuleManagerOptions:
        return RuleManagerOptions(
            default_interval=float(cfg.global_.evaluation_interval),
            resend_delay=self.options.resend_delay,
            min_event_spacing=self.options.min_event_spacing,
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
        await self.notify.start()
        await self.alerts.start()
        await self.rules.start()
        await self.scheduler.start(build_targets(self.config))
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
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            await self.scheduler.stop()
            await self.rules.stop()
            self.anomaly.save()
            await self.alerts.stop()
            await self.notify.stop()
            self._started = False
        await self.http.aclose()
        self.store.close()
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
            await self.alerts.reload(
                cfg.alerting, {svc.name: list(svc.depends_on) for svc in cfg.services}
            )
            self.notify.reload(cfg.alerting.receivers, external_url=cfg.server.base_url())
            self.rules.options = self._rule_options(cfg)
            self.anomaly.load(cfg.anomaly_rules, float(cfg.global_.evaluation_interval))
            self.rules.load(groups)
            await self.scheduler.reconfigure(build_targets(cfg))
            self.loaded = loaded
            log.info("configuration reloaded from %s", loaded.path)
