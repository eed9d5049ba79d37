"""The real consumer process: config errors, SIGTERM, SIGKILL mid-run, several at once."""

from __future__ import annotations

import signal

import psycopg2
import pytest

from shared import topology
from tests.support import consumer_events as ev
from tests.support import processes
from tests.support.wait import wait_until


def _env(database_url: str, amqp_url: str, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "AMQP_URL": amqp_url, "LOG_LEVEL": "INFO", **extra}


def test_consumer_exits_2_naming_a_bad_variable(database_url: str, amqp_url: str) -> None:
    env = _env(database_url, amqp_url, CONSUMER_BATCH_WAIT="soon")
    with processes.running(processes.python_module("consumer", env)) as proc:
        assert proc.popen.wait(timeout=30) == 2
        lines = proc.logs().strip().splitlines()
    assert len(lines) == 1
    assert "CONSUMER_BATCH_WAIT" in lines[0] and "soon" in lines[0]


def test_consumer_exits_2_when_database_url_is_missing(amqp_url: str) -> None:
    with processes.running(processes.python_module("consumer", {"AMQP_URL": amqp_url})) as proc:
        assert proc.popen.wait(timeout=30) == 2
        assert proc.logs().strip() == "configuration error: DATABASE_URL is required but not set"


def test_consumer_sigterm_commits_its_batch_and_exits_0(database_url: str, amqp_url: str) -> None:
    # A long batch wait: the batch in hand is only written because of the SIGTERM.
    env = _env(database_url, amqp_url, CONSUMER_BATCH_WAIT="50s", CONSUMER_BATCH_SIZE="1000")
    messages = [ev.message(i) for i in range(1, 101)]
    with (
        ev.publisher(amqp_url) as pub,
        processes.running(processes.python_module("consumer", env)) as proc,
    ):
        wait_until(lambda: "consuming" in proc.logs(), what="consumer started")
        pub.publish_messages(messages)
        wait_until(lambda: pub.queue_depth(topology.EVENTS_QUEUE) == 0, what="all delivered to it")
        assert ev.count_rows(database_url) == 0
        assert proc.stop() == 0
        wait_until(lambda: pub.queue_depth(topology.EVENTS_QUEUE) == 0, what="nothing requeued")
        assert ev.count_rows(database_url) == 100


@pytest.mark.slow
def test_consumer_sigkill_mid_run_loses_and_doubles_nothing(
    database_url: str, amqp_url: str
) -> None:
    total = 20_000
    env = _env(database_url, amqp_url, CONSUMER_BATCH_SIZE="200", CONSUMER_PREFETCH="400")
    with ev.publisher(amqp_url) as pub:
        pub.publish_messages(ev.message(i) for i in range(1, total + 1))
        with processes.running(processes.python_module("consumer", env)) as victim:
            wait_until(lambda: ev.count_rows(database_url) > 2_000, timeout=60, what="progress")
            victim.kill()
        assert ev.count_rows(database_url) < total
        with processes.running(processes.python_module("consumer", env)) as survivor:
            wait_until(lambda: ev.count_rows(database_url) == total, timeout=120, what="all stored")
            wait_until(lambda: pub.queue_depth(topology.EVENTS_QUEUE) == 0, what="drained")
            assert survivor.stop() == 0
    rows = ev.query(
        database_url,
        "SELECT count(*), count(DISTINCT guid), min(id), max(id) FROM app_usage_events",
    )
    assert rows == [(total, total, 1, total)]


@pytest.mark.slow
@pytest.mark.parametrize("consumers", [2, 3])
def test_consumer_several_at_once_store_each_guid_once_in_order(
    database_url: str, amqp_url: str, consumers: int
) -> None:
    total = 20_000
    messages = [ev.message(i, kind="app" if i % 5 else "service") for i in range(1, total + 1)]
    env = _env(database_url, amqp_url, CONSUMER_BATCH_SIZE="300", CONSUMER_PREFETCH="600")
    with ev.publisher(amqp_url) as pub:
        pub.publish_messages(messages[: total // 2])
        procs = [processes.python_module("consumer", env) for _ in range(consumers)]
        try:
            pub.publish_messages(messages[total // 2 :])
            pub.publish_messages(messages[:500])  # a producer retry: the same events again

            def stored() -> int:
                return ev.count_rows(database_url) + ev.count_rows(
                    database_url, "service_usage_events"
                )

            wait_until(lambda: stored() == total, timeout=120, what="all stored")
            wait_until(lambda: pub.queue_depth(topology.EVENTS_QUEUE) == 0, what="drained")
            for proc in procs:
                assert proc.stop() == 0, proc.logs()[-2000:]
            assert "event_dead_lettered" not in "".join(p.logs() for p in procs)
        finally:
            for proc in procs:
                proc.close()
    for table, kind in (("app_usage_events", "app"), ("service_usage_events", "service")):
        rows = ev.query(database_url, f"SELECT guid, id FROM {table} ORDER BY id")
        expected = [(m.guid, m.sequence) for m in messages if m.kind.value == kind]
        assert rows == expected


def test_consumer_second_sigterm_exits_at_once(database_url: str, amqp_url: str) -> None:
    env = _env(database_url, amqp_url, CONSUMER_BATCH_WAIT="0s")
    blocker = psycopg2.connect(database_url)
    try:
        with (
            ev.publisher(amqp_url) as pub,
            processes.running(processes.python_module("consumer", env)) as proc,
        ):
            wait_until(lambda: "consuming" in proc.logs(), what="consumer started")
            with blocker.cursor() as cursor:  # the batch in hand cannot be written
                cursor.execute("LOCK TABLE app_usage_events IN ACCESS EXCLUSIVE MODE")
            pub.publish_messages([ev.message(1)])
            wait_until(
                lambda: (
                    ev.query(
                        database_url,
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND application_name = 'paas-billing-consumer'",
                    )[0][0]
                    == 1
                ),
                what="consumer blocked writing",
            )
            proc.signal(signal.SIGTERM)
            wait_until(lambda: "stop_requested" in proc.logs(), what="first SIGTERM seen")
            assert proc.alive()
            proc.signal(signal.SIGTERM)
            assert proc.popen.wait(timeout=10) == 143
            blocker.rollback()
            wait_until(lambda: pub.queue_depth(topology.EVENTS_QUEUE) == 1, what="requeued")
    finally:
        blocker.close()
    assert ev.count_rows(database_url) == 0
