"""Issue 5, real foundations, end to end: v2 and v3, pruning, purge and reseed, two foundations.

Real processes (simulator, producer, consumers, reporter) over real PostgreSQL and RabbitMQ.
Histories are small and the producer polls flat out, so the file runs in a few minutes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg2
import pytest
import requests

from reporter import client, protocol, usage
from shared import db
from shared.states import ApiVersion, EventKind
from simulator import truth as sim_truth
from tests.simulator import fixtures
from tests.support import services
from tests.support.pipeline import Pipeline, api_guids, count_rows, simulator, stored_guids
from tests.support.wait import wait_until

# Events per simulated history (both kinds together).
EVENTS = 1500
# Days of history, ending a day before today so that no span reaches into the future.
HISTORY_DAYS = 5
# Seconds a report client waits for its reply.
REPORT_TIMEOUT = 60.0


def history_start() -> str:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (start - timedelta(days=HISTORY_DAYS + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def truth_window(t: sim_truth.Truth) -> tuple[datetime, datetime]:
    """Past the history's first days (processes that ran unseen before it are revealed)."""
    return t.history_start + timedelta(days=2), t.history_end - timedelta(days=1)


def body(start: datetime, end: datetime, **extra: Any) -> bytes:
    return orjson.dumps({"from": start.isoformat(), "to": end.isoformat(), **extra})


def compute(database_url: str, request: bytes, now: datetime | None = None) -> dict[str, Any]:
    """The report as the reporter computes it (in this process), as JSON data."""
    conn = db.connect(database_url)
    try:
        parsed = protocol.parse_request(request)
        report = usage.compute(conn, parsed, now or datetime.now(UTC))
    finally:
        conn.close()
    return orjson.loads(protocol.report_body(report))


def ask(amqp_url: str, request: bytes) -> dict[str, Any]:
    """The report from the reporter process over RabbitMQ."""
    reply = client.call(amqp_url, request, REPORT_TIMEOUT)
    assert reply is not None and reply["status"] == "ok", reply
    report: dict[str, Any] = reply["report"]
    return report


def assert_equals_truth(
    report: dict[str, Any], t: sim_truth.Truth, start: datetime, end: datetime
) -> None:
    """Row for row the ground truth's usage (open spans run until `end`)."""
    expected = sim_truth.expected_usage(t, start, end, open_until=end)
    got = {
        sim_truth.usage_key(r["resource_type"], r["resource_guid"], r.get("service_plan_guid")): (
            r["memory_gb_hours"],
            r.get("service_hours") if r["resource_type"] == "service" else r["instance_hours"],
        )
        for r in report["rows"]
    }
    assert expected and got.keys() == expected.keys()
    for key, row in expected.items():
        hours = row["service_hours"] if row["resource_type"] == "service" else row["instance_hours"]
        assert got[key] == pytest.approx((row["memory_gb_hours"], hours), rel=1e-9, abs=1e-6), key


