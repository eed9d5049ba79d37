"""A plain-Python reference of CONTRACT "Report arithmetic", written from the contract text.

Deliberately naive: walk each resource's events in API order as a state machine, add up
exact Fractions, clip every span to [from, min(to, now)) and to the history's beginning (the
oldest event of the foundation's table). Staging pairs with a FIFO queue.
Rows are keyed by (resource_type, foundation, resource_guid, plan_guid or None).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TypeVar

from tests.support.event_rows import USER_PROVIDED, AppEvent, History, ServiceEvent

RUNNING = {"STARTED", "WAS_RUNNING"}
STOPPED = {"STOPPED"}
Key = tuple[str, str, str, str | None]
E = TypeVar("E", AppEvent, ServiceEvent)


@dataclass
class RefRow:
    resource_type: str
    foundation: str
    resource_guid: str
    memory_gb_hours: Fraction
    instance_hours: Fraction
    resource_name: str | None = None
    org_guid: str | None = None
    space_guid: str | None = None
    plan_guid: str | None = None
    plan_name: str | None = None
    service_label: str | None = None


class _Window:
    def __init__(self, start: datetime, end: datetime, now: datetime) -> None:
        self.start, self.end, self.upto = start, end, min(end, now)

    def seconds(self, begin: datetime | None, finish: datetime | None) -> Fraction:
        """Seconds of [begin, finish) inside [start, upto); None is -inf / +inf."""
        low = self.start if begin is None else max(begin, self.start)
        high = self.upto if finish is None else min(finish, self.upto)
        if high <= low:
            return Fraction(0)
        return Fraction((high - low) // timedelta(microseconds=1), 1_000_000)


def _groups(events: Iterable[E], key: Callable[[E], str | None]) -> dict[tuple[str, str], list[E]]:
    found: dict[tuple[str, str], list[E]] = defaultdict(list)
    for event in events:
        guid = key(event)
        if guid is not None:
            found[(event.foundation, guid)].append(event)
    return {k: sorted(v, key=lambda e: e.id) for k, v in found.items()}


def _namer(events: Sequence[E], end: datetime) -> E:
    """The latest event before `to`, else the earliest."""
    before = [e for e in events if e.created_at < end]
    return before[-1] if before else events[0]


def beginnings(events: Iterable[AppEvent | ServiceEvent]) -> dict[str, datetime]:
    """The oldest event time per foundation."""
    found: dict[str, datetime] = {}
    for event in events:
        if event.foundation not in found or event.created_at < found[event.foundation]:
            found[event.foundation] = event.created_at
    return found


def report(history: History, start: datetime, end: datetime, now: datetime) -> dict[Key, RefRow]:
    app_windows = {f: _Window(max(start, b), end, now) for f, b in beginnings(history.apps).items()}
    rows: dict[Key, RefRow] = {}

    def add(kind: str, fkey: tuple[str, str], seconds: Fraction, instances: int, mb: int) -> None:
        row = rows.setdefault(
            (kind, fkey[0], fkey[1], None), RefRow(kind, fkey[0], fkey[1], Fraction(0), Fraction(0))
        )
        row.instance_hours += instances * seconds / 3600
        row.memory_gb_hours += instances * mb * seconds / 1024 / 3600

    processes = _groups(history.apps, lambda e: e.process_guid)
    for fkey, events in processes.items():
        window = app_windows[fkey[0]]
        changes = [e for e in events if e.state in RUNNING | STOPPED]
        if changes and changes[0].previous_state in RUNNING:
            first = changes[0]
            count = first.previous_instance_count
            memory = first.previous_memory_in_mb_per_instance
            add(
                "app",
                fkey,
                window.seconds(None, first.created_at),
                first.instance_count if count is None else count,
                first.memory_in_mb_per_instance if memory is None else memory,
            )
        for index, event in enumerate(changes):
            if event.state in RUNNING:
                nxt = changes[index + 1].created_at if index + 1 < len(changes) else None
                seconds = window.seconds(event.created_at, nxt)
                add("app", fkey, seconds, event.instance_count, event.memory_in_mb_per_instance)

    tasks = _groups(history.apps, lambda e: e.task_guid)
    for fkey, events in tasks.items():
        window = app_windows[fkey[0]]
        changes = [e for e in events if e.state in ("TASK_STARTED", "TASK_STOPPED")]
        if changes and changes[0].state == "TASK_STOPPED":
            first = changes[0]
            seconds = window.seconds(None, first.created_at)
            add("task", fkey, seconds, first.instance_count, first.memory_in_mb_per_instance)
        for index, event in enumerate(changes):
            if event.state == "TASK_STARTED":
                nxt = changes[index + 1].created_at if index + 1 < len(changes) else None
                seconds = window.seconds(event.created_at, nxt)
                add("task", fkey, seconds, event.instance_count, event.memory_in_mb_per_instance)

    staging_events = [e for e in history.apps if e.state in ("STAGING_STARTED", "STAGING_STOPPED")]
    staging = _groups(staging_events, lambda e: e.parent_app_guid)
    for fkey, events in staging.items():
        window = app_windows[fkey[0]]
        waiting: deque[AppEvent] = deque()
        for event in events:
            if event.state == "STAGING_STARTED":
                waiting.append(event)
            elif waiting:
                begun = waiting.popleft()
                seconds = window.seconds(begun.created_at, event.created_at)
                add("staging", fkey, seconds, begun.instance_count, begun.memory_in_mb_per_instance)

    for kind, groups, name_of in (
        ("app", processes, lambda e: e.app_name),
        ("task", tasks, lambda e: e.task_name),
        ("staging", staging, lambda e: e.parent_app_name),
    ):
        for fkey, events in groups.items():
            row = rows.get((kind, fkey[0], fkey[1], None))
            if row is not None:
                named = _namer(events, end)
                row.resource_name = name_of(named)
                row.org_guid, row.space_guid = named.org_guid, named.space_guid

    _services(history, start, end, now, rows)
    return {k: r for k, r in rows.items() if r.instance_hours or r.memory_gb_hours}


def _services(
    history: History, start: datetime, end: datetime, now: datetime, rows: dict[Key, RefRow]
) -> None:
    began = beginnings(history.services)  # of every service event, user-provided included
    managed = [e for e in history.services if e.service_instance_type != USER_PROVIDED]
    for fkey, events in _groups(managed, lambda e: e.service_instance_guid).items():
        window = _Window(max(start, began[fkey[0]]), end, now)
        changes = [e for e in events if e.state in ("CREATED", "UPDATED", "DELETED")]
        spans: list[tuple[str | None, Fraction]] = []
        if changes and changes[0].state in ("UPDATED", "DELETED"):
            first = changes[0]
            spans.append((first.service_plan_guid, window.seconds(None, first.created_at)))
        for index, event in enumerate(changes):
            if event.state in ("CREATED", "UPDATED"):
                nxt = changes[index + 1].created_at if index + 1 < len(changes) else None
                spans.append((event.service_plan_guid, window.seconds(event.created_at, nxt)))
        named = _namer(events, end)
        for plan, seconds in spans:
            key = ("service", fkey[0], fkey[1], plan)
            if key not in rows:
                plan_named = _namer([e for e in events if e.service_plan_guid == plan], end)
                rows[key] = RefRow(
                    "service",
                    fkey[0],
                    fkey[1],
                    Fraction(0),
                    Fraction(0),
                    resource_name=named.service_instance_name,
                    org_guid=named.org_guid,
                    space_guid=named.space_guid,
                    plan_guid=plan,
                    plan_name=plan_named.service_plan_name,
                    service_label=plan_named.service_label,
                )
            rows[key].instance_hours += seconds / 3600
