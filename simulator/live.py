"""Background activity after the history: live events with late commits, pruning, a purge."""

from __future__ import annotations

import random
import threading

import structlog

from simulator.platform import Platform
from simulator.rows import AppRow, ServiceRow

log = structlog.get_logger()
# How often the live writer wakes up (seconds).
TICK = 0.05


class LiveWriter(threading.Thread):
    """Keeps the world moving in real time at `rate` events per second.

    A fraction of events commits late: the id is taken at once, the row becomes visible
    `delay` seconds later, so a lower id can appear after higher ones (CF API spec §6).
    """

    def __init__(
        self,
        platform: Platform,
        rate: float,
        late_fraction: float,
        delay: float,
        seed: int,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="live-writer", daemon=True)
        self._platform = platform
        self._rate = rate
        self._late_fraction = late_fraction
        self._delay = delay
        self._rng = random.Random(seed ^ 0x11FE)
        self._stopping = stop

    def run(self) -> None:
        platform = self._platform
        started = platform.clock()
        written = 0
        while not self._stopping.wait(TICK):
            now = platform.clock()
            due = int((now - started) * self._rate) - written
            if due <= 0:
                continue
            ts = int(now)
            with platform.lock:
                world = platform.world
                rows = world.run_due(ts, at=ts)
                while due > 0:
                    row = next(rows, None)
                    if row is None:
                        rows = world.act(ts)
                        continue
                    self._write(row, now)
                    due -= 1
                    written += 1
                for row in rows:  # finish the action in hand so the world stays consistent
                    self._write(row, now)
                    written += 1

    def _write(self, row: AppRow | ServiceRow, now: float) -> None:
        late = self._rng.random() < self._late_fraction
        visible_at = now + self._delay if late else None
        if isinstance(row, AppRow):
            row_id = self._platform.apps.append(row, visible_at)
        else:
            row_id = self._platform.services.append(row, visible_at)
        if late:
            log.debug("late_commit", guid=row.guid, id=row_id, delay_s=self._delay)


class Pruner(threading.Thread):
    """Deletes events older than `days` every `interval` seconds (CF API spec §7)."""

    def __init__(
        self, platform: Platform, days: float, interval: float, stop: threading.Event
    ) -> None:
        super().__init__(name="pruner", daemon=True)
        self._platform, self._days, self._interval, self._stopping = platform, days, interval, stop

    def run(self) -> None:
        self._platform.prune(self._days)
        while not self._stopping.wait(self._interval):
            self._platform.prune(self._days)


class PurgeTimer(threading.Thread):
    """Purges and reseeds both tables once, `after` seconds from the start."""

    def __init__(self, platform: Platform, after: float, stop: threading.Event) -> None:
        super().__init__(name="purge-timer", daemon=True)
        self._platform, self._after, self._stopping = platform, after, stop

    def run(self) -> None:
        if not self._stopping.wait(self._after):
            self._platform.purge_apps()
            self._platform.purge_services()
