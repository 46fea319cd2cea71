"""Helpers of the remote tests: request bodies built with the canonical remote-write
messages, and a push app with the real token authentication on a state database."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cramjam
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from watchkeeper.core.clock import Clock
from watchkeeper.remote import proto
from watchkeeper.remote.api import remote_write_router, text_push_router
from watchkeeper.remote.config import PushConfig
from watchkeeper.remote.ingest import PushIngester
from watchkeeper.security.config import Argon2Config, SecurityConfig
from watchkeeper.security.permissions import Permission, Role
from watchkeeper.security.principal import system_principal
from watchkeeper.security.setup import build_security
from watchkeeper.state.db import Database, sqlite_url
from watchkeeper.tsdb.base import SeriesStore
from watchkeeper.web.auth import WebAuth, install_auth
from watchkeeper.web.errors import install_error_handlers

Row = tuple[Mapping[str, str], Sequence[tuple[int, float]]]

PB_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def write_request(rows: Iterable[Row], *, histograms: int = 0) -> Any:
    """A canonical ``WriteRequest`` (labels sorted by name, as senders must)."""
    request = proto.WriteRequest()
    for labels, samples in rows:
        ts = request.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for t, v in samples:
            ts.samples.add(value=v, timestamp=t)
        for _ in range(histograms):
            ts.histograms.append(b"\x08\x01")
    return request


def body(rows: Iterable[Row], *, histograms: int = 0) -> bytes:
    raw = write_request(rows, histograms=histograms).SerializeToString()
    return bytes(cramjam.snappy.compress_raw(raw))


@dataclass
class PushApp:
    app: FastAPI
    ingester: PushIngester
    registry: CollectorRegistry
    db: Database
    writer_token: str  # admin narrowed to metrics:write
    viewer_token: str
    admin_token: str

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        out = dict(PB_HEADERS)
        out["Authorization"] = f"Bearer {token or self.writer_token}"
        out.update(extra)
        return out


def push_app(
    store: SeriesStore,
    clock: Clock,
    tmp_path: Path,
    *,
    config: PushConfig | None = None,
    window_s: float = 600.0,
) -> PushApp:
    db = Database(sqlite_url(tmp_path / "state.sqlite"))
    db.upgrade()
    security = build_security(
        SecurityConfig(argon2=Argon2Config(time_cost=1, memory_cost=8, parallelism=1)),
        clock=clock,
    )
    actor = system_principal("cli:tester")
    with db.begin() as conn:
        writer, _ = security.tokens.create(
            conn, actor, "agent", Role.ADMIN, scopes=frozenset({Permission.METRICS_WRITE})
        )
        viewer, _ = security.tokens.create(conn, actor, "viewer", Role.VIEWER)
        admin, _ = security.tokens.create(conn, actor, "admin", Role.ADMIN)
    registry = CollectorRegistry(auto_describe=True)
    ingester = PushIngester(store, clock=clock, config=config, window_s=window_s, registry=registry)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    app.include_router(remote_write_router(ingester))
    app.include_router(text_push_router(ingester))
    install_auth(app, WebAuth(db=db, security=security))
    return PushApp(app, ingester, registry, db, writer, viewer, admin)


def metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def error_of(response: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.content)
    return data
