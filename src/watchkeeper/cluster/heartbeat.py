"""The heartbeat's own thread and event loop.

An instance that collects hundreds of targets can keep its main event loop busy for
seconds at a time on a loaded machine. The heartbeat — membership renewal and the leader
lock — must not wait for it: a leader whose lock check waits behind a busy loop would lose
its session to ``session_timeout`` and a follower would be judged gone, though both are
alive and working. So the node's beat (:meth:`ClusterNode.beat`) runs on this thread,
with its own PostgreSQL session, and tells the main loop what changed.

A main loop that has not run at all for ``session_timeout`` is not busy but stuck: the
beat then stops renewing (and a leader gives up its lock), so that the others take over.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from watchkeeper.cluster.node import ClusterNode


class HeartbeatThread:
    def __init__(self, node: ClusterNode) -> None:
        self.node = node
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._first: concurrent.futures.Future[None] = concurrent.futures.Future()

    async def start(self) -> None:
        """Start the thread; returns once its first beat is done (raising what it raised)."""
        self._thread = threading.Thread(target=self._main, name="cluster-heartbeat", daemon=True)
        self._thread.start()
        await asyncio.wrap_future(self._first)

    async def stop(self, *, within: float = 10.0) -> None:
        """End the loop; the thread closes its session, which releases the lock."""
        self._stopping = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, within)

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        node = self.node
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        interval = float(node.config.heartbeat_interval)
        try:
            try:
                await node.beat()
            except BaseException as exc:
                self._first.set_exception(exc)
                return
            self._first.set_result(None)
            last = node.clock.monotonic()
            while not self._stopping and node.running:
                left = max(0.0, interval - (node.clock.monotonic() - last))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=left)
                if self._stopping:
                    break
                last = node.clock.monotonic()
                await node.beat()
        finally:
            await node.lock_session.close()
