"""A seeded history of v2 usage events of every kind, as the original collector gathered them.

Processes start, scale, stop, set buildpacks and reach states nobody knows; some were running
before the history begins (a first STARTED or STOPPED whose previous state is STARTED); tasks
run (some stopped without a start the history holds); apps stage (some never stop staging);
managed service instances are created, change plan and are deleted (some first seen UPDATED),
user-provided ones come and go, and a state nobody knows turns up. Times rise from `start`,
sometimes several events in one second.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.support.event_rows import MANAGED, USER_PROVIDED, History

ORGS = ("org-a", "org-b", "org-c")
MEMORIES = (64, 256, 512, 1024, 2048)
PLANS = (("plan-small", "small"), ("plan-large", "large"))
# The apps that run tasks (task n belongs to app n % TASK_APPS, in any history).
TASK_APPS = 4


def _guid(prefix: str, n: int) -> str:
    return f"{prefix}-{n:06d}".ljust(36, "0")


def generate(
    start: datetime,
    end: datetime,
    events: int,
    seed: int,
    foundation: str = "default",
    history: History | None = None,
) -> History:
    """`events` events between start and end, appended to `history` (a new one by default)."""
    rng = random.Random(seed)
    history = history or History()
    step = (end - start) / max(events, 1)
    world = _World(rng, history, foundation, max(events // 40, 4))
    now = start
    for _ in range(events):
        if rng.random() > 0.1:  # else the same second as the previous event
            now += timedelta(seconds=rng.randint(1, max(int(step.total_seconds() * 2), 1)))
        world.act(min(now, end))
    return history


class _World:
    def __init__(self, rng: random.Random, history: History, foundation: str, size: int) -> None:
        self.rng, self.history, self.foundation = rng, history, foundation
        self.size = size
        self.running: dict[int, tuple[int, int]] = {}  # process -> (instances, memory)
        self.seen: set[int] = set()
        self.tasks: dict[int, int] = {}  # running task -> memory
        self.task_count = 0
        self.staging: set[int] = set()
        self.instances: dict[int, int] = {}  # instance -> plan index
        self.instance_seen: set[int] = set()

    def where(self, owner: int) -> dict[str, str]:
        org = ORGS[owner % len(ORGS)]
        return {"org_guid": org, "space_guid": f"{org}-space", "space_name": "dev"}

    def act(self, now: datetime) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            self.process(now, self.rng.randrange(self.size))
        elif roll < 0.6:
            self.task(now)
        elif roll < 0.75:
            self.stage(now, self.rng.randrange(self.size))
        else:
            self.service(now, self.rng.randrange(self.size))

    def process(self, now: datetime, n: int) -> None:
        rng = self.rng
        guid, app = _guid("proc", n), _guid("app", n)
        names = {
            "process_guid": guid,
            "process_type": "web" if n % 3 else "worker",
            "app_name": f"app-{n}",
            "parent_app_guid": app,
            "parent_app_name": f"app-{n}",
            **self.where(n),
        }
        counts = rng.randint(0, 4), rng.choice(MEMORIES)
        if n not in self.seen:
            self.seen.add(n)
            if rng.random() < 0.4:  # running before the history began
                was = (rng.randint(1, 3), rng.choice(MEMORIES))
                state = rng.choice(("STARTED", "STOPPED"))
                self._app(now, state, "STARTED", counts, was, names)
                if state == "STARTED":
                    self.running[n] = counts
                return
        current = self.running.get(n)
        roll = rng.random()
        if roll < 0.08:
            self._app(now, rng.choice(("BUILDPACK_SET", "FUTURE_STATE")), None, counts, None, names)
        elif current is None:
            self._app(now, "STARTED", "STOPPED", counts, None, names)
            self.running[n] = counts
        elif roll < 0.5:  # scale
            self._app(now, "STARTED", "STARTED", counts, current, names)
            self.running[n] = counts
        else:
            self._app(now, "STOPPED", "STARTED", current, current, names)
            del self.running[n]

    def _app(
        self,
        now: datetime,
        state: str,
        previous: str | None,
        counts: tuple[int, int],
        was: tuple[int, int] | None,
        names: dict[str, str],
    ) -> None:
        self.history.app(
            now,
            state,
            self.foundation,
            previous_state=previous,
            instance_count=counts[0],
            memory_in_mb_per_instance=counts[1],
            previous_instance_count=was[0] if was else None,
            previous_memory_in_mb_per_instance=was[1] if was else None,
            **names,
        )

    def task(self, now: datetime) -> None:
        rng = self.rng
        if self.tasks and rng.random() < 0.55:
            n = rng.choice(sorted(self.tasks))
            memory = self.tasks.pop(n)
            state = "TASK_STOPPED"
        else:
            self.task_count += 1
            n, memory = self.task_count, rng.choice(MEMORIES)
            # Some tasks were started before the history began: their stop comes first.
            state = "TASK_STOPPED" if rng.random() < 0.1 else "TASK_STARTED"
            if state == "TASK_STARTED":
                self.tasks[n] = memory
        self.history.app(
            now,
            state,
            self.foundation,
            previous_state="RUNNING" if state == "TASK_STOPPED" else None,
            instance_count=1,
            memory_in_mb_per_instance=memory,
            task_guid=_guid("task", n),
            task_name=f"task-{n}",
            parent_app_guid=_guid("app", n % TASK_APPS),
            parent_app_name=f"app-{n % TASK_APPS}",
            app_name="",
            **self.where(n % TASK_APPS),
        )

    def stage(self, now: datetime, n: int) -> None:
        state = "STAGING_STOPPED" if n in self.staging else "STAGING_STARTED"
        if state == "STAGING_STOPPED":
            self.staging.discard(n)
        elif self.rng.random() < 0.9:  # else a staging that never stops
            self.staging.add(n)
        self.history.app(
            now,
            state,
            self.foundation,
            instance_count=1,
            memory_in_mb_per_instance=1024,
            parent_app_guid=_guid("app", n),
            parent_app_name=f"app-{n}",
            app_name="",
            **self.where(n),
        )

    def service(self, now: datetime, n: int) -> None:
        rng = self.rng
        user_provided = n % 5 == 4
        plan = self.instances.get(n)
        if rng.random() < 0.05:
            state = "ODD"
        elif plan is None:
            first_seen = n not in self.instance_seen
            state = "UPDATED" if first_seen and rng.random() < 0.3 else "CREATED"
            plan = rng.randrange(len(PLANS))
            self.instances[n] = plan
        elif rng.random() < 0.5 and not user_provided:
            state, plan = "UPDATED", 1 - plan
            self.instances[n] = plan
        else:
            state = "DELETED"
            del self.instances[n]
        self.instance_seen.add(n)
        plan_guid, plan_name = PLANS[plan or 0]
        self.history.service(
            now,
            state,
            _guid("inst", n),
            self.foundation,
            service_instance_type=USER_PROVIDED if user_provided else MANAGED,
            service_instance_name=f"db-{n}",
            service_plan_guid=None if user_provided else plan_guid,
            service_plan_name=None if user_provided else plan_name,
            service_label=None if user_provided else "postgres",
            **self.where(n),
        )
