"""Batch assembly: size, wait, dedupe within a batch, ack up to the last tag."""

from __future__ import annotations

import orjson

from consumer import delivery
from consumer.batch import Batch
from shared import events
from shared.states import EventKind
from tests.support import consumer_events as ev


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _decoded(
    tag: int, body: bytes, routing_key: str = "app"
) -> delivery.Accepted | delivery.Rejected:
    return delivery.decode(delivery.Delivery(tag, routing_key, None, body))


def test_batch_is_full_at_its_size() -> None:
    batch = Batch(3, 10.0, FakeClock())
    for tag in (1, 2):
        batch.add(_decoded(tag, events.encode(ev.message(tag))))
    assert not batch.full() and not batch.due()
    batch.add(_decoded(3, b"not json"))
    assert batch.full() and batch.due()
    assert (len(batch), len(batch.accepted), len(batch.rejected), batch.last_tag) == (3, 2, 1, 3)


def test_batch_is_due_after_the_wait_and_empty_never() -> None:
    clock = FakeClock()
    batch = Batch(100, 0.05, clock)
    clock.now += 10
    assert not batch.due()
    batch.add(_decoded(7, events.encode(ev.message(1))))
    assert not batch.due()
    clock.now += 0.25
    assert batch.due() and batch.age() == 0.25


def test_batch_keeps_the_first_of_a_repeated_guid_and_counts_the_rest() -> None:
    clock = FakeClock()
    first = ev.message(1)
    batch = Batch(10, 1.0, clock)
    for tag, body in enumerate(
        [events.encode(first), events.encode(ev.message(2)), events.encode(first)], 1
    ):
        batch.add(_decoded(tag, body))
    service = ev.message(1, kind="service", guid=first.guid)  # another table: not a repeat
    batch.add(_decoded(4, events.encode(service), "service"))
    assert [a.delivery.tag for a in batch.accepted] == [1, 2, 4]
    assert batch.repeats == {EventKind.APP: 1, EventKind.SERVICE: 0}
    assert batch.last_tag == 4 and len(batch) == 4


def test_batch_last_tag_is_the_highest_tag() -> None:
    batch = Batch(10, 1.0, FakeClock())
    for tag in (5, 9, 7):
        batch.add(_decoded(tag, orjson.dumps({"x": tag})))
    assert batch.last_tag == 9
