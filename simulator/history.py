"""Drives a World through a history: a reseed snapshot, then actions spread over the days.

`generate` is a lazy stream of exactly `events` rows with non-decreasing created_at.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from simulator.recorder import TruthRecorder
from simulator.rows import Malformed, Row
from simulator.world import World

# Average events per action, the starting guess of the pacing (it learns the real value).
_EVENTS_PER_ACTION = 2.0


def world_for(seed: int, events: int, start: int, recorder: TruthRecorder) -> World:
    """A world sized to the history: about one app per 150 events."""
    rng = random.Random(seed)
    apps = min(max(events // 150, 3), 50_000)
    world = World(rng, recorder, apps)
    world.populate(apps, max(apps // 3, 2), start)
    return world


def malformed_positions(events: int, malformed: int) -> set[int]:
    """Where the broken events go: evenly spread, never inside the first snapshot."""
    if malformed <= 0:
        return set()
    step = events / (malformed + 1)
    return {int(step * (k + 1)) for k in range(malformed)}


def generate(world: World, start: int, end: int, events: int, malformed: int = 0) -> Iterator[Row]:
    """The history's rows, lazily: a snapshot at `start`, then actions paced to end by `end`."""
    marks = malformed_positions(events, malformed)
    produced = 0
    last = start
    stream = _paced(world, start, end, lambda: events - produced)
    snapshot = world.snapshot(start)
    while produced < events:
        if produced in marks and produced > 0:
            kind = Malformed.BAD_INSTANCE_COUNT if len(marks) % 2 else Malformed.MISSING_STATE
            marks.discard(produced)
            row = world.malformed(last, kind)
        else:
            row = next(snapshot, None) or next(stream)
        last = row.created
        produced += 1
        yield row


def _paced(world: World, start: int, end: int, remaining: Callable[[], int]) -> Iterator[Row]:
    """Actions at random moments, spaced so the remaining events land before `end`."""
    pacer = random.Random(world.rng.getrandbits(64))
    clock = float(start)
    actions = 0
    emitted = 0
    while True:
        per_action = emitted / actions if actions > 20 else _EVENTS_PER_ACTION
        left = max(remaining() - world.pending() * 1.2, 1.0)
        gap = (end - clock) * per_action / left
        clock = min(clock + pacer.expovariate(1.0 / gap) if gap > 0 else clock, float(end))
        now = int(clock)
        for row in world.run_due(now):
            emitted += 1
            yield row
        actions += 1
        for row in world.act(now):
            emitted += 1
            yield row
