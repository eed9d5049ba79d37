"""Build usage-event rows for both tables and insert them directly, for report tests.

`History` hands out ids in API order per (foundation, table) and keeps the rows; `insert`
writes them with plain SQL. `raw_message` holds the v2 entity the row stands for.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg2
import psycopg2.extras

# The contract's four columns and the foundation: the database derives every other column
# from raw_message (migration 0009), so these rows are written as an operator would.
COLUMNS = ["id", "guid", "created_at", "raw_message", "foundation"]
MANAGED = "managed_service_instance"
USER_PROVIDED = "user_provided_service_instance"


@dataclass(frozen=True)
class AppEvent:
    id: int
    guid: str
    created_at: datetime
    foundation: str
    state: str
    previous_state: str | None = None
    instance_count: int = 1
    previous_instance_count: int | None = None
    memory_in_mb_per_instance: int = 1024
    previous_memory_in_mb_per_instance: int | None = None
    process_guid: str | None = None
    process_type: str | None = None
    app_name: str | None = None
    parent_app_guid: str | None = None
    parent_app_name: str | None = None
    space_guid: str | None = None
    space_name: str | None = None
    org_guid: str | None = None
    task_guid: str | None = None
    task_name: str | None = None

    def entity(self) -> dict[str, Any]:
        """The v2 entity this row normalizes."""
        data = asdict(self)
        for key in ("id", "guid", "created_at", "foundation", "process_guid"):
            data.pop(key)
        data["app_guid"] = self.process_guid or ""
        return data


@dataclass(frozen=True)
class ServiceEvent:
    id: int
    guid: str
    created_at: datetime
    foundation: str
    state: str
    service_instance_guid: str
    service_instance_type: str = MANAGED
    service_instance_name: str | None = None
    service_plan_guid: str | None = None
    service_plan_name: str | None = None
    service_guid: str | None = None
    service_label: str | None = None
    org_guid: str | None = None
    space_guid: str | None = None
    space_name: str | None = None

    def entity(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("id", "guid", "created_at", "foundation"):
            data.pop(key)
        return data


@dataclass
class History:
    """Events in API order; ids count per foundation and table, as the producer numbers them."""

    apps: list[AppEvent] = field(default_factory=list)
    services: list[ServiceEvent] = field(default_factory=list)
    _ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def _next_id(self, foundation: str, table: str) -> int:
        key = (foundation, table)
        self._ids[key] = self._ids.get(key, 0) + 1
        return self._ids[key]

    def app(self, created_at: datetime, state: str, foundation: str = "f1", **kw: Any) -> AppEvent:
        event = AppEvent(
            id=self._next_id(foundation, "app"),
            guid=str(uuid.uuid4()),
            created_at=created_at,
            foundation=foundation,
            state=state,
            **kw,
        )
        self.apps.append(event)
        return event

    def service(
        self, created_at: datetime, state: str, instance: str, foundation: str = "f1", **kw: Any
    ) -> ServiceEvent:
        event = ServiceEvent(
            id=self._next_id(foundation, "service"),
            guid=str(uuid.uuid4()),
            created_at=created_at,
            foundation=foundation,
            state=state,
            service_instance_guid=instance,
            **kw,
        )
        self.services.append(event)
        return event


def _values(event: AppEvent | ServiceEvent) -> tuple[Any, ...]:
    raw_message = orjson.dumps(event.entity()).decode()
    return (event.id, event.guid, event.created_at, raw_message, event.foundation)


def insert(url: str, history: History) -> None:
    """Write the history's rows into the database at `url`."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            _insert(cursor, "app_usage_events", history.apps)
            _insert(cursor, "service_usage_events", history.services)
    finally:
        conn.close()


def insert_apps(cursor: Any, events: list[AppEvent]) -> None:
    """Write app events with one INSERT statement on `cursor` (the caller's transaction)."""
    _insert(cursor, "app_usage_events", events)


def insert_services(cursor: Any, events: list[ServiceEvent]) -> None:
    """Write service events with one INSERT statement on `cursor` (the caller's transaction)."""
    _insert(cursor, "service_usage_events", events)


def _insert(cursor: Any, table: str, events: list[AppEvent] | list[ServiceEvent]) -> None:
    """One INSERT statement for all `events` (statement triggers see them together)."""
    if events:
        psycopg2.extras.execute_values(
            cursor,
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES %s",
            [_values(e) for e in events],
            page_size=len(events),
        )
