"""Exponential backoff with jitter, capped, with a floor from the server's Retry-After.

The one backoff of every process: the producer's CF API retries and broker/database
reconnects, the consumer's and the reporter's waits for the broker and the database.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# The first retry waits about this many seconds.
BASE_SECONDS = 0.5
# Longest wait for a broker or database to come back, in seconds (the default cap).
CAP_SECONDS = 30.0
# A Retry-After beyond this many seconds is treated as this (a bogus header must not park us).
MAX_RETRY_AFTER_SECONDS = 900.0


@dataclass
class Backoff:
    """Delays of base x 2^n, jittered to [d/2, d], capped at `cap`; reset after a success."""

    cap: float = CAP_SECONDS
    base: float = BASE_SECONDS
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """The wait before the next attempt; at least Retry-After when the server gave one."""
        ceiling = max(self.cap, self.base)
        full = min(ceiling, self.base * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        delay: float = full / 2 + self.rng.uniform(0, full / 2)
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay

    def reset(self) -> None:
        self.attempts = 0
