"""The in-memory book of heartbeat pings, shared by the ping endpoint and the collectors.

Tokens are kept only as SHA-256 digests: a ping hashes the token it was given, looks the
digest up and confirms it with :func:`hmac.compare_digest`, so the time a guess takes does
not depend on how many of its characters are right.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, replace
from enum import StrEnum


class PingKind(StrEnum):
    SUCCESS = "success"
    FAIL = "fail"
    START = "start"


@dataclass(frozen=True, slots=True)
class HeartbeatState:
    key: str  # target key (service/check)
    digest: bytes = b""
    last_ping: float | None = None  # epoch seconds of the last success ping
    last_fail: float | None = None
    last_start: float | None = None
    pings: int = 0
    failures: int = 0
    registered_at: float = 0.0
    refs: int = 1  # collectors using this token (a reload builds the new one first)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class HeartbeatBook:
    """Registered heartbeat tokens and their last pings. Safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_digest: dict[bytes, HeartbeatState] = {}

    def register(self, token: str, key: str, now: float) -> None:
        """Make ``token`` known for target ``key``; keeps existing pings on re-register."""
        digest = token_digest(token)
        with self._lock:
            old = self._by_digest.get(digest)
            if old is not None:
                self._by_digest[digest] = replace(old, key=key, refs=old.refs + 1)
                return
            self._by_digest[digest] = HeartbeatState(key=key, digest=digest, registered_at=now)

    def unregister(self, token: str) -> None:
        """Drop one use of ``token``; forgotten when no collector uses it any more."""
        digest = token_digest(token)
        with self._lock:
            old = self._by_digest.get(digest)
            if old is None:
                return
            if old.refs <= 1:
                del self._by_digest[digest]
            else:
                self._by_digest[digest] = replace(old, refs=old.refs - 1)

    def ping(self, token: str, now: float, kind: PingKind = PingKind.SUCCESS) -> str | None:
        """Record a ping; the target key, or ``None`` for an unknown token."""
        digest = token_digest(token)
        with self._lock:
            state = self._by_digest.get(digest)
            if state is None:
                return None
            if not hmac.compare_digest(state.digest, digest):
                return None
            if kind is PingKind.SUCCESS:
                state = replace(state, last_ping=now, pings=state.pings + 1)
            elif kind is PingKind.FAIL:
                state = replace(state, last_fail=now, failures=state.failures + 1)
            else:
                state = replace(state, last_start=now)
            self._by_digest[digest] = state
            return state.key

    def state(self, token: str) -> HeartbeatState | None:
        with self._lock:
            return self._by_digest.get(token_digest(token))
