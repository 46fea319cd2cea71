"""The process the crash test kills: alert management and the real outbox worker on a
SQLite state file, notifying a webhook on loopback, fed like a rule evaluator feeds it.

    python crash_child.py STATE_FILE WEBHOOK_URL

It prints ``ready`` once started, then reads commands from stdin, one per line:
``fire NAME TS`` (the alert starts firing at TS), ``resolve NAME TS`` (it resolved at TS)
and ``end``. Every 0.1 s it re-sends every alert it knows, firing ones with a short end
time, resolved ones with their end time; after ``end`` it waits for the outbox to drain
and exits.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time

from watchkeeper.alerting.manager import AlertManager
from watchkeeper.alerting.model import AlertInput
from watchkeeper.config.loader import load_config_text
from watchkeeper.core.clock import SystemClock
from watchkeeper.core.enums import DeliveryStatus
from watchkeeper.core.labels import Labels
from watchkeeper.notify.service import NotifyService
from watchkeeper.notify.settings import NotifySettings
from watchkeeper.state.db import Database, sqlite_url

CONFIG = """
alerting:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1s
    repeat_interval: 1h
  receivers:
    - name: hook
      webhook_configs:
        - url: {url}
"""


def read_commands(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.strip())
    loop.call_soon_threadsafe(queue.put_nowait, "end")


async def main(state: str, url: str) -> None:
    db = Database(sqlite_url(state))
    db.upgrade()
    clock = SystemClock()
    cfg = load_config_text(CONFIG.format(url=url)).config
    settings = NotifySettings.model_validate(
        {"lease": "2s", "send_timeout": "1s", "poll_interval": "50ms", "backoff_initial": "50ms"}
    )
    notify = NotifyService.build(db, cfg.alerting.receivers, clock=clock, settings=settings)
    manager = AlertManager.from_config(cfg, db=db, outbox=notify.outbox, clock=clock)
    await notify.start()
    await manager.start()
    queue: asyncio.Queue[str] = asyncio.Queue()
    reader = threading.Thread(
        target=read_commands, args=(asyncio.get_running_loop(), queue), daemon=True
    )
    reader.start()
    print("ready", flush=True)
    known: dict[str, tuple[float, float | None]] = {}  # name -> (starts_at, ends_at)
    ended = False
    while not ended:
        while not queue.empty():
            command = queue.get_nowait().split()
            if not command or command[0] == "end":
                ended = True
            elif command[0] == "fire":
                known[command[1]] = (float(command[2]), None)
            elif command[0] == "resolve":
                known[command[1]] = (known[command[1]][0], float(command[2]))
        now = time.time()
        await manager.put(
            [
                AlertInput(
                    labels=Labels({"alertname": name}),
                    annotations={},
                    starts_at=starts,
                    ends_at=ends if ends is not None else now + 3.0,
                    source="rule",
                )
                for name, (starts, ends) in known.items()
            ]
        )
        await asyncio.sleep(0.1)
    open_states = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    for _ in range(100):  # let the last resolutions flush and the outbox drain (bounded)
        await asyncio.sleep(0.1)
        depth = notify.outbox.depth()
        if not manager.dispatcher.groups and not any(depth.get(s, 0) for s in open_states):
            break
    await manager.stop()
    await notify.stop()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
