"""Acceptance of ingestion (issue 3): simulator → producer → broker → consumers → PostgreSQL.

Every piece is the real process, configured by environment only. Each test has its own
database and vhost; the tests that only read a fixed history share one simulator. "Exactly
once and in API order" means: per kind, the stored guids in `id` order are the guids the API
lists, in the API's order, with no repeat, and `id` rises strictly along that order.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pika
import psycopg2
import pytest

from shared import topology
from shared.states import EventKind
from tests.support.pipeline import Pipeline, api_guids, count_rows, simulator
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(180)

# Events in the shared history: enough for several batches and pages per consumer.
HISTORY_EVENTS = 20_000
# Guids per kind in API order.
Listing = dict[EventKind, list[str]]


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[str, Listing]]:
    """One simulator with a fixed 20k-event history for the module, and what its API lists."""
    with simulator(seed=21, events=HISTORY_EVENTS) as sim:
        yield sim.url, api_guids(sim.url)


@contextmanager
def pipeline(api: str, database_url: str, amqp_url: str) -> Iterator[Pipeline]:
    """A Pipeline whose processes' logs are printed when the test fails."""
    with Pipeline(api, database_url, amqp_url) as pipe:
        try:
            yield pipe
        except BaseException:
            print(pipe.logs())
            raise


def stored_rows(database_url: str, kind: EventKind) -> list[tuple[str, int]]:
    """(guid, id) of every stored event of one kind, in id order."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        table = "app_usage_events" if kind is EventKind.APP else "service_usage_events"
        cursor.execute(f"SELECT guid, id FROM {table} ORDER BY id")
        rows = [(str(guid), int(id_)) for guid, id_ in cursor.fetchall()]
    conn.close()
    return rows


def total_stored(database_url: str) -> int:
    return sum(count_rows(database_url, kind) for kind in EventKind)


def published(database_url: str) -> int:
    """Events the producer has had confirmed and saved its cursor past (all kinds)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(sequence), 0) FROM collector_cursors")
        row = cursor.fetchone()
    conn.close()
    return int(row[0]) if row else 0


def assert_exactly_once_in_api_order(database_url: str, expected: Listing) -> None:
    for kind in EventKind:
        rows = stored_rows(database_url, kind)
        guids = [guid for guid, _ in rows]
        assert len(guids) == len(set(guids)), f"{kind}: a guid is stored twice"
        assert guids == expected[kind], f"{kind}: stored guids differ from the API's order"
        ids = [id_ for _, id_ in rows]
        assert all(a < b for a, b in itertools.pairwise(ids)), f"{kind}: id not rising"


