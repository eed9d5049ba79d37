"""The real `python -m producer` (env only) against the simulator and the local broker.

Events are read back from the `usage_events` queue by a test consumer and compared with
what the simulator's API lists, kind by kind, in API order.
"""

from __future__ import annotations

import signal
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pika
import psycopg2
import pytest
import requests

from shared import events, topology
from shared.states import EventKind
from tests.simulator import fixtures
from tests.support import consumer_events as ev
from tests.support import processes
from tests.support.pipeline import api_guids, producer_env
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(240)


def cursor_sequences(database_url: str) -> dict[str, int]:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT kind, sequence FROM collector_cursors")
        return dict(cursor.fetchall())


def consume_all(amqp_url: str) -> list[events.Message]:
    """Everything in the events queue, in queue order (acknowledged, so removed)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=2000)
        out: list[events.Message] = []
        for method, _props, body in channel.consume(
            topology.EVENTS_QUEUE, auto_ack=True, inactivity_timeout=1.0
        ):
            if method is None:
                break
            out.append(ev.read(body))
        channel.cancel()
        return out
    finally:
        connection.close()


@dataclass
class Delivered:
    messages: list[events.Message]

    def guids(self, kind: EventKind) -> list[str]:
        return [m.guid for m in self.messages if m.kind is kind]

    def first_copies(self, kind: EventKind) -> list[events.Message]:
        seen: set[str] = set()
        out = []
        for m in sorted((m for m in self.messages if m.kind is kind), key=lambda m: m.sequence):
            if m.guid not in seen:
                seen.add(m.guid)
                out.append(m)
        return out


@pytest.fixture
def simulator_events() -> Iterator[fixtures.RunningSimulator]:
    with fixtures.start_simulator(seed=7, events=4000) as sim:
        yield sim


def run_until_caught_up(
    env: dict[str, str], database_url: str, expected: dict[EventKind, list[str]]
) -> processes.Process:
    process = processes.python_module("producer", env)
    want = {k.value: len(v) for k, v in expected.items()}
    try:
        wait_until(
            lambda: cursor_sequences(database_url) == want,
            timeout=120,
            interval=0.2,
            what=f"cursors to reach {want}",
        )
    except AssertionError:
        print(process.logs())
        raise
    return process


def test_producer_e2e_publishes_every_event_once_in_api_order(
    simulator_events: fixtures.RunningSimulator, database_url: str, amqp_url: str
) -> None:
    api = simulator_events.url
    expected = api_guids(api)
    env = producer_env(api, database_url, amqp_url)
    with processes.running(run_until_caught_up(env, database_url, expected)) as producer:
        assert producer.stop() == 0
    delivered = Delivered(consume_all(amqp_url))
    for kind in EventKind:
        assert delivered.guids(kind) == expected[kind]
        kind_messages = [m for m in delivered.messages if m.kind is kind]
        assert [m.sequence for m in kind_messages] == list(range(1, len(expected[kind]) + 1))


def test_producer_e2e_sigkill_then_restart_loses_nothing(database_url: str, amqp_url: str) -> None:
    with fixtures.start_simulator(seed=8, events=20000) as sim:
        expected = api_guids(sim.url)
        env = producer_env(sim.url, database_url, amqp_url)
        first = processes.python_module("producer", env)
        with processes.running(first):
            wait_until(
                lambda: sum(cursor_sequences(database_url).values()) > 3000,
                timeout=60,
                what="some progress",
            )
            first.kill()
        saved = cursor_sequences(database_url)
        with processes.running(run_until_caught_up(env, database_url, expected)) as second:
            assert second.stop() == 0
    delivered = Delivered(consume_all(amqp_url))
    for kind in EventKind:
        firsts = delivered.first_copies(kind)
        assert [m.guid for m in firsts] == expected[kind]
        assert [m.sequence for m in firsts] == list(range(1, len(expected[kind]) + 1))
        copies = Counter(delivered.guids(kind))
        repeated = [m for m in firsts if copies[m.guid] > 1]
        # Only events after the saved cursor (unconfirmed, or confirmed but unsaved) repeat.
        assert all(m.sequence > saved.get(kind.value, 0) for m in repeated)
        # A repeat carries the same sequence number as the first copy.
        by_guid = {m.guid: m.sequence for m in firsts}
        assert all(by_guid[m.guid] == m.sequence for m in delivered.messages if m.kind is kind)


def test_producer_e2e_rides_through_faults_and_short_tokens(
    database_url: str, amqp_url: str
) -> None:
    with fixtures.start_simulator(seed=9, events=3000, fault_rate=0.2, token_ttl="3s") as sim:
        expected = api_guids(sim.url)
        env = producer_env(sim.url, database_url, amqp_url)
        producer = run_until_caught_up(env, database_url, expected)
        with processes.running(producer):
            wait_until(
                lambda: producer.logs().count("uaa_token_obtained") >= 2,
                timeout=30,
                what="a renewed token",
            )
            assert producer.stop() == 0
            logs = producer.logs()
    assert "cf_api_unavailable" in logs
    delivered = Delivered(consume_all(amqp_url))
    for kind in EventKind:
        assert delivered.guids(kind) == expected[kind]


def test_producer_e2e_purge_records_gap_and_keeps_running(database_url: str, amqp_url: str) -> None:
    with fixtures.start_simulator(seed=10, events=1500, purge_at="6s") as sim:
        env = producer_env(sim.url, database_url, amqp_url)
        producer = processes.python_module("producer", env)
        with processes.running(producer):

            def gap_rows() -> list[tuple[str, str | None]]:
                with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
                    cursor.execute("SELECT kind, resumed_guid FROM collection_gaps")
                    return cursor.fetchall()

            wait_until(lambda: len(gap_rows()) == 2, timeout=60, what="two gaps")
            gaps = gap_rows()
            after_purge = api_guids(sim.url)
            want = {k.value: 0 for k in EventKind}
            wait_until(
                lambda: producer_caught_up(amqp_url, after_purge, want),
                timeout=60,
                what="the reseeded events",
            )
            assert producer.alive()
            assert producer.stop() == 0
            assert "cursor_lost" in producer.logs()
    assert {kind for kind, _ in gaps} == {"app", "service"}


def producer_caught_up(
    amqp_url: str, expected: dict[EventKind, list[str]], _want: dict[str, int]
) -> bool:
    """Drains the queue into a module-level buffer and checks the reseeded guids arrived."""
    _BUFFER.extend(consume_all(amqp_url))
    got = Delivered(_BUFFER)
    return all(set(expected[k]) <= set(got.guids(k)) for k in EventKind)


_BUFFER: list[events.Message] = []


def test_producer_e2e_live_late_commits_lose_nothing(database_url: str, amqp_url: str) -> None:
    with fixtures.start_simulator(
        seed=11, events=300, live_rate=40, late_commit_fraction=0.3, late_commit_delay="2s"
    ) as sim:
        env = producer_env(sim.url, database_url, amqp_url, COLLECTOR_RECORD_MIN_AGE="4s")
        producer = processes.python_module("producer", env)
        with processes.running(producer):
            wait_until(
                lambda: sum(cursor_sequences(database_url).values()) > 600,
                timeout=60,
                what="live events to flow",
            )
            assert producer.stop() == 0
        listed = api_guids(sim.url)
    delivered = Delivered(consume_all(amqp_url))
    for kind in EventKind:
        guids = delivered.guids(kind)
        assert len(guids) == len(set(guids))
        if not guids:
            continue
        # Everything the API lists up to our last published event was published, in order.
        position = listed[kind].index(guids[-1])
        assert guids == listed[kind][: position + 1]


def test_producer_e2e_second_sigterm_exits_at_once(database_url: str, amqp_url: str) -> None:
    env = producer_env("http://127.0.0.1:9", database_url, amqp_url)  # an API that never answers
    producer = processes.python_module("producer", env)
    with processes.running(producer):
        wait_until(lambda: "foundation_lock_acquired" in producer.logs(), what="start")
        producer.signal(signal.SIGTERM)
        assert producer.stop() in (0, 128 + signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_producer_e2e_second_producer_waits_for_the_foundation_lock_and_takes_over(
    simulator_events: fixtures.RunningSimulator, database_url: str, amqp_url: str
) -> None:
    api = simulator_events.url
    expected = api_guids(api)
    port = free_port()
    env = producer_env(api, database_url, amqp_url, METRICS_PORT=str(port))
    first = run_until_caught_up(env, database_url, expected)
    with processes.running(first):
        second = processes.python_module("producer", producer_env(api, database_url, amqp_url))
        with processes.running(second):
            wait_until(
                lambda: "waiting_for_foundation_lock" in second.logs(), what="the second to wait"
            )
            metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert 'paas_billing_producer_events_published_total{kind="app"}' in metrics
            assert "paas_billing_producer_cursor_lag_seconds" in metrics
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200
            assert health.json() == {
                "status": "ok", "schema": True, "broker": True, "database": True, "poll": True,
            }  # fmt: skip
            alive = requests.get(f"http://127.0.0.1:{port}/livez", timeout=5)
            assert alive.status_code == 200
            assert first.stop() == 0
            wait_until(
                lambda: "foundation_lock_acquired" in second.logs(), what="the second to take over"
            )
            assert second.stop() == 0
    delivered = Delivered(consume_all(amqp_url))
    for kind in EventKind:
        assert delivered.guids(kind) == expected[kind]
