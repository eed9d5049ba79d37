"""Instructions per event of the producer's Python steps: parse, plan, body, content.

    python benchmarks/producer_steps.py [--events 500] [--rounds 10] [--steps parse_v2 ...]

Counts CPU instructions with valgrind's callgrind, which gives the same count for the same
code and input whatever else the machine is doing, where timings on this shared machine move
by 20% and more. Runs itself under callgrind twice per step, with one round and with
1 + --rounds rounds over the same page of --events app events (v2 or v3, built with the
tests' CF resource helpers), so that the difference is the step's cost alone, without
start-up and without building the input. Prints instructions per event.

The steps are the producer's path from a fetched page to the frames it writes, and back
to the confirms: `page.parse_page`, `poller.plan`, `events.encode` (the body),
`amqp_frames.writing.content`, the whole of `publisher.Publisher.send` (body, frames, the
join; the socket write left out), and a page's confirms settled by one multiple ack
(`confirms.Confirms.settle`).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from producer import confirms, page, poller, publisher
from producer.cursor import Cursor
from shared import events as shared_events
from shared.amqp_frames import writing
from shared.states import ApiVersion, EventKind
from tests.support import callgrind
from tests.support import cf_resources as cf

STAGES = ("parse", "plan", "body", "content", "send")
STEPS = (*(f"{stage}_{version}" for stage in STAGES for version in ("v2", "v3")), "settle")
# When the page's events were created, and "now" for the plan: every event is old enough.
START = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TIMING = poller.Timing(timedelta(minutes=1), timedelta(seconds=3), timedelta(minutes=5))
# The frame size RabbitMQ negotiates by default (frame_max 131072 less the frame overhead).
MAX_BODY = 131064


def page_body(version: ApiVersion, events: int) -> bytes:
    """A list page of app events as the API serves it."""
    stamps = [(START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(events)]
    resources: list[dict[str, Any]]
    if version is ApiVersion.V2:
        resources = [cf.v2_resource(cf.v2_app_entity(), created_at=s) for s in stamps]
        return orjson.dumps({"total_results": events, "resources": resources})
    resources = [cf.v3_app_resource(created_at=s) for s in stamps]
    return orjson.dumps({"pagination": {"total_results": events}, "resources": resources})


def plan(version: ApiVersion, events: list[page.FetchedEvent]) -> poller.Plan:
    source = poller.Source("default", EventKind.APP, version)
    return poller.plan(
        events, Cursor(), source=source, now=NOW, fetch_limit=len(events), timing=TIMING
    )


def work(step: str, events: int, rounds: int) -> None:
    """The measured loop (run under callgrind)."""
    if step == "settle":
        for _ in range(rounds):
            confirms.Confirms(1, events).settle(events, True, None)
        return
    stage, _, name = step.partition("_")
    version = ApiVersion(name)
    body = page_body(version, events)
    if stage == "parse":
        for _ in range(rounds):
            page.parse_page(version, body)
        return
    fetched = page.parse_page(version, body)
    if stage == "plan":
        for _ in range(rounds):
            plan(version, fetched)
        return
    messages = plan(version, fetched).messages
    assert len(messages) == events
    if stage == "body":
        for _ in range(rounds):
            for message in messages:
                shared_events.encode(message)
        return
    if stage == "content":
        payloads = [(shared_events.encode(m), m.guid) for m in messages]
        for _ in range(rounds):
            for payload, guid in payloads:
                writing.content(1, payload, guid, MAX_BODY)
        return
    sender = sending_publisher()
    for _ in range(rounds):
        sender.send(messages)
        sender._in_flight.clear()


class _Socket:
    """Stands for the connection and channel of an open publisher: send() joins, no write."""

    channel_number = 1
    max_body = MAX_BODY

    def emit(self, pieces: list[bytes], frames: int) -> None:
        b"".join(pieces)


def sending_publisher() -> publisher.Publisher:
    """A Publisher that takes itself for open, on a connection that only joins the frames."""
    sender = publisher.Publisher("amqp://guest:guest@127.0.0.1:5672/%2f")
    socket: Any = _Socket()
    sender._conn = sender._channel = socket
    sender._ready = True
    sender._hand_written = True
    return sender


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=STEPS)
    parser.add_argument("--work", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        work(args.work, args.events, args.rounds)
        return 0
    for step in args.steps:
        count = callgrind.per_event(__file__, step, args.events, args.rounds)
        print(f"{step}: {count:,.0f} instructions per event", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
