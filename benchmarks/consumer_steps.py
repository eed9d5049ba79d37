"""Instructions per event of the consumer's two Python steps: decode, and the COPY row.

    python benchmarks/consumer_steps.py [--events 500] [--rounds 10]

Counts CPU instructions with valgrind's callgrind, which gives the same count for the same
code and input whatever else the machine is doing, where timings on this shared machine move
by 20% and more. Runs itself under callgrind twice, with one round and with 1 + --rounds
rounds over the same --events pre-built events (half v2, half v3 app events), so that the
difference is the steps' cost alone, without start-up. Prints instructions per event.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from consumer import delivery, writer
from shared import events
from tests.support import callgrind
from tests.support import consumer_events as ev

STEPS = ("decode", "copy")


def bodies(count: int) -> list[delivery.Delivery]:
    return [
        delivery.Delivery(
            i, "app", None, events.encode(ev.message(i + 1, api_version="v2" if i % 2 else "v3"))
        )
        for i in range(count)
    ]


def work(step: str, count: int, rounds: int) -> None:
    """The measured loop (run under callgrind)."""
    deliveries = bodies(count)
    if step == "decode":
        for _ in range(rounds):
            for item in deliveries:
                delivery.decode(item)
        return
    accepted = [delivery.decode(item) for item in deliveries]
    items = [a for a in accepted if isinstance(a, delivery.Accepted)]
    assert len(items) == count
    for _ in range(rounds):
        writer.copy_text(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--work", choices=STEPS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        work(args.work, args.events, args.rounds)
        return 0
    for step in STEPS:
        count = callgrind.per_event(__file__, step, args.events, args.rounds)
        print(f"{step}: {count:,.0f} instructions per event", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