def query(database_url: str, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    conn.close()
    return rows


def gaps(database_url: str) -> list[tuple[Any, ...]]:
    return query(
        database_url,
        "SELECT foundation, kind, lost_guid, gap_from, gap_to, resumed_guid, reason"
        " FROM collection_gaps ORDER BY gap_id",
    )


def assert_nothing_stored_twice(database_url: str) -> None:
    """One row per API event (guid as received and time), one per sequence number."""
    for table in ("app_usage_events", "service_usage_events"):
        [(rows, events, ids)] = query(
            database_url,
            f"SELECT count(*), count(DISTINCT (coalesce(api_guid, guid), created_at)),"
            f" count(DISTINCT (foundation, id)) FROM {table}",
        )
        assert rows == events == ids, table


def stored_everything(database_url: str, expected: dict[EventKind, list[str]]) -> bool:
    return all(
        set(guids) <= set(stored_guids(database_url, kind)) for kind, guids in expected.items()
    )


def derived_guid(guid: str, created_at: datetime) -> str:
    """docs/operating.md: md5 of `<API guid>@<created_at in UTC with microseconds>`."""
    text = f"{guid}@{created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))  # noqa: S324 - an id


@pytest.fixture
def second_database(postgres_admin_url: str, template_database: str) -> Iterator[str]:
    with services.cloned_database(postgres_admin_url, template_database) as url:
        yield url


@pytest.fixture
def second_vhost(vhosts: services.Vhosts) -> Iterator[str]:
    with services.fresh_vhost(vhosts) as url:
        yield url


def test_foundations_e2e_v2_and_v3_give_identical_reports(
    tmp_path: Path, database_url: str, amqp_url: str, second_database: str, second_vhost: str
) -> None:
    """One history read through v2 into one database and through v3 into another: the same
    reports, row for row, in every window and grouping; raw_message as each API sent it."""
    truth_file = tmp_path / "truth.json"
    with ExitStack() as stack:
        sim = stack.enter_context(
            simulator(events=EVENTS, seed=5, start=history_start(), days=HISTORY_DAYS,
                      export_truth=truth_file)
        )  # fmt: skip
        v2 = stack.enter_context(Pipeline(sim.url, database_url, amqp_url))
        v3 = stack.enter_context(Pipeline(sim.url, second_database, second_vhost))
        v2.start_producer()
        v3.start_producer(CF_API_VERSION="v3", COLLECTOR_FETCH_LIMIT="1000")
        v2.start_consumers(1)
        v3.start_consumers(1)
        expected = api_guids(sim.url)
        v2.wait_stored(expected)
        v3.wait_stored(expected)
        assert api_guids(sim.url, ApiVersion.V3) == expected
        for kind in EventKind:
            assert stored_guids(database_url, kind) == expected[kind]
            assert stored_guids(second_database, kind) == expected[kind]
        t = sim_truth.load(truth_file)
        now = datetime.now(UTC)
        start, end = t.history_start, t.history_end
        windows = [(start, end), (start + timedelta(days=1, hours=3), start + timedelta(days=2))]
        windows.append((end - timedelta(hours=7, minutes=13), end + timedelta(days=3)))
        for a, b in windows:
            for group_by in ("resource", "space", "org"):
                request = body(a, b, group_by=group_by)
                via_v2 = compute(database_url, request, now)
                assert via_v2["rows"], (a, b, group_by)
                assert via_v2 == compute(second_database, request, now), (a, b, group_by)
        assert_equals_truth(compute(database_url, body(*truth_window(t))), t, *truth_window(t))
        for url, version in ((database_url, "v2"), (second_database, "v3")):
            for table in ("app_usage_events", "service_usage_events"):
                [(versions, with_metadata, with_guid)] = query(
                    url,
                    "SELECT array_agg(DISTINCT api_version), count(*) FILTER (WHERE raw_message"
                    f" ? 'metadata'), count(*) FILTER (WHERE raw_message ? 'guid') FROM {table}",
                )
                assert versions == [version]
                # v2 keeps the entity unchanged; v3 the whole resource as received.
                assert (with_metadata, with_guid > 0) == (0, version == "v3"), (url, table)


def test_foundations_e2e_pruned_cursor_is_a_recorded_and_reported_gap(
    database_url: str, amqp_url: str
) -> None:
    """The producer is down while pruning passes its cursor; on restart it logs the lost guid,
    restarts from the oldest event, records the gap, keeps running; reports warn; no repeats."""
    now = datetime.now(UTC).replace(microsecond=0)
    # 20 seconds of events starting 8 s after the 1-day retention cut-off: pruning eats them
    # in real time, one second of history per second, while the test runs.
    start = (now - timedelta(days=1) + timedelta(seconds=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    flags = {"events": EVENTS, "seed": 9, "start": start, "days": 20 / 86400}
    with (
        simulator(**flags, prune_days=1, prune_interval="1s") as sim,
        Pipeline(sim.url, database_url, amqp_url) as pipe,
    ):
        pipe.start_consumers(1)
        pipe.start_reporter()
        slow = pipe.start_producer(COLLECTOR_FETCH_LIMIT="20", COLLECTOR_MIN_WAIT_TIME="1s")
        wait_until(lambda: count_rows(database_url, EventKind.APP) >= 40, timeout=60,
                   what="some app events stored")  # fmt: skip
        assert slow.stop() == 0
        [(lost, lost_at)] = query(
            database_url,
            "SELECT after_guid, last_created_at FROM collector_cursors WHERE kind = 'app'",
        )
        before = set(stored_guids(database_url, EventKind.APP))
        session = requests.Session()
        session.headers["Authorization"] = f"bearer {fixtures.token(sim.url)}"

        def pruned() -> bool:
            reply = session.get(f"{sim.url}/v2/app_usage_events/{lost}", timeout=10)
            return reply.status_code == 404

        wait_until(pruned, timeout=60, interval=0.5, what="pruning past the cursor")
        producer = pipe.start_producer()
        wait_until(lambda: any(g[1] == "app" for g in gaps(database_url)), timeout=60,
                   what="a gap recorded")  # fmt: skip
        wait_until(lambda: stored_everything(database_url, api_guids(sim.url)), timeout=60,
                   what="the API's remaining events stored")  # fmt: skip
        assert producer.alive()
        first = next(g for g in gaps(database_url) if g[1] == "app")
        foundation, _, lost_guid, gap_from, gap_to, resumed, reason = first
        assert (foundation, lost_guid, gap_from) == ("default", lost, lost_at)
        assert gap_to is not None and gap_to >= gap_from and resumed not in before
        assert lost in reason
        assert "cursor_lost" in producer.logs() and lost in producer.logs()
        report = ask(amqp_url, body(gap_from - timedelta(minutes=1), gap_to))
        warned = [w for w in report["warnings"] if w["kind"] == "app"]
        assert warned and warned[0]["code"] == "collection_gap", report["warnings"]
        earlier = ask(amqp_url, body(now - timedelta(days=3), now - timedelta(days=2)))
        assert [w for w in earlier["warnings"] if w["code"] == "collection_gap"] == []
        assert_nothing_stored_twice(database_url)
        assert set(pipe.stop_all().values()) == {0}


def admin_purge(api: str) -> None:
    headers = fixtures.bearer(fixtures.admin_token(api))
    for path in (
        "/v2/app_usage_events/destructively_purge_all_and_reseed_started_apps",
        "/v2/service_usage_events/destructively_purge_all_and_reseed_existing_instances",
    ):
        assert requests.post(api + path, headers=headers, timeout=10).status_code == 204


def snapshot(api: str) -> dict[EventKind, list[dict[str, Any]]]:
    """The v2 resources the API holds now (right after a purge: the reseed rows)."""
    headers = fixtures.bearer(fixtures.token(api))
    out: dict[EventKind, list[dict[str, Any]]] = {}
    for kind in EventKind:
        out[kind] = []
        while True:
            params: dict[str, Any] = {"results-per-page": 100}
            if out[kind]:
                params["after_guid"] = out[kind][-1]["metadata"]["guid"]
            reply = requests.get(
                f"{api}/v2/{kind}_usage_events", params=params, headers=headers, timeout=10
            )
            reply.raise_for_status()
            out[kind] += reply.json()["resources"]
            if len(reply.json()["resources"]) < 100:
                break
    return out


def test_foundations_e2e_purges_keep_both_snapshots_and_count_nothing_twice(
    tmp_path: Path, database_url: str, amqp_url: str
) -> None:
    """A purge mid-run (--purge-at) and a second through the admin endpoints: the producer keeps
    running, each purge is a gap, both snapshots are stored (the second under derived guids),
    and reports before, across and after the purges equal the ground truth."""
    truth_file = tmp_path / "truth.json"
    with (
        simulator(events=EVENTS, seed=3, start=history_start(), days=HISTORY_DAYS,
                  export_truth=truth_file, purge_at="12s") as sim,
        Pipeline(sim.url, database_url, amqp_url) as pipe,
    ):  # fmt: skip
        pipe.start_producer()
        pipe.start_consumers(2)
        pipe.start_reporter()
        history = api_guids(sim.url)
        assert sum(map(len, history.values())) == EVENTS, "the purge came before the test"
        pipe.wait_stored(history, timeout=60)
        wait_until(lambda: len(gaps(database_url)) == 2, timeout=60, what="the first purge")
        first = snapshot(sim.url)
        wait_until(lambda: stored_everything(database_url, api_guids(sim.url)), timeout=60,
                   what="the first snapshot stored")  # fmt: skip
        # CF's timestamps have one-second precision: a second purge within the first's second
        # would re-emit identical rows (same guid, same created_at), which are duplicates.
        first_at = datetime.fromisoformat(first[EventKind.APP][0]["metadata"]["created_at"])
        wait_until(lambda: datetime.now(UTC).replace(microsecond=0) > first_at, timeout=5,
                   what="the clock to leave the first purge's second")  # fmt: skip
        admin_purge(sim.url)
        second = snapshot(sim.url)
        assert datetime.fromisoformat(second[EventKind.APP][0]["metadata"]["created_at"]) > first_at
        wait_until(lambda: len(gaps(database_url)) == 4, timeout=60, what="the second purge")

        def second_stored() -> bool:
            return all(
                count_rows(database_url, kind) == len(history[kind]) + len(first[kind]) * 2
                for kind in EventKind
            )

        wait_until(second_stored, timeout=60, what="the second snapshot stored")
        assert pipe.producers[0].alive()
        # The cursor sat on a reseed row that the second purge re-emitted: caught, not skipped.
        assert "cursor_reseeded" in pipe.producers[0].logs()
        for kind in EventKind:
            assert len(first[kind]) == len(second[kind]) > 0
            for resource in second[kind]:
                guid = resource["metadata"]["guid"]
                created = datetime.fromisoformat(resource["metadata"]["created_at"])
                rows = query(
                    database_url,
                    f"SELECT guid, api_guid FROM {kind}_usage_events WHERE guid = %(d)s",
                    {"d": derived_guid(guid, created)},
                )
                assert rows == [(derived_guid(guid, created), guid)]
        assert_nothing_stored_twice(database_url)
        t = sim_truth.load(truth_file)
        before = truth_window(t)
        assert_equals_truth(ask(amqp_url, body(*before)), t, *before)
        across = (before[0], datetime.now(UTC).replace(microsecond=0))
        report = ask(amqp_url, body(*across))
        assert_equals_truth(report, t, *across)
        assert {w["kind"] for w in report["warnings"]} == {"app", "service"}
        assert len(report["warnings"]) == 4
        lost = {g[2] for g in gaps(database_url)}
        assert history[EventKind.APP][-1] in lost and history[EventKind.SERVICE][-1] in lost


def test_foundations_e2e_two_foundations_side_by_side(
    tmp_path: Path, database_url: str, amqp_url: str
) -> None:
    """Two simulators, two producers (CF_FOUNDATION a and b), one database: each foundation's
    report matches its own ground truth; cursors are per foundation and kind."""
    truths = {name: tmp_path / f"{name}.json" for name in ("a", "b")}
    with ExitStack() as stack:
        sims = {
            name: stack.enter_context(
                simulator(events=EVENTS, seed=seed, start=history_start(), days=HISTORY_DAYS,
                          export_truth=truths[name])
            )
            for name, seed in (("a", 21), ("b", 22))
        }  # fmt: skip
        pipes = {
            name: stack.enter_context(Pipeline(sim.url, database_url, amqp_url))
            for name, sim in sims.items()
        }
        for name, pipe in pipes.items():
            pipe.start_producer(CF_FOUNDATION=name)
        pipes["a"].start_consumers(2)
        pipes["a"].start_reporter()
        expected = {name: api_guids(sim.url) for name, sim in sims.items()}
        wait_until(
            lambda: all(
                stored_guids(database_url, kind, name) == expected[name][kind]
                for name in expected
                for kind in EventKind
            ),
            timeout=120,
            interval=0.5,
            what="both foundations stored",
        )
        cursors = query(
            database_url,
            "SELECT foundation, kind, after_guid, sequence FROM collector_cursors ORDER BY 1, 2",
        )
        assert cursors == [
            (name, kind.value, expected[name][kind][-1], len(expected[name][kind]))
            for name in ("a", "b")
            for kind in EventKind
        ]
        for name, path in truths.items():
            t = sim_truth.load(path)
            window = truth_window(t)
            report = ask(amqp_url, body(*window, foundations=[name]))
            assert_equals_truth(report, t, *window)
            assert {r.get("foundation", name) for r in report["rows"]} == {name}
        both = ask(amqp_url, body(*truth_window(sim_truth.load(truths["a"]))))
        only_a = ask(amqp_url, body(*truth_window(sim_truth.load(truths["a"])), foundations=["a"]))
        assert len(both["rows"]) > len(only_a["rows"])
