"""Pure decisions of one poll: what to publish, where the cursor goes, when to poll next.

No I/O here, so every rule that protects the money is unit-tested without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from producer.cursor import Cursor, Gap
from producer.page import FetchedEvent
from shared import events
from shared.states import ApiVersion, EventKind


@dataclass(frozen=True, slots=True)
class Timing:
    """The collector's waits (COLLECTOR_*)."""

    default_schedule: timedelta
    min_wait: timedelta
    record_min_age: timedelta


@dataclass(frozen=True, slots=True)
class Source:
    """Which stream a poll reads: foundation, kind and API version."""

    foundation: str
    kind: EventKind
    api_version: ApiVersion


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do with a fetched page."""

    # Messages to publish, in API order, with consecutive sequence numbers.
    messages: list[events.Message]
    # The cursor to save once the broker has confirmed every message.
    cursor: Cursor
    # How long to wait before the next poll of this kind.
    wait: timedelta
    # The first event too young to hand over (and everything after it waits), if any.
    held_back: FetchedEvent | None
    # Events published although their created_at is unparseable or absurdly in the future.
    implausible: list[FetchedEvent]


def plan(
    fetched: Sequence[FetchedEvent],
    cursor: Cursor,
    *,
    source: Source,
    now: datetime,
    fetch_limit: int,
    timing: Timing,
) -> Plan:
    """Decide a page: stop at the first young event, number the rest, move the cursor."""
    taken, held_back, implausible = take_old_enough(fetched, now, timing.record_min_age)
    foundation, kind, version = source.foundation, source.kind, source.api_version
    messages = [
        events.Message(foundation, kind, version, sequence, event.guid, event.resource)
        for sequence, event in enumerate(taken, start=cursor.sequence + 1)
    ]
    return Plan(
        messages=messages,
        cursor=advance(cursor, taken),
        wait=next_wait(len(fetched), fetch_limit, held_back, now, timing),
        held_back=held_back,
        implausible=implausible,
    )


def take_old_enough(
    fetched: Sequence[FetchedEvent], now: datetime, min_age: timedelta
) -> tuple[list[FetchedEvent], FetchedEvent | None, list[FetchedEvent]]:
    """The events before the first one younger than min_age; never skips past that one.

    An event whose time is unparseable or absurdly far in the future cannot ever become old
    enough, so it is taken (and reported) rather than blocking the stream forever.
    """
    taken: list[FetchedEvent] = []
    implausible: list[FetchedEvent] = []
    latest = now + events.MAX_FUTURE_SKEW
    for event in fetched:
        created = event.created_at
        if created is None or created > latest:
            implausible.append(event)
        elif now - created < min_age:
            return taken, event, implausible
        taken.append(event)
    return taken, None, implausible


def advance(cursor: Cursor, taken: Sequence[FetchedEvent]) -> Cursor:
    """The cursor after `taken` is confirmed: the last guid, the sequence moved by len(taken)."""
    if not taken:
        return cursor
    last_time = cursor.last_created_at
    for event in reversed(taken):
        if event.created_at is not None:
            last_time = event.created_at
            break
    return Cursor(
        after_guid=taken[-1].guid,
        last_created_at=last_time,
        sequence=cursor.sequence + len(taken),
    )


def next_wait(
    fetched: int,
    fetch_limit: int,
    held_back: FetchedEvent | None,
    now: datetime,
    timing: Timing,
) -> timedelta:
    """A full page handed over entirely: the minimum wait (more is waiting). A page cut at a
    young event: until that event is old enough, between the minimum wait and the default
    schedule. Otherwise (a short page): the default schedule."""
    if held_back is not None and held_back.created_at is not None:
        ripe_in = held_back.created_at + timing.record_min_age - now
        return max(timing.min_wait, min(timing.default_schedule, ripe_in))
    if fetched >= fetch_limit:
        return timing.min_wait
    return timing.default_schedule


def restart_after_lost(cursor: Cursor) -> Cursor:
    """After the API lost our guid: read from its oldest event, never reusing a sequence."""
    return Cursor(after_guid=None, last_created_at=cursor.last_created_at, sequence=cursor.sequence)


def gap(lost: Cursor, first: FetchedEvent | None, reason: str) -> Gap:
    """The period that may be incomplete: from our last event to the first we got back."""
    return Gap(
        lost_guid=lost.after_guid or "",
        gap_from=lost.last_created_at,
        gap_to=first.created_at if first is not None else None,
        resumed_guid=first.guid if first is not None else None,
        reason=reason,
    )
