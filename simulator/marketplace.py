"""Service instances: created, moved to another plan, renamed, deleted (CF API spec §2.4)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from simulator import catalog
from simulator.catalog import Bag, Instance, Plan, Space
from simulator.recorder import TruthRecorder
from simulator.rows import FollowUp, Row, ServiceRow, ServiceState


class Marketplace:
    """The world's service instances and the actions on them."""

    def __init__(
        self,
        rng: random.Random,
        recorder: TruthRecorder,
        spaces: list[Space],
        schedule: Callable[[int, FollowUp], None],
    ) -> None:
        self.rng = rng
        self.recorder = recorder
        self.plans: list[Plan] = catalog.make_plans(rng)
        self.spaces = spaces
        self.instances: Bag[Instance] = Bag()
        self.hidden: set[Instance] = set()  # existed before the history, in no event yet
        self._schedule = schedule
        self._serial = 0

    def populate(self, count: int, start: int) -> None:
        """Instances that exist when the history begins; about 5% (at least one) unseen."""
        rng = self.rng
        for n in range(count):
            instance = self.new_instance()
            hidden = rng.random() < 0.05 or n == 0
            if hidden:
                self.hidden.add(instance)
                self._schedule(start + rng.randint(1, 3600), self.reveal(instance))
            self.recorder.instance_on_plan(instance, start, hidden=hidden)

    def reseed(self, ts: int) -> Iterator[ServiceRow]:
        """One CREATED row per existing instance, guid = instance guid (spec §5.2)."""
        for instance in sorted(self.instances, key=lambda i: i.slot):
            if instance not in self.hidden:
                yield ServiceRow(instance.guid, ts, ServiceState.CREATED, instance.context())

    def new_instance(self) -> Instance:
        rng = self.rng
        self._serial += 1
        managed = rng.random() < 0.75
        instance = Instance(
            catalog.new_guid(rng),
            f"{rng.choice(('db', 'cache', 'queue'))}-{self._serial}",
            catalog.MANAGED if managed else catalog.USER_PROVIDED,
            rng.choice(self.spaces),
            rng.choice(self.plans) if managed else None,
        )
        self.instances.add(instance)
        return instance

    def _service_row(self, instance: Instance, ts: int, state: str) -> ServiceRow:
        self.hidden.discard(instance)
        self.recorder.instance_revealed(instance)
        return ServiceRow(catalog.new_guid(self.rng), ts, state, instance.context())

    def create_instance(self, ts: int) -> Iterator[Row]:
        instance = self.new_instance()
        self.recorder.instance_on_plan(instance, ts)
        yield self._service_row(instance, ts, ServiceState.CREATED)

    def update_plan(self, ts: int) -> Iterator[Row]:
        if not self.instances:
            yield from self.create_instance(ts)
            return
        instance = self.instances.choice(self.rng)
        plan = instance.plan
        if plan is None or instance in self.hidden:
            # A first UPDATED must not change the plan: billing would date the new plan
            # back to before the history.
            yield from self.rename_instance(ts, instance)
            return
        others = [p for p in self.plans if p.service_guid == plan.service_guid and p != plan]
        instance.plan = self.rng.choice(others)
        instance.ctx = None
        self.recorder.instance_on_plan(instance, ts)
        yield self._service_row(instance, ts, ServiceState.UPDATED)

    def rename_instance(self, ts: int, instance: Instance | None = None) -> Iterator[Row]:
        if instance is None:
            if not self.instances:
                yield from self.create_instance(ts)
                return
            instance = self.instances.choice(self.rng)
        self._serial += 1
        instance.name = f"{instance.name.split('-')[0]}-{self._serial}"
        instance.ctx = None
        self.recorder.instance_renamed(instance)
        yield self._service_row(instance, ts, ServiceState.UPDATED)

    def reveal(self, instance: Instance) -> FollowUp:
        def reveal(ts: int) -> Iterator[Row]:
            if instance in self.hidden:
                if self.rng.random() < 0.7:
                    yield from self.rename_instance(ts, instance)
                else:
                    yield from self.delete_instance(ts, instance)

        return reveal

    def delete_instance(self, ts: int, instance: Instance | None = None) -> Iterator[Row]:
        if instance is None:
            if not self.instances:
                yield from self.create_instance(ts)
                return
            instance = self.instances.choice(self.rng)
        self.instances.remove(instance)
        self.recorder.instance_deleted(instance, ts)
        yield self._service_row(instance, ts, ServiceState.DELETED)
