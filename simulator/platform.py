"""The served state: the two event tables and the world behind them, with one lock for change."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from simulator.rows import AppRow, ServiceRow
from simulator.store import Table
from simulator.world import World

log = structlog.get_logger()


@dataclass
class Platform:
    """What the HTTP handlers, the live writer, the pruner and the purge timer share."""

    world: World
    apps: Table[AppRow]
    services: Table[ServiceRow]
    clock: Callable[[], float]
    api_url: str
    login_url: str = ""  # where browsers sign in (links.login); api_url when empty
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards the world

    def purge_apps(self) -> None:
        """Purge and reseed app usage events (CF API spec §5.1)."""
        with self.lock:
            ts = int(self.clock())
            self.apps.purge(list(self.world.reseed_apps(ts)))
        log.info("app_usage_events_purged", reseeded=len(self.apps))

    def purge_services(self) -> None:
        """Purge and reseed service usage events (CF API spec §5.2)."""
        with self.lock:
            ts = int(self.clock())
            self.services.purge(list(self.world.reseed_services(ts)))
        log.info("service_usage_events_purged", reseeded=len(self.services))

    def prune(self, days: float) -> None:
        """Delete events older than `days`, keeping each table's newest row (spec §7)."""
        cutoff = int(self.clock() - days * 86400)
        pruned_apps = self.apps.prune(cutoff)
        pruned_services = self.services.prune(cutoff)
        log.info("usage_events_pruned", app_events=pruned_apps, service_events=pruned_services)