def queue_depth(amqp_url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


def assert_nothing_dead_lettered(amqp_url: str) -> None:
    assert queue_depth(amqp_url, topology.DEAD_LETTER_QUEUE) == 0


def stop_cleanly(pipe: Pipeline) -> None:
    assert set(pipe.stop_all().values()) <= {0}, "a process did not exit 0 on SIGTERM"


@pytest.mark.parametrize("consumers", [1, 3])
def test_ingestion_e2e_stores_every_event_once_in_api_order(
    history: tuple[str, Listing], database_url: str, amqp_url: str, consumers: int
) -> None:
    api, expected = history
    with pipeline(api, database_url, amqp_url) as pipe:
        pipe.start_consumers(consumers)
        pipe.start_producer()
        pipe.wait_stored(expected)
        stop_cleanly(pipe)
    assert_exactly_once_in_api_order(database_url, expected)
    assert_nothing_dead_lettered(amqp_url)


def test_ingestion_e2e_producer_sigkill_and_restart_lose_and_double_nothing(
    history: tuple[str, Listing], database_url: str, amqp_url: str
) -> None:
    api, expected = history
    with pipeline(api, database_url, amqp_url) as pipe:
        pipe.start_consumers(2)
        first = pipe.start_producer()
        wait_until(lambda: published(database_url) >= 3000, timeout=60, what="3000 published")
        first.kill()
        assert published(database_url) < HISTORY_EVENTS, "the kill came after the last page"
        pipe.start_producer()
        pipe.wait_stored(expected)
        stop_cleanly(pipe)
    assert_exactly_once_in_api_order(database_url, expected)


def test_ingestion_e2e_consumer_sigkill_loses_and_doubles_nothing(
    history: tuple[str, Listing], database_url: str, amqp_url: str
) -> None:
    api, expected = history
    with pipeline(api, database_url, amqp_url) as pipe:
        victim, _survivor = pipe.start_consumers(2)
        pipe.start_producer()
        wait_until(lambda: total_stored(database_url) >= 4000, timeout=60, what="4000 stored")
        victim.kill()
        assert total_stored(database_url) < HISTORY_EVENTS, "the kill came after the last batch"
        # The survivor carries on alone for a while, then the victim comes back.
        wait_until(lambda: total_stored(database_url) >= 8000, timeout=60, what="8000 stored")
        pipe.start_consumers(1)
        pipe.wait_stored(expected)
        stop_cleanly(pipe)
    assert_exactly_once_in_api_order(database_url, expected)


def test_ingestion_e2e_rides_through_api_faults_and_token_expiry(
    database_url: str, amqp_url: str
) -> None:
    with simulator(seed=22, events=5000, fault_rate=0.2, token_ttl="2s") as sim:
        expected = api_guids(sim.url)
        with pipeline(sim.url, database_url, amqp_url) as pipe:
            pipe.start_consumers(1)
            producer = pipe.start_producer()
            pipe.wait_stored(expected)
            # Tokens live 2s: by now (or soon, as polling goes on) one has been renewed.
            wait_until(
                lambda: producer.logs().count("uaa_token_obtained") >= 2,
                timeout=30,
                what="a renewed token",
            )
            stop_cleanly(pipe)
            logs = producer.logs()
    assert "cf_api_unavailable" in logs, "no fault was met: the test proved nothing"
    assert_exactly_once_in_api_order(database_url, expected)


def dead_letters(amqp_url: str) -> list[tuple[dict[str, object], dict[str, object]]]:
    """(headers, body) of every dead-lettered message (acked, so removed)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    out: list[tuple[dict[str, object], dict[str, object]]] = []
    try:
        channel = connection.channel()
        while True:
            method, properties, body = channel.basic_get(topology.DEAD_LETTER_QUEUE)
            if method is None:
                return out
            out.append((dict(properties.headers or {}), json.loads(body)))
            channel.basic_ack(method.delivery_tag)
    finally:
        connection.close()


def test_ingestion_e2e_dead_letters_a_malformed_event_and_stores_the_rest(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    truth = tmp_path / "truth.json"
    with simulator(seed=23, events=3000, malformed_events=4, export_truth=truth) as sim:
        listed = api_guids(sim.url)
        malformed = set(json.loads(truth.read_text())["malformed_guids"])
        assert len(malformed) == 4
        expected = {kind: [g for g in listed[kind] if g not in malformed] for kind in EventKind}
        with pipeline(sim.url, database_url, amqp_url) as pipe:
            pipe.start_consumers(1)
            pipe.start_producer()
            pipe.wait_stored(expected)
            wait_until(
                lambda: queue_depth(amqp_url, topology.DEAD_LETTER_QUEUE) >= len(malformed),
                timeout=30,
                what="the malformed events dead-lettered",
            )
            stop_cleanly(pipe)
    assert_exactly_once_in_api_order(database_url, expected)
    letters = dead_letters(amqp_url)
    assert {body["guid"] for _, body in letters} == malformed
    for headers, body in letters:
        reason = str(headers[topology.REASON_HEADER])
        # Broken app events carry instance_count "many"; broken service events lack a state.
        field = "instance_count" if body["kind"] == "app" else "state"
        assert reason.startswith(f"{field}:"), reason


def settled(database_url: str) -> bool:
    """Every kind's rows are 1..max(id) with no hole, and reach the producer's saved cursor."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.kind, c.sequence,"
            " (SELECT count(*) FROM app_usage_events), (SELECT max(id) FROM app_usage_events),"
            " (SELECT count(*) FROM service_usage_events),"
            " (SELECT max(id) FROM service_usage_events)"
            " FROM collector_cursors c"
        )
        rows = cursor.fetchall()
    conn.close()
    for kind, cursor_at, apps, app_max, services, service_max in rows:
        count, top = (apps, app_max) if kind == "app" else (services, service_max)
        if count != (top or 0) or count < cursor_at:
            return False
    return len(rows) == len(EventKind)


def test_ingestion_e2e_live_late_commits_skip_nothing(database_url: str, amqp_url: str) -> None:
    # Late events become visible 2s after their id is taken; the producer waits 4s.
    with simulator(
        seed=24, events=1000, live_rate=100, late_commit_fraction=0.3, late_commit_delay="2s"
    ) as sim:
        with pipeline(sim.url, database_url, amqp_url) as pipe:
            pipe.start_consumers(2)
            producer = pipe.start_producer(COLLECTOR_RECORD_MIN_AGE="4s")
            wait_until(
                lambda: total_stored(database_url) >= 1400, timeout=90, what="400 live events"
            )
            assert producer.stop() == 0
            wait_until(lambda: settled(database_url), timeout=60, what="the consumers to drain")
            stop_cleanly(pipe)
        # Anything not yet visible now is younger than anything the producer took.
        listed = api_guids(sim.url)
    for kind in EventKind:
        guids = [guid for guid, _ in stored_rows(database_url, kind)]
        assert guids == listed[kind][: len(guids)], f"{kind}: an event was skipped or moved"
