"""Backpressure: a producer with nobody consuming, and a broker that stops reading (what a
memory alarm does to publishers, simulated by the proxy pausing reads), keeps bounded memory
and never moves its cursor past an event the broker does not hold."""

from __future__ import annotations

import time
from pathlib import Path

import pika
import psycopg2
import pytest

from shared import topology
from tests.resilience import scenario
from tests.support.pipeline import FAST_PRODUCER
from tests.support.wait import wait_until

# Events in the history: enough that holding them all would show in the producer's memory.
EVENTS = 20_000
# Seconds the broker path stops reading.
PAUSE_SECONDS = 10
# Most the producer's resident memory may grow from its first page to the end, in MiB.
MAX_GROWTH_MIB = 40


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def queue_depth(amqp_url: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        topology.declare_events(channel)  # as every process does; harmless when it exists
        declared = channel.queue_declare(topology.EVENTS_QUEUE, passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


def cursor_total(database_url: str) -> int:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT coalesce(sum(sequence), 0) FROM collector_cursors")
            row = cursor.fetchone()
        return int(row[0]) if row else 0
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_backpressure_bounded_memory_and_cursor_never_passes_the_broker(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    with scenario.world(database_url, amqp_url, tmp_path, seed=13, events=EVENTS) as w:
        producer = w.pipe.start_producer(**FAST_PRODUCER)
        samples: list[tuple[int, int]] = []  # (cursor, queue depth)
        rss: list[float] = []

        def observe() -> tuple[int, int]:
            cursor = cursor_total(w.database_url)  # first the cursor, then what the queue holds
            depth = queue_depth(w.amqp_url)
            samples.append((cursor, depth))
            rss.append(rss_mib(producer.pid))
            return cursor, depth

        wait_until(lambda: observe()[0] >= 500, timeout=120, what="first pages confirmed")
        baseline = rss[-1]  # after start-up (imports, connections) and the first pages
        w.broker_proxy.pause_reads()
        paused_at = time.monotonic()
        wait_until(
            lambda: observe() and time.monotonic() - paused_at >= PAUSE_SECONDS,
            timeout=PAUSE_SECONDS + 30,
            interval=0.2,
        )
        during_pause = samples[-1]
        w.broker_proxy.resume_reads()
        resumed = time.monotonic()
        wait_until(lambda: observe()[0] >= EVENTS, timeout=300, interval=0.2, what="all sent")
        published = time.monotonic()
        assert producer.alive()
        assert queue_depth(w.amqp_url) == EVENTS  # nobody consumed: the queue holds them all

        w.pipe.start_consumers(2)
        scenario.wait_all_stored(w)
        counts = scenario.assert_database_equals_history(w)
        assert set(w.pipe.stop_all().values()) == {0}

    passed = [(c, d) for c, d in samples if c > d]
    assert not passed, f"cursor ahead of the queue: {passed[:5]}"
    growth = max(rss[rss.index(baseline) :]) - baseline
    assert growth < MAX_GROWTH_MIB, f"producer RSS grew {growth:.1f} MiB"
    scenario.record(
        fault="broker stops reading (blocked publisher), no consumer",
        seconds=PAUSE_SECONDS,
        events=sum(counts.values()),
        stored=sum(counts.values()),
        lost=0,
        duplicates=0,
        cursor_during_pause=during_pause[0],
        queue_during_pause=during_pause[1],
        producer_rss_mib=f"{baseline:.0f} -> max {baseline + growth:.0f}",
        all_published_after_s=round(published - resumed, 2),
    )
