"""The confirms of a page the publisher sent: which delivery tags the broker has settled."""

from __future__ import annotations


class Confirms:
    """A sent page's confirms: delivery tags [first, first + size), which are settled, and
    why any failed."""

    def __init__(self, first: int, size: int) -> None:
        self.first = first
        self.size = size
        self.settled = bytearray(size)
        self.unsettled = size
        self.low = 0  # every index below this is settled
        self.failures: list[str] = []

    def settle(self, tag: int, multiple: bool, reason: str | None) -> None:
        """Settle `tag` (and, when `multiple`, every tag before it); a reason is a failure.

        A multiple ack usually covers much of a page: the range is settled by slices rather
        than one index at a time.
        """
        index = tag - self.first
        if index < 0:
            return
        start, end = (self.low if multiple else index), min(index + 1, self.size)
        if start < end:
            newly = self.settled.count(0, start, end)
            self.settled[start:end] = b"\x01" * (end - start)
            self.unsettled -= newly
            if reason is not None:
                self.failures += [reason] * newly
        unsettled = self.settled.find(0, self.low)
        self.low = self.size if unsettled < 0 else unsettled
