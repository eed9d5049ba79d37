"""Reports over purge-and-reseed rows (issue 5): both snapshots stored, nothing counted twice.

A reseed row is a STARTED (previous STARTED, same counts) per running process or a CREATED
per service instance, at the purge time, with the process or instance guid as event guid;
the consumer stores a later purge's row under a derived guid. The arithmetic must treat
them as "still running" / "still existing": a STARTED while running and a CREATED while
existing change nothing, except where the snapshot shows a change the history missed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reporter import protocol, usage
from shared import db
from tests.support.event_rows import AppEvent, History, ServiceEvent, insert

T0 = datetime(2026, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
LATER = T0 + 365 * DAY  # "now" long after every window
PROC = "0c8e3b9a-1111-4a5e-9d3c-6b1f0e2a7c41"
INST = "5d2f7a1c-2222-4b6e-8c4d-7a2e1f3b8d52"
PLAN = "plan-small"


def derived(guid: str, created_at: datetime) -> str:
    text = f"{guid}@{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))  # noqa: S324 - an id


def proc(**kw: Any) -> dict[str, Any]:
    base = {"process_guid": PROC, "app_name": "shop", "parent_app_guid": "a" * 36}
    return {**base, "org_guid": "org-a", "space_guid": "space-a", **kw}


def reseed_app(h: History, at: datetime, guid: str, instances: int = 2) -> None:
    """A reseed row as the Cloud Controller writes it (process_type NULL), with `guid`."""
    event = h.app(
        at, "STARTED", previous_state="STARTED", instance_count=instances,
        previous_instance_count=instances, memory_in_mb_per_instance=1024,
        previous_memory_in_mb_per_instance=1024, **proc(),
    )  # fmt: skip
    _regid(h, event, guid)


def reseed_service(h: History, at: datetime, guid: str) -> None:
    event = h.service(at, "CREATED", INST, service_plan_guid=PLAN, org_guid="org-a")
    _regid(h, event, guid)


def _regid(h: History, event: AppEvent | ServiceEvent, guid: str) -> None:
    rows: list[Any] = h.apps if isinstance(event, AppEvent) else h.services
    rows[rows.index(event)] = dataclasses.replace(event, guid=guid)


def report(
    conn: db.Connection, start: datetime = T0, end: datetime = T0 + DAY
) -> dict[str, tuple[float, float]]:
    got = usage.compute(conn, protocol.ReportRequest(from_=start, to=end), LATER)
    out: dict[str, tuple[float, float]] = {}
    for row in got.rows:
        if isinstance(row, protocol.ServiceRow):
            out[row.resource_type] = (row.service_hours, row.service_hours)
        else:
            out[row.resource_type] = (row.memory_gb_hours, row.instance_hours)
    return out


def test_report_reseed_two_purges_count_nothing_twice(
    conn: db.Connection, database_url: str
) -> None:
    """Running 2 x 1 GB all day across two purges: 48 h, as if no purge had happened."""
    h = History()
    h.app(T0 - DAY, "STARTED", instance_count=2, process_type="web", **proc())
    reseed_app(h, T0 + 6 * HOUR, PROC)
    reseed_app(h, T0 + 12 * HOUR, derived(PROC, T0 + 12 * HOUR))
    h.service(T0 - DAY, "CREATED", INST, service_plan_guid=PLAN, org_guid="org-a")
    reseed_service(h, T0 + 6 * HOUR, INST)
    reseed_service(h, T0 + 12 * HOUR, derived(INST, T0 + 12 * HOUR))
    insert(database_url, h)
    assert report(conn) == {"app": pytest.approx((48.0, 48.0)), "service": (24.0, 24.0)}


def test_report_reseed_shows_a_scale_the_history_missed(
    conn: db.Connection, database_url: str
) -> None:
    """A scale to 4 that was truncated before it was read is seen from the second snapshot on.

    2 instances until the snapshot at 12:00, 4 after: 24 + 48 = 72 instance-hours. Dropping
    the snapshot row (as before issue 5) would give 48; the truth (scale at 10:00) is 76.
    """
    h = History()
    h.app(T0 - DAY, "STARTED", instance_count=2, process_type="web", **proc())
    reseed_app(h, T0 + 6 * HOUR, PROC)
    reseed_app(h, T0 + 12 * HOUR, derived(PROC, T0 + 12 * HOUR), instances=4)
    insert(database_url, h)
    assert report(conn)["app"] == pytest.approx((72.0, 72.0))


def test_report_reseed_as_first_event_carries_in_per_contract(
    conn: db.Connection, database_url: str
) -> None:
    """History that starts at a purge: the reseed STARTED (previous STARTED) is the first event.

    The contract's carried-in rule applies: running before it, but nothing is known before
    the history begins, at the purge. So a window after the purge counts from the purge on,
    and so does one that spans it; a service's first CREATED carries nothing in either.
    """
    h = History()
    reseed_app(h, T0 + 6 * HOUR, PROC)
    h.app(T0 + 18 * HOUR, "STOPPED", previous_state="STARTED", instance_count=2, **proc())
    reseed_service(h, T0 + 6 * HOUR, INST)
    insert(database_url, h)
    assert report(conn, T0 + 12 * HOUR, T0 + DAY)["app"] == pytest.approx((12.0, 12.0))
    both = report(conn)
    assert both["app"] == pytest.approx((24.0, 24.0))
    assert both["service"] == pytest.approx((18.0, 18.0))
