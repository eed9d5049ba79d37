"""Assembles a running simulator: history, tables, token authority, server, background threads."""

from __future__ import annotations

import json
import threading
import time

import structlog

from simulator import history, keys, users
from simulator.accounts import User, default_clients, default_users
from simulator.api import Api
from simulator.clock import Clock, SystemClock, iso
from simulator.faults import Faults
from simulator.live import LiveWriter, Pruner, PurgeTimer
from simulator.platform import Platform
from simulator.recorder import NullRecorder, TruthRecorder
from simulator.roles import RoleBook
from simulator.rows import AppRow, ServiceRow
from simulator.server import SimulatorServer
from simulator.settings import Settings
from simulator.store import Table
from simulator.uaa import TokenAuthority

log = structlog.get_logger()
# Log generation progress every so many events (large histories take a while).
PROGRESS_EVERY = 500_000
# The kid of the key that signs tokens (`--signing-key`, or one generated at start).
SIGNING_KID = "key-1"


def load_history(settings: Settings, now: float, clock: Clock) -> tuple[Platform, TruthRecorder]:
    """Generate the history straight into the two tables; return them and the truth."""
    start, end = settings.history_start(now), settings.history_end(now)
    recorder = TruthRecorder() if settings.export_truth else NullRecorder()
    world = history.world_for(settings.seed, settings.events, start, recorder)
    apps: Table[AppRow] = Table(clock.now)
    services: Table[ServiceRow] = Table(clock.now)
    rows = history.generate(world, start, end, settings.events, settings.malformed_events)
    for count, row in enumerate(rows, 1):
        if isinstance(row, AppRow):
            apps.append(row)
        else:
            services.append(row)
        if count % PROGRESS_EVERY == 0:
            log.info("history_progress", events=count, of=settings.events)
    platform = Platform(world, apps, services, clock.now, "")
    return platform, recorder


class Simulator:
    """A simulator that can run in-process (tests) or as the `python -m simulator` process."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._stop = threading.Event()
        now = self.clock.now()
        began = time.perf_counter()
        self.platform, recorder = load_history(settings, now, self.clock)
        log.info(
            "history_generated",
            events=settings.events,
            app_events=len(self.platform.apps),
            service_events=len(self.platform.services),
            history_start=iso(settings.history_start(now)),
            history_end=iso(settings.history_end(now)),
            seconds=round(time.perf_counter() - began, 2),
        )
        if settings.export_truth is not None:
            truth = recorder.export(
                settings.seed, settings.history_start(now), settings.history_end(now)
            )
            settings.export_truth.write_text(json.dumps(truth, indent=1))
            log.info("truth_exported", path=str(settings.export_truth))
        self.platform.world.recorder = NullRecorder()  # live activity is not part of the truth
        extra_users, roles = users.load(settings.users, int(now)) if settings.users else ([], [])
        self.authority = self._authority(extra_users)
        self.roles = RoleBook(roles)
        self.server = SimulatorServer(
            settings.host,
            settings.port,
            Api(
                self.platform,
                self.authority,
                Faults(settings.fault_rate, settings.seed),
                self.roles,
            ),
        )
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host  # noqa: S104
        self.local_url = f"http://{host}:{self.server.port}"  # where it listens
        self.url = (settings.api_url or self.local_url).rstrip("/")  # what it tells clients
        self.platform.api_url = self.url
        self.platform.login_url = (settings.login_url or self.url).rstrip("/")
        self.authority.issuer = self.url + "/oauth/token"
        self._threads: list[threading.Thread] = []

    def _authority(self, extra_users: list[User]) -> TokenAuthority:
        s = self.settings
        signing = (
            keys.load_pem(SIGNING_KID, s.signing_key)
            if s.signing_key
            else keys.generate(SIGNING_KID)
        )
        extra = [keys.generate(f"key-{n}") for n in range(2, s.extra_token_keys + 2)]
        return TokenAuthority(
            default_clients(s.client_id, s.client_secret),
            [*default_users(s.username, s.password), *extra_users],
            s.token_ttl.total_seconds(),
            self.clock.now,
            "http://simulator/oauth/token",
            keys.KeyRing(signing, extra),
        )

    def start(self) -> Simulator:
        """Serve in background threads; return at once."""
        s = self.settings
        self._threads.append(
            threading.Thread(target=self.server.serve_forever, name="http", daemon=True)
        )
        if s.live_rate > 0:
            self._threads.append(
                LiveWriter(
                    self.platform,
                    s.live_rate,
                    s.late_commit_fraction,
                    s.late_commit_delay.total_seconds(),
                    s.seed,
                    self._stop,
                )
            )
        if s.prune_days is not None:
            self._threads.append(
                Pruner(self.platform, s.prune_days, s.prune_interval.total_seconds(), self._stop)
            )
        if s.purge_at is not None:
            self._threads.append(PurgeTimer(self.platform, s.purge_at.total_seconds(), self._stop))
        for thread in self._threads:
            thread.start()
        log.info("simulator_listening", url=self.url)
        if s.ready_file is not None:
            tmp = s.ready_file.with_name(s.ready_file.name + ".tmp")
            tmp.write_text(self.url + "\n")
            tmp.replace(s.ready_file)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        log.info("simulator_stopped")
