"""The generated history: deterministic, well-formed, and in agreement with its truth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from simulator import history, render
from simulator.recorder import TruthRecorder
from simulator.rows import AppRow, Row, ServiceRow
from simulator.truth import Truth, expected_usage
from tests.simulator.reference import usage_from_events

START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
END = START + 30 * 86400


def generate(
    seed: int = 1, events: int = 3000, malformed: int = 0
) -> tuple[list[Row], TruthRecorder]:
    recorder = TruthRecorder()
    world = history.world_for(seed, events, START, recorder)
    return list(history.generate(world, START, END, events, malformed)), recorder


def as_v2(rows: list[Row]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    apps = [render.v2_app(r) for r in rows if isinstance(r, AppRow)]
    services = [render.v2_service(r) for r in rows if isinstance(r, ServiceRow)]
    return apps, services


def test_history_same_seed_gives_byte_identical_events() -> None:
    first, _ = generate(seed=7)
    second, _ = generate(seed=7)
    assert orjson.dumps(as_v2(first)) == orjson.dumps(as_v2(second))
    other, _ = generate(seed=8)
    assert [r.guid for r in other] != [r.guid for r in first]


@pytest.mark.parametrize("events", [300, 3000, 20_000])
def test_history_has_exact_size_and_nondecreasing_whole_second_times(events: int) -> None:
    rows, _ = generate(events=events)
    assert len(rows) == events
    created = [r.created for r in rows]
    assert created == sorted(created)
    assert created[0] >= START and created[-1] <= END
    assert len({r.guid for r in rows}) == events


def test_history_begins_with_a_reseed_snapshot() -> None:
    rows, _ = generate()
    snapshot = [r for r in rows if r.created == START]
    apps = [r for r in snapshot if isinstance(r, AppRow)]
    services = [r for r in snapshot if isinstance(r, ServiceRow)]
    assert apps and services
    for row in apps:
        assert row.state == row.previous_state == "STARTED"
        assert row.guid == row.ctx.app_guid and row.ctx.process_type is None
        assert row.instances == row.previous_instances
    assert all(r.state == "CREATED" and r.guid == r.ctx.instance_guid for r in services)


def test_history_has_processes_first_seen_already_running() -> None:
    rows, _ = generate()
    first: dict[str, AppRow] = {}
    for row in rows:
        if isinstance(row, AppRow) and row.state in ("STARTED", "STOPPED") and row.ctx.app_guid:
            first.setdefault(row.ctx.app_guid, row)
    carried = [r for r in first.values() if r.created > START and r.previous_state == "STARTED"]
    assert carried, "some process should first appear through a scale or stop"


def test_history_has_instances_first_seen_through_an_update_or_delete() -> None:
    rows, _ = generate()
    first: dict[str, ServiceRow] = {}
    for row in rows:
        if isinstance(row, ServiceRow):
            first.setdefault(row.ctx.instance_guid, row)
    assert any(r.state in ("UPDATED", "DELETED") for r in first.values())


def test_history_worker_processes_have_their_own_guid() -> None:
    rows, _ = generate()
    workers = [r for r in rows if isinstance(r, AppRow) and r.ctx.process_type == "worker"]
    webs = [r for r in rows if isinstance(r, AppRow) and r.ctx.process_type == "web"]
    assert workers and webs
    assert all(r.ctx.app_guid != r.ctx.parent_app_guid for r in workers)
    assert all(r.ctx.app_guid == r.ctx.parent_app_guid for r in webs)


def test_history_staging_and_task_events_have_cf_shapes() -> None:
    rows, _ = generate()
    app_rows = [r for r in rows if isinstance(r, AppRow)]
    staging = [r for r in app_rows if r.state.startswith("STAGING_")]
    tasks = [r for r in app_rows if r.state.startswith("TASK_")]
    assert staging and tasks
    for r in staging:
        assert (r.ctx.app_guid, r.ctx.app_name, r.ctx.process_type) == ("", "", None)
        assert (r.memory, r.instances) == (1024, 1) and r.ctx.parent_app_guid
    for r in tasks:
        assert (r.ctx.app_guid, r.ctx.app_name, r.ctx.process_type) == ("", "", None)
        assert r.task_guid and r.task_name and r.instances == 1
        assert r.previous_state == ("PENDING" if r.state == "TASK_STARTED" else "RUNNING")
    assert any(r.state == "BUILDPACK_SET" for r in app_rows)
    started = sum(r.state == "STAGING_STARTED" for r in staging)
    assert started > sum(r.state == "STAGING_STOPPED" for r in staging), "some never finish"


def test_history_has_user_provided_and_updated_instances() -> None:
    rows, _ = generate()
    services = [r for r in rows if isinstance(r, ServiceRow)]
    user_provided = [r for r in services if r.ctx.instance_type.startswith("user_provided")]
    assert user_provided and all(r.ctx.plan_guid is None for r in user_provided)
    assert {r.state for r in services} == {"CREATED", "UPDATED", "DELETED"}


def test_history_malformed_events_are_listed_and_broken() -> None:
    rows, recorder = generate(malformed=4)
    truth = Truth.model_validate(recorder.export(1, START, END))
    assert len(truth.malformed_guids) == 4
    apps, services = as_v2(rows)
    broken = [e for e in apps + services if e["metadata"]["guid"] in set(truth.malformed_guids)]
    assert len(broken) == 4
    for event in broken:
        entity = event["entity"]
        assert "state" not in entity or entity.get("instance_count") == "many"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_history_truth_usage_equals_what_the_events_imply(seed: int) -> None:
    rows, recorder = generate(seed=seed, events=6000, malformed=5)
    truth = Truth.model_validate(recorder.export(seed, START, END))
    apps, services = as_v2(rows)
    start, end = truth.history_start, truth.history_end
    windows = [
        (start, end),
        (start + timedelta(days=3), start + timedelta(days=10, hours=5)),
        (start + timedelta(days=29, hours=23), end),
    ]
    for window_from, window_to in windows:
        expected = expected_usage(truth, window_from, window_to)
        implied = usage_from_events(
            apps, services, window_from, window_to, end, set(truth.malformed_guids)
        )
        assert expected.keys() == implied.keys()
        for key, row in expected.items():
            for field in ("memory_gb_hours", "instance_hours", "service_hours"):
                assert implied[key][field] == pytest.approx(row[field], abs=1e-6), (key, field)
    full = expected_usage(truth, start, end)
    assert {r["resource_type"] for r in full.values()} == {"app", "task", "staging", "service"}
