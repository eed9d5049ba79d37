"""Where imported events go in API order: decided once, on an import's first run.

`id` orders a foundation's events as the CF API listed them, so an imported event keeps its
source order (id = source id + an offset) and goes where its time puts it against the events
stored for the foundation: before the oldest of them, or after the newest. Whatever falls
inside the stored history could only be placed by renumbering stored events, which nothing
here does; it is left out and reported.

A producer numbers its events after the highest id it finds stored (on its first run) or
after its cursor; while one runs, or has ever run (it left a cursor), the ids above the stored
ones are its own, and the ids it has handed out may not all be stored yet (consumers commit
out of order). So with a producer the block of imported events ends at 0 at the highest,
below every id a producer ever gives, and nothing goes after the stored history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StoredHistory:
    """The foundation's events in one table on the first run (all None when it held none)."""

    lowest_id: int | None
    highest_id: int | None
    oldest_at: datetime | None
    newest_at: datetime | None

    @property
    def empty(self) -> bool:
        return self.lowest_id is None


@dataclass(frozen=True)
class Placement:
    """id = source id + before_offset for an event older than the stored history (every event
    when there was none), up to before_max_id (None: no bound); id = source id + after_offset
    for one newer than it (None: none goes there)."""

    before_offset: int
    before_max_id: int | None
    after_offset: int | None

    @property
    def uses_ids_above(self) -> bool:
        """True when some events may take ids above every stored one: only while no producer
        numbers the foundation's events, and holding the producer's lock meanwhile."""
        return self.before_max_id is None or self.after_offset is not None


def decide(
    stored: StoredHistory, source_min_id: int, source_max_id: int, producer: bool
) -> Placement:
    """The placement of a source whose ids run from source_min_id to source_max_id.

    - Nothing stored, no producer: the events keep their source ids (offset 0), which
      operators can cross-reference with the old collector.
    - Nothing stored, a producer: the block ends at 0.
    - Events stored: older events end just below the lowest stored id (and at 0 at the
      highest with a producer); newer ones start just above the highest, without a producer.
    """
    if stored.lowest_id is None or stored.highest_id is None:
        if producer:
            return Placement(before_offset=-source_max_id, before_max_id=0, after_offset=None)
        return Placement(before_offset=0, before_max_id=None, after_offset=None)
    block_end = (min(stored.lowest_id, 1) if producer else stored.lowest_id) - 1
    return Placement(
        before_offset=block_end - source_max_id,
        before_max_id=block_end,
        after_offset=None if producer else stored.highest_id + 1 - source_min_id,
    )
