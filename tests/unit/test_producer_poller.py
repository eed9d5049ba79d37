"""The poller's decisions: min-age cut, waits, cursor advance, sequence continuity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import orjson

from producer import poller
from producer.cursor import Cursor
from producer.page import FetchedEvent
from shared.states import ApiVersion, EventKind

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
TIMING = poller.Timing(
    default_schedule=timedelta(minutes=1),
    min_wait=timedelta(seconds=3),
    record_min_age=timedelta(minutes=5),
)
SOURCE = poller.Source("default", EventKind.APP, ApiVersion.V2)


def event(age: timedelta | None, guid: str | None = None, text: object = None) -> FetchedEvent:
    guid = guid or str(uuid.uuid4())
    created = None if age is None else NOW - age
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ") if created else text
    resource = {"metadata": {"guid": guid, "created_at": stamp}, "entity": {"state": "STARTED"}}
    return FetchedEvent(guid, created, stamp, msgspec.Raw(orjson.dumps(resource)), False)


def plan(events: list[FetchedEvent], cursor: Cursor | None = None, limit: int = 5) -> poller.Plan:
    return poller.plan(
        events, cursor or Cursor(), source=SOURCE, now=NOW, fetch_limit=limit, timing=TIMING
    )


OLD = timedelta(minutes=10)
YOUNG = timedelta(seconds=30)


def test_poller_takes_every_event_older_than_min_age() -> None:
    events = [event(OLD) for _ in range(3)]
    result = plan(events)
    assert [m.guid for m in result.messages] == [e.guid for e in events]
    assert result.held_back is None


def test_poller_stops_at_first_young_event_and_never_skips_past_it() -> None:
    events = [event(OLD), event(YOUNG), event(OLD), event(OLD)]
    result = plan(events)
    assert [m.guid for m in result.messages] == [events[0].guid]
    assert result.held_back is events[1]
    assert result.cursor.after_guid == events[0].guid


def test_poller_publishes_nothing_when_first_event_is_young() -> None:
    cursor = Cursor(after_guid="g", last_created_at=NOW - OLD, sequence=7)
    result = plan([event(YOUNG), event(OLD)], cursor)
    assert result.messages == []
    assert result.cursor == cursor


def test_poller_event_exactly_min_age_old_is_taken() -> None:
    result = plan([event(TIMING.record_min_age)])
    assert len(result.messages) == 1


def test_poller_numbers_events_after_the_cursor_sequence() -> None:
    cursor = Cursor(after_guid="g", last_created_at=NOW - OLD, sequence=41)
    result = plan([event(OLD), event(OLD), event(OLD)], cursor)
    assert [m.sequence for m in result.messages] == [42, 43, 44]
    assert result.cursor.sequence == 44


def test_poller_sequence_is_continuous_across_pages() -> None:
    first = plan([event(OLD) for _ in range(5)])
    second = plan([event(OLD) for _ in range(2)], first.cursor)
    assert [m.sequence for m in first.messages + second.messages] == [1, 2, 3, 4, 5, 6, 7]


def test_poller_cursor_advances_to_last_taken_event_with_its_time() -> None:
    events = [event(OLD), event(timedelta(minutes=6)), event(YOUNG)]
    result = plan(events)
    assert result.cursor.after_guid == events[1].guid
    assert result.cursor.last_created_at == events[1].created_at


def test_poller_cursor_stays_on_empty_page() -> None:
    cursor = Cursor(after_guid="g", last_created_at=NOW - OLD, sequence=3)
    assert plan([], cursor).cursor == cursor


def test_poller_waits_min_wait_after_full_page() -> None:
    assert plan([event(OLD) for _ in range(5)], limit=5).wait == TIMING.min_wait


def test_poller_waits_default_schedule_after_short_page() -> None:
    assert plan([event(OLD) for _ in range(4)], limit=5).wait == TIMING.default_schedule
    assert plan([], limit=5).wait == TIMING.default_schedule


def test_poller_waits_until_held_back_event_is_old_enough_within_bounds() -> None:
    # 4m50s old with a 5m min age: ripe in 10s, between min wait (3s) and schedule (1m).
    result = plan([event(timedelta(minutes=4, seconds=50))] + [event(OLD)] * 4, limit=5)
    assert result.wait == timedelta(seconds=10)
    # Ripe in 4m30s: capped at the default schedule.
    assert plan([event(YOUNG)]).wait == TIMING.default_schedule
    # Ripe in 1s: not sooner than the min wait.
    assert plan([event(timedelta(minutes=4, seconds=59))]).wait == TIMING.min_wait


def test_poller_publishes_unparseable_and_far_future_events_with_a_warning() -> None:
    bad = event(None, text="not-a-time")
    future = event(-timedelta(days=30))
    result = plan([event(OLD), bad, future, event(OLD)])
    assert len(result.messages) == 4
    assert result.implausible == [bad, future]
    assert result.cursor.after_guid == result.messages[-1].guid


def test_poller_slightly_future_event_waits_like_a_young_one() -> None:
    result = plan([event(-timedelta(minutes=2))])
    assert result.messages == []


def test_poller_cursor_time_skips_unparseable_last_event() -> None:
    good = event(OLD)
    result = plan([good, event(None, text=None)])
    assert result.cursor.last_created_at == good.created_at


def test_poller_message_carries_resource_as_received() -> None:
    ev = event(OLD)
    message = plan([ev]).messages[0]
    assert message.resource == ev.resource
    assert (message.foundation, message.kind, message.api_version) == ("default", "app", "v2")


def test_poller_lost_cursor_restart_keeps_sequence_increasing() -> None:
    lost = Cursor(after_guid="gone", last_created_at=NOW - timedelta(days=40), sequence=100)
    restarted = poller.restart_after_lost(lost)
    assert restarted.after_guid is None
    assert restarted.sequence == 100
    result = plan([event(OLD), event(OLD)], restarted)
    assert [m.sequence for m in result.messages] == [101, 102]


def test_poller_gap_spans_last_known_event_to_first_event_back() -> None:
    lost = Cursor(after_guid="gone", last_created_at=NOW - timedelta(days=40), sequence=9)
    first = event(timedelta(days=30))
    gap = poller.gap(lost, first, "pruned")
    assert (gap.lost_guid, gap.gap_from, gap.gap_to, gap.resumed_guid) == (
        "gone",
        lost.last_created_at,
        first.created_at,
        first.guid,
    )
    empty = poller.gap(lost, None, "purged")
    assert empty.gap_to is None and empty.resumed_guid is None
