"""The data directory lock: one process writes a TSDB directory at a time.

An exclusive ``flock`` on ``<path>/tsdb/LOCK``, released by the kernel when the process
ends (a ``kill -9`` leaves no stale lock). The file holds the owner's PID for the message a
second process prints.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from watchkeeper.core.errors import StorageError


class DataDirLock:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    @classmethod
    def acquire(cls, path: Path) -> DataDirLock:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(
                f"cannot create the lock file {path}: {exc.strerror or exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise StorageError(
                f"the TSDB in {path.parent} is in use by another Watchkeeper process "
                f"(pid {owner}); stop it first, or send the data to the running instance "
                "over its HTTP API instead"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        return cls(path, fd)

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
