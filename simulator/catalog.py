"""The simulated platform's things: orgs, spaces, apps, processes, tasks, service instances."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from simulator.rows import AppContext, ServiceContext

# Words for readable, deterministic names.
_ADJECTIVES = (
    "brave",
    "calm",
    "eager",
    "fancy",
    "gentle",
    "happy",
    "jolly",
    "kind",
    "lucky",
    "mighty",
    "nimble",
    "proud",
    "quiet",
    "rapid",
    "shiny",
    "tidy",
    "vivid",
    "witty",
)
_NOUNS = (
    "api",
    "billing",
    "cart",
    "catalog",
    "checkout",
    "dashboard",
    "gateway",
    "inventory",
    "ledger",
    "mailer",
    "metrics",
    "orders",
    "payments",
    "portal",
    "search",
    "worker",
)
# Buildpacks an app may be staged with: (guid, name).
BUILDPACKS = (
    ("4f1a6c1e-6a2b-4c0e-9a51-0c6d1f3c2a10", "python_buildpack"),
    ("9b3e2d4c-1f5a-4e6b-8c7d-2a1b3c4d5e60", "nodejs_buildpack"),
    ("c2d4e6f8-0a1b-4c3d-9e5f-6a7b8c9d0e21", "java_buildpack"),
    ("e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a52", "https://***:***@github.com/org/custom-buildpack"),
)
# App name for web processes (process guid = app guid) and the other process type.
WEB, WORKER = "web", "worker"
MANAGED, USER_PROVIDED = "managed_service_instance", "user_provided_service_instance"


# Bits a version-4 UUID fixes: clear, then set (RFC 4122 variant, version 4).
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)


def new_guid(rng: random.Random) -> str:
    """A version-4 UUID drawn from the seeded generator (same text as uuid.UUID(version=4))."""
    h = "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_name(rng: random.Random, serial: int) -> str:
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{serial}"


@dataclass(frozen=True)
class Space:
    guid: str
    name: str
    org_guid: str


@dataclass(frozen=True)
class Plan:
    guid: str
    name: str
    service_guid: str
    service_label: str
    broker_name: str
    broker_guid: str


@dataclass(eq=False)
class Process:
    guid: str
    type: str
    app: App
    instances: int
    memory: int
    running: bool = False
    ctx: AppContext | None = None  # cached; reset when names or buildpack change
    slot: int = -1  # position in a Bag

    def context(self) -> AppContext:
        if self.ctx is None:
            app = self.app
            self.ctx = AppContext(
                self.guid,
                app.name,
                app.space.guid,
                app.space.name,
                app.space.org_guid,
                app.buildpack[0],
                app.buildpack[1],
                "STAGED",
                "UNKNOWN",
                app.guid,
                app.name,
                self.type,
            )
        return self.ctx


@dataclass(eq=False)
class App:
    guid: str
    name: str
    space: Space
    buildpack: tuple[str, str]
    processes: list[Process] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    staging: bool = False  # a build is in progress
    stuck: bool = False  # a build never finished: no more staging, so FIFO pairing stays exact
    deleted: bool = False
    slot: int = -1

    def context(self, package_state: str, previous_package_state: str) -> AppContext:
        """Context of a task or build event: no process, the app as parent."""
        return AppContext(
            "",
            "",
            self.space.guid,
            self.space.name,
            self.space.org_guid,
            None,
            None,
            package_state,
            previous_package_state,
            self.guid,
            self.name,
            None,
        )


@dataclass(eq=False)
class Task:
    guid: str
    name: str
    app: App
    memory: int
    done: bool = False


@dataclass(eq=False)
class Instance:
    guid: str
    name: str
    type: str
    space: Space
    plan: Plan | None
    ctx: ServiceContext | None = None
    slot: int = -1

    def context(self) -> ServiceContext:
        if self.ctx is None:
            plan = self.plan
            self.ctx = ServiceContext(
                self.space.org_guid,
                self.space.guid,
                self.space.name,
                self.guid,
                self.name,
                self.type,
                plan.guid if plan else None,
                plan.name if plan else None,
                plan.service_guid if plan else None,
                plan.service_label if plan else None,
                plan.broker_name if plan else None,
                plan.broker_guid if plan else None,
            )
        return self.ctx


T = TypeVar("T", Process, App, Instance)


class Bag(Generic[T]):
    """A set with O(1) add, remove and uniform random choice (keeps `slot` on each item)."""

    def __init__(self) -> None:
        self._items: list[T] = []

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items))

    def add(self, item: T) -> None:
        item.slot = len(self._items)
        self._items.append(item)

    def remove(self, item: T) -> None:
        last = self._items.pop()
        if last is not item:
            self._items[item.slot] = last
            last.slot = item.slot
        item.slot = -1

    def choice(self, rng: random.Random) -> T:
        return self._items[rng.randrange(len(self._items))]


# The marketplace's service plan guids, the same for every seed (as a real platform's plans
# outlive its apps), so that a pricing file can name them: paas_billing/demo_pricing.json.
PLAN_GUIDS = {
    ("postgres", "small"): "d8870ffa-961b-5c7a-9319-7100da873497",
    ("postgres", "medium"): "e4628e1d-7e86-5ec4-800d-2ad8df886bfb",
    ("postgres", "large"): "d1764d1d-f7e3-5b03-bcf9-cb1331e7c303",
    ("mysql", "small"): "4bc47030-c169-5673-9437-e8c4354dd4f6",
    ("mysql", "large"): "4f929ce2-e9e7-5817-8c80-71e391fe729f",
    ("redis", "tiny"): "7d164e25-ebf0-5e26-a85c-707996c1126a",
    ("redis", "standard"): "02724481-0599-5cc1-9a03-cdd9ac0587ef",
}


def make_plans(rng: random.Random) -> list[Plan]:
    """A small marketplace: three services from two brokers, with two or three plans each."""
    plans: list[Plan] = []
    brokers = [("pg-broker", new_guid(rng)), ("cache-broker", new_guid(rng))]
    offerings = (
        ("postgres", 0, ("small", "medium", "large")),
        ("mysql", 0, ("small", "large")),
        ("redis", 1, ("tiny", "standard")),
    )
    for label, broker, names in offerings:
        service_guid = new_guid(rng)
        for name in names:
            new_guid(rng)  # drawn as before the fixed plan guids, so every seed's history stays
            plans.append(Plan(PLAN_GUIDS[label, name], name, service_guid, label, *brokers[broker]))
    return plans
