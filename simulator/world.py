"""The simulated platform and what happens to it; every change yields the event CF would write.

Each action is a generator: a state change is applied (and recorded in the truth) right
before its event is yielded, so a caller may stop consuming at any event and the state, the
events and the truth still agree.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator

from simulator import catalog
from simulator.catalog import App, Bag, Process, Space, Task
from simulator.marketplace import Marketplace
from simulator.recorder import TruthRecorder
from simulator.rows import (
    AppRow,
    AppState,
    FollowUp,
    Malformed,
    Row,
    ServiceRow,
    ServiceState,
)

# Memory sizes (MB) processes and tasks are given.
MEMORY_CHOICES = (128, 256, 512, 1024, 2048)
# Chance that a build never finishes (its app is then never staged again).
STUCK_STAGING = 0.05


class World:
    """Orgs, spaces, apps and service instances, moved by seeded random actions."""

    def __init__(self, rng: random.Random, recorder: TruthRecorder, apps: int) -> None:
        self.rng = rng
        self._recorder = recorder
        self.started: Bag[App] = Bag()
        self.stopped: Bag[App] = Bag()
        self.hidden: set[Process] = set()  # running before the history, in no event yet
        self._heap: list[tuple[int, int, FollowUp]] = []
        self._serial = 0
        orgs = [catalog.new_guid(rng) for _ in range(max(2, apps // 25))]
        self.spaces = [
            Space(
                catalog.new_guid(rng),
                rng.choice(("dev", "staging", "prod")) + f"-{i}",
                rng.choice(orgs),
            )
            for i in range(max(3, apps // 5))
        ]
        self.services = Marketplace(rng, recorder, self.spaces, self.schedule)
        self._actions: list[tuple[int, Callable[[int], Iterator[Row]]]] = [
            (10, self.start_app),
            (8, self.stop_app),
            (15, self.scale_instances),
            (6, self.scale_memory),
            (5, self.restart_app),
            (6, self.restage),
            (6, self.create_app),
            (4, self.delete_app),
            (12, self.run_task),
            (4, self.services.create_instance),
            (3, self.services.update_plan),
            (2, self.services.rename_instance),
            (3, self.services.delete_instance),
        ]
        self._cum_weights = list(itertools.accumulate(w for w, _ in self._actions))

    @property
    def recorder(self) -> TruthRecorder:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: TruthRecorder) -> None:
        """Swap the truth recorder (the live phase records nothing)."""
        self._recorder = recorder
        self.services.recorder = recorder

    # ----------------------------------------------------------------- setup and snapshot
    def populate(self, apps: int, instances: int, start: int) -> None:
        """The platform as it stands when the history begins (no events yet)."""
        rng = self.rng
        for n in range(apps):
            app = self._new_app()
            if rng.random() < 0.8 or n == apps - 1:
                self.started.add(app)
                for process in app.processes:
                    process.running = True
                    # About 5% ran before the history unseen (at least one, for the tests).
                    hidden = rng.random() < 0.05 or (n == apps - 1 and not self.hidden)
                    if hidden:
                        self.hidden.add(process)
                        self.schedule(start + rng.randint(1, 3600), self._reveal(process))
                    self.recorder.process_runs(process, start, hidden=hidden)
            else:
                self.stopped.add(app)
        self.services.populate(instances, start)

    def snapshot(self, ts: int) -> Iterator[Row]:
        """A purge-and-reseed: STARTED rows per running process, CREATED rows per instance."""
        yield from self.reseed_apps(ts)
        yield from self.reseed_services(ts)

    def reseed_apps(self, ts: int) -> Iterator[AppRow]:
        for app in sorted(self.started, key=lambda a: a.slot):
            for p in app.processes:
                if p.running and p not in self.hidden:
                    ctx = p.context()._replace(process_type=None)
                    yield AppRow(
                        p.guid,
                        ts,
                        AppState.STARTED,
                        AppState.STARTED,
                        p.memory,
                        p.memory,
                        p.instances,
                        p.instances,
                        ctx,
                    )

    def reseed_services(self, ts: int) -> Iterator[ServiceRow]:
        return self.services.reseed(ts)

    # ----------------------------------------------------------------- scheduling
    def schedule(self, ts: int, follow_up: Iterator[Row] | FollowUp) -> None:
        self._serial += 1
        item = follow_up if callable(follow_up) else _constant(follow_up)
        heapq.heappush(self._heap, (ts, self._serial, item))

    def next_due(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pending(self) -> int:
        return len(self._heap)

    def run_due(self, upto: int, at: int | None = None) -> Iterator[Row]:
        """Run follow-ups due by `upto`, each at its own time (or at `at` if given)."""
        while self._heap and self._heap[0][0] <= upto:
            ts, _, item = heapq.heappop(self._heap)
            yield from item(ts if at is None else at)

    def act(self, ts: int) -> Iterator[Row]:
        """One random action at `ts`."""
        _, action = self.rng.choices(self._actions, cum_weights=self._cum_weights)[0]
        yield from action(ts)

    # ----------------------------------------------------------------- apps and processes
    def _new_app(self) -> App:
        rng = self.rng
        self._serial += 1
        guid = catalog.new_guid(rng)
        app = App(
            guid,
            catalog.new_name(rng, self._serial),
            rng.choice(self.spaces),
            rng.choice(catalog.BUILDPACKS),
        )
        app.processes.append(
            Process(guid, catalog.WEB, app, rng.randint(1, 4), rng.choice(MEMORY_CHOICES))
        )
        if rng.random() < 0.4:
            app.processes.append(
                Process(
                    catalog.new_guid(rng),
                    catalog.WORKER,
                    app,
                    rng.randint(1, 3),
                    rng.choice(MEMORY_CHOICES),
                )
            )
        return app

    def _process_row(
        self,
        p: Process,
        ts: int,
        state: str,
        previous_state: str,
        previous_instances: int,
        previous_memory: int,
    ) -> AppRow:
        if state in (AppState.STARTED, AppState.STOPPED):
            self.hidden.discard(p)
            self.recorder.revealed(p)
        return AppRow(
            catalog.new_guid(self.rng),
            ts,
            state,
            previous_state,
            p.memory,
            previous_memory,
            p.instances,
            previous_instances,
            p.context(),
        )

    def _start(self, app: App, ts: int) -> Iterator[Row]:
        for p in app.processes:
            p.running = True
            self.recorder.process_runs(p, ts)
            yield self._process_row(
                p, ts, AppState.STARTED, AppState.STOPPED, p.instances, p.memory
            )

    def _stop(self, app: App, ts: int) -> Iterator[Row]:
        for p in app.processes:
            if p.running:
                p.running = False
                self.recorder.process_halts(p, ts)
                yield self._process_row(
                    p, ts, AppState.STOPPED, AppState.STARTED, p.instances, p.memory
                )

    def create_app(self, ts: int) -> Iterator[Row]:
        app = self._new_app()
        self.started.add(app)
        yield from self._start(app, ts)

    def start_app(self, ts: int) -> Iterator[Row]:
        if not self.stopped:
            yield from self.create_app(ts)
            return
        app = self.stopped.choice(self.rng)
        self.stopped.remove(app)
        self.started.add(app)
        yield from self._start(app, ts)

    def stop_app(self, ts: int) -> Iterator[Row]:
        if not self.started:
            yield from self.create_app(ts)
            return
        app = self.started.choice(self.rng)
        self.started.remove(app)
        self.stopped.add(app)
        yield from self._stop(app, ts)

    def restart_app(self, ts: int) -> Iterator[Row]:
        if not self.started:
            yield from self.create_app(ts)
            return
        app = self.started.choice(self.rng)
        yield from self._stop(app, ts)
        yield from self._start(app, ts)

    def _scale(self, p: Process, ts: int, instances: int, memory: int) -> Iterator[Row]:
        previous_instances, previous_memory = p.instances, p.memory
        p.instances, p.memory = instances, memory
        self.recorder.process_runs(p, ts)
        yield self._process_row(
            p, ts, AppState.STARTED, AppState.STARTED, previous_instances, previous_memory
        )

    def _running_process(self) -> Process | None:
        if not self.started:
            return None
        return self.rng.choice(self.started.choice(self.rng).processes)

    def scale_instances(self, ts: int) -> Iterator[Row]:
        p = self._running_process()
        if p is None:
            yield from self.create_app(ts)
            return
        instances = self.rng.choice([n for n in range(1, 11) if n != p.instances])
        yield from self._scale(p, ts, instances, p.memory)

    def scale_memory(self, ts: int) -> Iterator[Row]:
        p = self._running_process()
        if p is None:
            yield from self.create_app(ts)
            return
        memory = self.rng.choice([m for m in MEMORY_CHOICES if m != p.memory])
        yield from self._scale(p, ts, p.instances, memory)

    def _reveal(self, p: Process) -> FollowUp:
        def reveal(ts: int) -> Iterator[Row]:
            if p in self.hidden and p.running:
                if self.rng.random() < 0.7:
                    yield from self._scale(p, ts, p.instances + 1, p.memory)
                else:
                    app = p.app
                    self.started.remove(app)
                    self.stopped.add(app)
                    yield from self._stop(app, ts)

        return reveal

    def delete_app(self, ts: int) -> Iterator[Row]:
        bag = self.started if self.started and self.rng.random() < 0.6 else self.stopped
        if not bag:
            yield from self.create_app(ts)
            return
        app = bag.choice(self.rng)
        bag.remove(app)
        app.deleted = True
        yield from self._stop(app, ts)
        for task in app.tasks:
            if not task.done:
                yield from self._end_task(task, ts, "RUNNING")

    # ----------------------------------------------------------------- builds and tasks
    def _any_app(self) -> App | None:
        bag = self.started if self.started and self.rng.random() < 0.8 else self.stopped
        return bag.choice(self.rng) if bag else None

    def restage(self, ts: int) -> Iterator[Row]:
        app = self._any_app()
        if app is None or app.staging or app.stuck:
            yield from self.run_task(ts)
            return
        app.staging = True
        self.recorder.staging_starts(app, ts)
        yield AppRow(
            catalog.new_guid(self.rng),
            ts,
            AppState.STAGING_STARTED,
            "STAGING",
            1024,
            1024,
            1,
            1,
            app.context("READY", "READY"),
        )
        if self.rng.random() < STUCK_STAGING:
            app.stuck = True
            return
        self.schedule(ts + self.rng.randint(20, 300), self._finish_staging(app))

    def _finish_staging(self, app: App) -> FollowUp:
        def finish(ts: int) -> Iterator[Row]:
            app.staging = False
            self.recorder.staging_stops(app, ts)
            yield AppRow(
                catalog.new_guid(self.rng),
                ts,
                AppState.STAGING_STOPPED,
                "STAGED",
                1024,
                1024,
                1,
                1,
                app.context("READY", "READY"),
            )
            if app.deleted:
                return
            app.buildpack = self.rng.choice(catalog.BUILDPACKS)
            for p in app.processes:
                p.ctx = None
                yield self._process_row(
                    p,
                    ts,
                    AppState.BUILDPACK_SET,
                    AppState.STARTED if p.running else AppState.STOPPED,
                    p.instances,
                    p.memory,
                )

        return finish

    def run_task(self, ts: int) -> Iterator[Row]:
        app = self._any_app()
        if app is None:
            yield from self.create_app(ts)
            return
        rng = self.rng
        task = Task(
            catalog.new_guid(rng),
            rng.choice(("migrate", "report", "cleanup", "backup")),
            app,
            rng.choice(MEMORY_CHOICES),
        )
        app.tasks = [t for t in app.tasks if not t.done]
        app.tasks.append(task)
        self.recorder.task_starts(task, ts)
        yield self._task_row(task, ts, AppState.TASK_STARTED, "PENDING")
        self.schedule(ts + rng.randint(10, 7200), self._task_done(task))

    def _task_done(self, task: Task) -> FollowUp:
        def done(ts: int) -> Iterator[Row]:
            if not task.done:
                yield from self._end_task(task, ts, "RUNNING")

        return done

    def _end_task(self, task: Task, ts: int, previous_state: str) -> Iterator[Row]:
        task.done = True
        self.recorder.task_stops(task, ts)
        yield self._task_row(task, ts, AppState.TASK_STOPPED, previous_state)

    def _task_row(self, task: Task, ts: int, state: str, previous_state: str) -> AppRow:
        return AppRow(
            catalog.new_guid(self.rng),
            ts,
            state,
            previous_state,
            task.memory,
            task.memory,
            1,
            1,
            task.app.context("STAGED", "STAGED"),
            task.guid,
            task.name,
        )

    # ----------------------------------------------------------------- broken events
    def malformed(self, ts: int, kind: Malformed) -> Row:
        """An extra event with a broken entity; it changes nothing in the world."""
        guid = catalog.new_guid(self.rng)
        self.recorder.malformed(guid)
        p = self._running_process()
        instances = self.services.instances
        if (kind == Malformed.BAD_INSTANCE_COUNT and p is not None) or not instances:
            app = self.rng.choice(self.spaces)
            ctx = (
                p.context()
                if p
                else App(guid, "ghost", app, catalog.BUILDPACKS[0]).context("STAGED", "UNKNOWN")
            )
            return AppRow(
                guid,
                ts,
                AppState.STARTED,
                AppState.STARTED,
                256,
                256,
                1,
                1,
                ctx,
                malformed=Malformed.BAD_INSTANCE_COUNT,
            )
        return ServiceRow(
            guid,
            ts,
            ServiceState.UPDATED,
            instances.choice(self.rng).context(),
            malformed=Malformed.MISSING_STATE,
        )


def _constant(rows: Iterator[Row]) -> FollowUp:
    def follow_up(_ts: int) -> Iterator[Row]:
        return rows

    return follow_up
