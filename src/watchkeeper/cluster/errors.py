"""Errors of cluster mode, in the one tree of :mod:`watchkeeper.core.errors`::

StorageError
├── NotLeaderError        a leader-only write from an instance that does not hold the lock
└── ClusterSessionError   the dedicated PostgreSQL session failed or timed out
"""

from __future__ import annotations

from watchkeeper.core.errors import StorageError


class NotLeaderError(StorageError):
    """Leader-owned state (alerts, outbox claims, rule state) may only be written by the
    instance that holds the leader lock, with the current term. Raised instead of writing."""


class ClusterSessionError(StorageError):
    """The instance's dedicated session to PostgreSQL failed, timed out or was ended."""
