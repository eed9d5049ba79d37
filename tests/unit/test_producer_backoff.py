"""Backoff: exponential with jitter, capped at the default schedule, Retry-After honoured."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from shared import transport
from shared.backoff import Backoff


def test_backoff_grows_exponentially_within_jitter_bounds() -> None:
    backoff = Backoff(cap=60.0, base=1.0, rng=random.Random(1))
    for attempt in range(5):
        full = 2.0**attempt
        assert full / 2 <= backoff.next_delay() <= full


def test_backoff_is_capped_at_the_cap() -> None:
    backoff = Backoff(cap=60.0, base=1.0, rng=random.Random(2))
    delays = [backoff.next_delay() for _ in range(50)]
    assert max(delays) <= 60.0
    assert delays[-1] >= 30.0


def test_backoff_reset_starts_again_small() -> None:
    backoff = Backoff(cap=60.0, base=1.0, rng=random.Random(3))
    for _ in range(10):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_backoff_retry_after_is_a_floor() -> None:
    backoff = Backoff(cap=60.0, base=1.0, rng=random.Random(4))
    assert backoff.next_delay(retry_after=42.0) == 42.0


def test_backoff_retry_after_above_cap_is_honoured_but_bounded() -> None:
    backoff = Backoff(cap=5.0, base=1.0, rng=random.Random(5))
    assert backoff.next_delay(retry_after=120.0) == 120.0
    assert backoff.next_delay(retry_after=10**9) == 900.0


def test_backoff_zero_cap_still_waits_a_little() -> None:
    backoff = Backoff(cap=0.0, base=0.5, rng=random.Random(6))
    assert 0.25 <= backoff.next_delay() <= 0.5


def test_backoff_retry_after_header_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert transport.retry_after("7") == 7.0
    assert transport.retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert transport.retry_after("garbage") is None
    assert transport.retry_after(None) is None
