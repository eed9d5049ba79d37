"""Reports over a simulator history equal the simulator's ground truth, fed by v2 or by v3.

The history and its truth are generated in-process (seeded), each event is rendered as the
API would list it, wrapped in a `shared.events.Message` and decoded by `consumer.decoder`
exactly as the consumer does, then stored; `reporter.usage` must then give, per resource,
what `simulator.truth.expected_usage` says really ran.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson
import psycopg2
import psycopg2.extras
import pytest

from consumer import decoder
from reporter import protocol, usage
from shared import db, errors, events
from shared.states import ApiVersion, EventKind
from simulator import history, render
from simulator.recorder import TruthRecorder
from simulator.rows import AppRow, Row
from simulator.truth import Truth, Usage, expected_usage, usage_key
from tests.support.event_rows import COLUMNS

SEED = 7
EVENTS = 4000
MALFORMED = 4
START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)
API_URL = "http://simulator.test"
FOUNDATION = "cf1"
WINDOWS = {
    "whole history": (START, END),
    "a day in the middle": (START + timedelta(days=14), START + timedelta(days=15)),
    "ending in the future": (START + timedelta(days=20), END + timedelta(days=10)),
}


@pytest.fixture(scope="module")
def generated() -> tuple[list[Row], Truth]:
    recorder = TruthRecorder()
    start, end = int(START.timestamp()), int(END.timestamp())
    world = history.world_for(SEED, EVENTS, start, recorder)
    rows = list(history.generate(world, start, end, EVENTS, MALFORMED))
    return rows, Truth.model_validate(recorder.export(SEED, start, end))


def _messages(rows: list[Row], version: ApiVersion) -> list[events.Message]:
    """Each row as the producer would publish it: sequence = position per kind."""
    sequences = dict.fromkeys(EventKind, 0)
    found = []
    for row in rows:
        kind = EventKind.APP if isinstance(row, AppRow) else EventKind.SERVICE
        sequences[kind] += 1
        if version is ApiVersion.V2:
            resource = render.v2_app(row) if kind is EventKind.APP else render.v2_service(row)  # type: ignore[arg-type]
        elif kind is EventKind.APP:
            resource = render.v3_app(row, API_URL)  # type: ignore[arg-type]
        else:
            resource = render.v3_service(row, API_URL)  # type: ignore[arg-type]
        found.append(
            events.Message(
                foundation=FOUNDATION,
                kind=kind,
                api_version=version,
                sequence=sequences[kind],
                guid=row.guid,
                resource=msgspec.Raw(orjson.dumps(resource)),
            )
        )
    return found


def _store(url: str, messages: list[events.Message]) -> set[str]:
    """Decode and insert every message; return the guids `decode` refused."""
    refused: set[str] = set()
    tables: dict[EventKind, list[tuple[Any, ...]]] = {EventKind.APP: [], EventKind.SERVICE: []}
    for message in messages:
        try:
            event = decoder.decode(events.encode(message))
        except errors.InvalidEvent:
            refused.add(message.guid)
            continue
        values = (event.sequence, event.guid, event.created_at, event.raw_json, event.foundation)
        tables[event.kind].append(values)
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("TRUNCATE app_usage_events, service_usage_events")
            for table, kind in (
                ("app_usage_events", EventKind.APP),
                ("service_usage_events", EventKind.SERVICE),
            ):
                psycopg2.extras.execute_values(
                    cursor,
                    f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES %s",
                    tables[kind],
                    page_size=1000,
                )
    finally:
        conn.close()
    return refused


def _report(url: str, start: datetime, end: datetime, helpers: int = 0) -> dict[str, protocol.Row]:
    conns = [db.connect(url) for _ in range(helpers + 1)]
    try:
        request = protocol.ReportRequest(from_=start, to=end)
        report = usage.compute(conns[0], request, now=END, helpers=conns[1:])
    finally:
        for conn in conns:
            conn.close()
    rows = {}
    for row in report.rows:
        assert isinstance(row, protocol.AppRow | protocol.ServiceRow)
        plan = row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None
        key = usage_key(row.resource_type, row.resource_guid, plan)
        assert key not in rows, key
        rows[key] = row
    return rows


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _check(got: dict[str, protocol.Row], expected: dict[str, Usage], window: str) -> None:
    assert set(got) == set(expected), (
        window,
        sorted(set(got) - set(expected))[:5],
        sorted(set(expected) - set(got))[:5],
    )
    for key, want in expected.items():
        row = got[key]
        for column in ("memory_gb_hours", "instance_hours", "service_hours"):
            if column == "instance_hours" and row.resource_type == "service":
                continue  # the truth keeps service time in service_hours only
            assert _close(getattr(row, column), want[column]), (window, key, column)  # type: ignore[literal-required]


def test_report_truth_v2_and_v3_reports_equal_the_simulator_truth(
    database_url: str, generated: tuple[list[Row], Truth]
) -> None:
    """Per resource, every window equals the truth to 1e-9, and v2 and v3 agree exactly."""
    rows, truth = generated
    by_version: dict[ApiVersion, dict[str, dict[str, protocol.Row]]] = {}
    for version in (ApiVersion.V2, ApiVersion.V3):
        refused = _store(database_url, _messages(rows, version))
        assert refused == set(truth.malformed_guids)
        by_version[version] = {}
        for window, (start, end) in WINDOWS.items():
            got = _report(database_url, start, end)
            expected = expected_usage(truth, start, end, open_until=END)
            assert expected, window  # the window is not trivially empty
            _check(got, expected, f"{version.value} {window}")
            by_version[version][window] = got
            # The same report on three connections (one snapshot) is the same, row for row.
            assert _report(database_url, start, end, helpers=2) == got, window
    assert by_version[ApiVersion.V2] == by_version[ApiVersion.V3]
