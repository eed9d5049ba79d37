"""Reports over an imported history: equal to the contract's reference, and to reports over
the same events written straight with the four columns.

The source is laid out as the original collector laid it out (timestamps without time zone,
char(36) guids; or the later uuid and timestamptz), its events years older than anything the
CF API still holds, of every kind (tests/support/collector_history.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from reporter import protocol, usage
from shared import db
from shared.states import EventKind
from tests.support import (
    collector_history,
    collector_source,
    event_rows,
    importing,
    reference_report,
    services,
)

OLD_START = datetime(2014, 3, 1, tzinfo=UTC)
OLD_END = datetime(2016, 6, 1, tzinfo=UTC)
LIVE_START = datetime(2026, 1, 5, tzinfo=UTC)
LIVE_END = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
WINDOWS = {
    "before and over everything": (datetime(2010, 1, 1, tzinfo=UTC), NOW),
    "a month of the old history": (
        datetime(2015, 2, 1, tzinfo=UTC),
        datetime(2015, 3, 1, tzinfo=UTC),
    ),
    "across the join": (datetime(2016, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
    "the live history": (LIVE_START, datetime(2026, 7, 1, tzinfo=UTC)),
}


@pytest.fixture(
    params=[collector_source.ORIGINAL, collector_source.LATER], ids=["original", "later"]
)
def source_url(request: pytest.FixtureRequest, postgres_admin_url: str) -> Iterator[str]:
    with collector_source.collector_database(postgres_admin_url, request.param) as url:
        yield url


@pytest.fixture
def other_database(postgres_admin_url: str, template_database: str) -> Iterator[str]:
    """A second migrated database, for the same events written straight."""
    with services.cloned_database(postgres_admin_url, template_database) as url:
        yield url


def _report(url: str, start: datetime, end: datetime) -> protocol.Report:
    conn = db.connect(url)
    try:
        return usage.compute(conn, protocol.ReportRequest(from_=start, to=end), NOW)
    finally:
        conn.close()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _assert_reference(report: protocol.Report, history: event_rows.History, window: str) -> None:
    expected = reference_report.report(history, report.from_, report.to, NOW)
    got: dict[tuple[str, str, str, str | None], protocol.AppRow | protocol.ServiceRow] = {}
    for row in report.rows:
        assert isinstance(row, protocol.AppRow | protocol.ServiceRow)
        plan = row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None
        got[(row.resource_type, row.foundation, row.resource_guid, plan)] = row
    assert set(got) == set(expected), window
    for key, ref in expected.items():
        assert _close(got[key].memory_gb_hours, float(ref.memory_gb_hours)), (window, key)
        assert _close(got[key].instance_hours, float(ref.instance_hours)), (window, key)
        assert got[key].resource_name == ref.resource_name, (window, key)


def _shifted(history: event_rows.History, offset: int) -> event_rows.History:
    """The history with every id moved by `offset` (where the import puts it)."""
    return event_rows.History(
        apps=[dataclasses.replace(e, id=e.id + offset) for e in history.apps],
        services=[dataclasses.replace(e, id=e.id + offset) for e in history.services],
    )


def test_import_into_an_empty_database_keeps_ids_times_and_reports(
    source_url: str, database_url: str, other_database: str
) -> None:
    """Into a foundation with no events and no producer, the events keep their source ids and
    their UTC times; every report equals the reference and the four-column copy exactly."""
    old = collector_history.generate(OLD_START, OLD_END, 700, seed=5)
    assert {e.state for e in old.apps} >= {
        "STARTED", "STOPPED", "BUILDPACK_SET", "FUTURE_STATE", "TASK_STARTED", "TASK_STOPPED",
        "STAGING_STARTED", "STAGING_STOPPED",
    }  # fmt: skip
    assert {e.state for e in old.services} >= {"CREATED", "UPDATED", "DELETED", "ODD"}
    collector_source.fill(source_url, old)

    outcomes = importing.run_import(source_url, database_url, batch_size=64)
    event_rows.insert(other_database, old)

    for kind, events in ((EventKind.APP, old.apps), (EventKind.SERVICE, old.services)):
        importing.assert_adds_up(outcomes[kind])
        assert importing.stored(database_url, kind) == [(e.id, e.guid) for e in events]
        table = importing.TABLES[kind]
        times = importing.query(database_url, f"SELECT guid, created_at FROM {table}")
        assert dict(times) == {e.guid: e.created_at for e in events}
    for window, (start, end) in WINDOWS.items():
        report = _report(database_url, start, end)
        assert report == _report(other_database, start, end), window
        _assert_reference(report, old, window)
    before = [w for w in _report(database_url, *WINDOWS["before and over everything"]).warnings]
    assert {(w.kind, w.to) for w in before if w.code == "before_history"} == {
        ("app", old.apps[0].created_at),
        ("service", old.services[0].created_at),
    }


def test_import_before_the_live_history_reports_the_whole_history(
    source_url: str, database_url: str, other_database: str
) -> None:
    """Older events go just below the lowest stored id, in their source order; the history
    begins at the oldest imported one; reports across the join equal the reference and the
    same events written straight."""
    old = collector_history.generate(OLD_START, OLD_END, 500, seed=8)
    live = collector_history.generate(LIVE_START, LIVE_END, 300, seed=9)
    event_rows.insert(database_url, live)
    collector_source.fill(source_url, old)

    outcomes = importing.run_import(source_url, database_url, batch_size=100)

    both = event_rows.History()
    for kind, old_events, live_events in (
        (EventKind.APP, old.apps, live.apps),
        (EventKind.SERVICE, old.services, live.services),
    ):
        importing.assert_adds_up(outcomes[kind])
        offset = -len(old_events)  # the block ends at the lowest stored id (1) minus 1
        record = outcomes[kind].record
        assert record is not None and record.placement.before_offset == offset
        assert importing.stored(database_url, kind) == [
            (e.id + offset, e.guid) for e in old_events
        ] + [(e.id, e.guid) for e in live_events]
        assert outcomes[kind].history_begins == old_events[0].created_at
    both.apps = _shifted(old, -len(old.apps)).apps + live.apps
    both.services = _shifted(old, -len(old.services)).services + live.services
    event_rows.insert(other_database, both)
    for window, (start, end) in WINDOWS.items():
        report = _report(database_url, start, end)
        assert report == _report(other_database, start, end), window
        _assert_reference(report, both, window)
