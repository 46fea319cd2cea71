"""The ``cluster`` section. Cluster mode is on whenever ``state.backend`` is ``postgres``
(one instance on PostgreSQL is a cluster of one); every field has a working default::

    state:
      backend: postgres
      dsn_file: /run/secrets/watchkeeper-dsn
    cluster:
      advertise_url: http://10.0.0.5:9100   # how the other instances reach this one
      heartbeat_interval: 1s
      member_timeout: 6s
      session_timeout: 10s
      replicate_samples: true
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from watchkeeper.config.base import StrictModel
from watchkeeper.core.durations import Duration, parse_duration

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


def default_instance_id() -> str:
    """``<hostname>-<pid>-<6 hex>``: unique per process, readable in the member list."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:60] or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ClusterConfig(StrictModel):
    instance_id: str | None = Field(
        None,
        description="this instance's name in the member list; default <hostname>-<pid>-<random> "
        "(a new name per process)",
    )
    advertise_url: str | None = Field(
        None,
        description="the URL the other instances use to reach this one (requests forwarded to "
        "the leader, samples sent to peers); default: the address it listens on",
    )
    heartbeat_interval: Duration = Field(
        Duration(1), description="how often each instance renews its membership and lock check"
    )
    member_timeout: Duration = Field(
        Duration(6),
        description="an instance silent for this long is gone: its targets move to the others "
        "(default 6 heartbeats)",
    )
    session_timeout: Duration = Field(
        Duration(10),
        description="PostgreSQL ends a dedicated session silent for this long (a hung or cut-off "
        "leader), which releases the leader lock (default 10 heartbeats)",
    )
    replicate_samples: bool = Field(
        True,
        description="send every sample an instance stores to every other instance, so that each "
        "embedded store holds all series (the leader evaluates rules on them, any instance "
        "answers queries); turn off when every instance writes to one shared TSDB "
        "(storage.remote_write) and queries it (storage.query_url)",
    )

    @model_validator(mode="before")
    @classmethod
    def _scaled_defaults(cls, data: Any) -> Any:
        """Timeouts not given follow a given heartbeat: 6 and 10 heartbeats."""
        if not isinstance(data, dict) or data.get("heartbeat_interval") is None:
            return data
        raw = data["heartbeat_interval"]
        try:
            beat = parse_duration(raw) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError):
            return data  # the field's own validation reports it
        out = dict(data)
        out.setdefault("member_timeout", Duration(6 * beat))
        out.setdefault("session_timeout", Duration(10 * beat))
        return out

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, value: str | None) -> str | None:
        if value is not None and not _ID_RE.match(value):
            raise ValueError(
                f"instance_id {value!r} must be 1-100 letters, digits, '.', '_', ':' or '-' "
                "(starting with a letter or digit); each instance needs its own"
            )
        return value

    @field_validator("advertise_url")
    @classmethod
    def _advertise(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"advertise_url must be an http:// or https:// URL the other instances can "
                f"reach, e.g. http://10.0.0.5:9100, got {value!r}"
            )
        if parts.username or parts.password:
            raise ValueError("advertise_url must not carry credentials")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(
                f"advertise_url must be scheme://host:port without a path, got {value!r}"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _timings(self) -> ClusterConfig:
        beat = float(self.heartbeat_interval)
        if not 0.1 <= beat <= 30:
            raise ValueError("heartbeat_interval must be between 100ms and 30s, e.g. 1s")
        if float(self.member_timeout) < 4 * beat:
            raise ValueError(
                f"member_timeout ({float(self.member_timeout):g}s) must be at least 4 x "
                f"heartbeat_interval ({4 * beat:g}s), or a slow heartbeat would look like a "
                "dead instance"
            )
        if float(self.session_timeout) < 3 * beat:
            raise ValueError(
                f"session_timeout ({float(self.session_timeout):g}s) must be at least 3 x "
                f"heartbeat_interval ({3 * beat:g}s): the leader's session is idle between checks"
            )
        return self

    @property
    def check_timeout(self) -> float:
        """How long one query of the dedicated session may take: long enough for a busy
        machine, short enough that a leader that cannot confirm its lock gives up
        (``heartbeat_interval`` before the others judge it gone and take its work)."""
        return max(0.5, float(self.member_timeout) - 2 * float(self.heartbeat_interval))

    def settings(self) -> dict[str, Any]:
        """The effective timings, for the cluster API."""
        return {
            "heartbeat_interval_seconds": float(self.heartbeat_interval),
            "member_timeout_seconds": float(self.member_timeout),
            "session_timeout_seconds": float(self.session_timeout),
            "replicate_samples": self.replicate_samples,
        }
