"""Everything of this package the runtime needs, built from the ``storage`` section in one
call, so that wiring it is a few lines::

    remote = RemoteStorage.build(
        cfg.storage, store=embedded_store, data_dir=data_dir, clock=clock,
        registry=registry, external_labels=cfg.global_.external_labels,
    )
    remote.ingest_store   # give to everything that appends: scheduler, rule manager
    remote.engine         # rules and the dashboard query this (embedded or remote PromQL)
    remote.query_store    # the query API's series / labels / label values read this
    remote.push           # the push routers' ingester
    remote.event_driven   # False with query_url: the remote sees samples only later
    await remote.start() ... await remote.stop()

Without ``remote_write`` the ingest store is the embedded store itself; without
``query_url`` the engine is the embedded :class:`~watchkeeper.promql.Engine` on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.promql import Engine
from watchkeeper.remote.ingest import PushIngester
from watchkeeper.remote.query import QueryEngine, RemotePromQL
from watchkeeper.remote.reader import RemoteSeriesReader
from watchkeeper.remote.service import ForwardingStore, RemoteWriteService
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.tsdb.config import StorageConfig


@dataclass
class RemoteStorage:
    remote_write: RemoteWriteService
    ingest_store: SeriesStore
    engine: QueryEngine
    query_store: SeriesStore
    push: PushIngester
    remote_query: RemotePromQL | None

    @property
    def event_driven(self) -> bool:
        """Whether rules may run on each append: not when they read a remote TSDB, which
        receives the samples only after the sender's batch deadline."""
        return self.remote_query is None

    @classmethod
    def build(
        cls,
        storage: StorageConfig,
        *,
        store: SeriesStore,
        data_dir: Path,
        clock: Clock,
        registry: CollectorRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        query_transport: httpx.BaseTransport | None = None,
        external_labels: Mapping[str, str] | None = None,
    ) -> RemoteStorage:
        remote_write = RemoteWriteService.from_config(
            storage.remote_write,
            data_dir=data_dir,
            clock=clock,
            registry=registry,
            transport=transport,
            external_labels=external_labels,
        )
        ingest_store: SeriesStore = ForwardingStore(store, remote_write) if remote_write else store
        remote_query: RemotePromQL | None = None
        engine: QueryEngine
        query_store: SeriesStore
        if storage.query_url:
            remote_query = RemotePromQL(
                storage.query_url, clock=clock, config=storage.query, transport=query_transport
            )
            engine = remote_query
            query_store = RemoteSeriesReader(remote_query.api)
        else:
            engine = Engine(store, clock=clock)
            query_store = store
        push = PushIngester(
            ingest_store,
            clock=clock,
            config=storage.push,
            registry=registry,
            window_s=float(storage.out_of_order_window),
        )
        return cls(remote_write, ingest_store, engine, query_store, push, remote_query)

    async def start(self) -> None:
        await self.remote_write.start()

    async def stop(self) -> None:
        """Queue what is in memory for the next start, and close the query client."""
        await self.remote_write.stop()
        if self.remote_query is not None:
            self.remote_query.close()
