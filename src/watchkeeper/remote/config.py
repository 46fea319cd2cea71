"""Config models of push ingestion and remote storage; they are fields of the ``storage``
section::

    storage:
      push:                               # the receivers (remote write, text import)
        max_body_bytes: 16MiB
        max_decoded_bytes: 64MiB
      remote_write:                       # the sender: one entry per remote TSDB
        - url: http://victoria:8428/api/v1/write
          name: victoria                  # queue directory and metric label
          bearer_token_file: /run/secrets/vm-token
          queue: {max_samples_per_send: 2000, max_disk_bytes: 1GiB}
      query_url: http://victoria:8428     # rules and dashboard queries go here
      query: {timeout: 30s}
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, GetCoreSchemaHandler, field_validator, model_validator
from pydantic_core import core_schema

from watchkeeper.config.base import Secret, StrictModel
from watchkeeper.core.durations import Duration

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def parse_size(text: str) -> int:
    """Bytes in ``512``, ``64KiB``, ``16MiB``, ``1GB``; raises ``ValueError``."""
    m = _SIZE_RE.match(text.strip())
    if m is None:
        raise ValueError(
            f"invalid size {text!r}: use a number of bytes or a unit, e.g. 16MiB, 512KiB, 1GB"
        )
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


class ByteSize(int):
    """An int of bytes that config files may write as ``16MiB``."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> ByteSize:
            if isinstance(value, bool):
                raise ValueError("expected a size such as 16MiB, not a boolean")
            if isinstance(value, int):
                size = value
            elif isinstance(value, str):
                size = parse_size(value)
            else:
                raise ValueError("expected a size such as 16MiB or a number of bytes")
            if size <= 0:
                raise ValueError("a size must be greater than 0")
            return cls(size)

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(int),
            json_schema_input_schema=core_schema.union_schema(
                [core_schema.int_schema(), core_schema.str_schema()]
            ),
        )


class PushConfig(StrictModel):
    """Limits of the push receivers (``/prometheus/api/v1/write`` and
    ``/prometheus/api/v1/import/prometheus``)."""

    max_body_bytes: ByteSize = Field(
        ByteSize(16 * 1024**2), description="largest request body accepted (413 above)"
    )
    max_decoded_bytes: ByteSize = Field(
        ByteSize(64 * 1024**2),
        description="largest body after decompression (snappy or gzip; 413 above)",
    )


class BasicAuth(StrictModel):
    username: str
    password: Secret


def _check_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http:// or https:// URL, got {value!r}")
    if parts.username or parts.password:
        raise ValueError(
            f"{what} must not carry credentials; use basic_auth or bearer_token "
            "(with password_file / bearer_token_file) instead"
        )
    return value.rstrip("/") if what == "query_url" else value


class HttpClientConfig(StrictModel):
    basic_auth: BasicAuth | None = None
    bearer_token: Secret | None = Field(None, description="sent as Authorization: Bearer")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="extra request headers, e.g. X-Scope-OrgID for Mimir tenants",
    )
    timeout: Duration = Field(Duration(30), description="timeout of one request")

    @model_validator(mode="after")
    def _one_auth(self) -> HttpClientConfig:
        if self.basic_auth is not None and self.bearer_token is not None:
            raise ValueError("give basic_auth or bearer_token, not both")
        if float(self.timeout) <= 0:
            raise ValueError("timeout must be greater than 0, e.g. 30s")
        lowered = {h.lower() for h in self.headers}
        if "authorization" in lowered:
            raise ValueError(
                "put credentials in basic_auth or bearer_token (they are kept secret), "
                "not in headers"
            )
        return self

    def auth_headers(self) -> dict[str, str]:
        """The request headers, credentials included (never log them)."""
        out = dict(self.headers)
        if self.bearer_token is not None:
            out["Authorization"] = f"Bearer {self.bearer_token.reveal()}"
        elif self.basic_auth is not None:
            pair = f"{self.basic_auth.username}:{self.basic_auth.password.reveal()}"
            out["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return out


class QueueConfig(StrictModel):
    max_samples_per_send: int = Field(2000, ge=1, le=1_000_000, description="samples a request")
    batch_send_deadline: Duration = Field(
        Duration(5), description="longest a sample waits in memory before it is queued"
    )
    capacity: int = Field(
        100_000,
        ge=1,
        description="samples held in memory before they are written to the disk queue; "
        "above it new samples are dropped (counted as dropped, reason buffer_full)",
    )
    max_disk_bytes: ByteSize = Field(
        ByteSize(512 * 1024**2),
        description="bound of the persistent queue; when full the oldest requests are "
        "dropped (counted as dropped, reason queue_full)",
    )
    min_backoff: Duration = Field(Duration(0.03), description="first retry delay")
    max_backoff: Duration = Field(Duration(5), description="longest retry delay")
    retry_on_http_429: bool = Field(True, description="retry (honouring Retry-After) on 429")

    @model_validator(mode="after")
    def _backoff(self) -> QueueConfig:
        if float(self.min_backoff) <= 0 or float(self.max_backoff) < float(self.min_backoff):
            raise ValueError("need 0 < min_backoff <= max_backoff, e.g. 30ms and 5s")
        if float(self.batch_send_deadline) <= 0:
            raise ValueError("batch_send_deadline must be greater than 0, e.g. 5s")
        if self.capacity < self.max_samples_per_send:
            raise ValueError("capacity must be at least max_samples_per_send")
        return self


class RemoteWriteConfig(HttpClientConfig):
    """One remote TSDB that receives every sample the store accepts: VictoriaMetrics
    (``/api/v1/write``), Prometheus with ``--web.enable-remote-write-receiver``
    (``/api/v1/write``) or Mimir (``/api/v1/push``)."""

    url: str = Field(description="the remote-write endpoint")
    name: str | None = Field(
        None,
        description="short name for metrics and the queue directory; default: derived from the URL",
    )
    queue: QueueConfig = Field(default_factory=lambda: QueueConfig())

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, "url")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME_RE.match(value):
            raise ValueError(
                f"name {value!r} must be letters, digits, '.', '_' and '-' (it names a directory)"
            )
        return value

    @property
    def queue_name(self) -> str:
        """The name, or ``<host>-<hash of the URL>``: stable across restarts."""
        if self.name:
            return self.name
        host = urlsplit(self.url).hostname or "remote"
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        return f"{re.sub(r'[^a-zA-Z0-9_.-]', '_', host)}-{digest}"


class RemoteQueryConfig(HttpClientConfig):
    """How to reach ``storage.query_url`` (the remote TSDB's Prometheus query API)."""


def check_remote_write(value: list[RemoteWriteConfig]) -> list[RemoteWriteConfig]:
    names = [rw.queue_name for rw in value]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(
            f"remote_write names must be unique, {twice[0]!r} is used twice; give each "
            "entry its own name"
        )
    return value


def check_query_url(value: str | None) -> str | None:
    return None if value is None else _check_url(value, "query_url")
