"""A batch of deliveries on its way to the database: full at a size, due after a wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from consumer.delivery import Accepted, Rejected
from shared.states import EventKind


class Batch:
    """Collects decoded deliveries; each (kind, guid) is stored once, repeats are acked."""

    def __init__(
        self, size: int, wait_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.wait_seconds = wait_seconds
        self._clock = clock
        self.accepted: list[Accepted] = []
        self.rejected: list[Rejected] = []
        self.repeats: dict[EventKind, int] = dict.fromkeys(EventKind, 0)
        self.last_tag: int | None = None
        self._started: float | None = None
        self._seen: set[tuple[EventKind, str]] = set()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, item: Accepted | Rejected) -> None:
        """Add a decoded delivery (in delivery order)."""
        if self._started is None:
            self._started = self._clock()
        self._count += 1
        tag = item.delivery.tag
        self.last_tag = tag if self.last_tag is None else max(self.last_tag, tag)
        if isinstance(item, Rejected):
            self.rejected.append(item)
            return
        key = (item.event.kind, item.event.guid)
        if key in self._seen:
            self.repeats[item.event.kind] += 1
            return
        self._seen.add(key)
        self.accepted.append(item)

    def full(self) -> bool:
        return self._count >= self.size

    def due(self) -> bool:
        """Full, or holding something that has waited the batch wait."""
        if self._started is None:
            return False
        return self.full() or self._clock() - self._started >= self.wait_seconds

    def age(self) -> float:
        """Seconds since the first delivery was added (0 when empty)."""
        return 0.0 if self._started is None else self._clock() - self._started
