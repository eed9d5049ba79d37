"""A page's Confirms settle its delivery tags from the broker's acks and nacks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from producer.confirms import Confirms


class OneByOne:
    """The obvious confirms, settling one index at a time: what Confirms must agree with."""

    def __init__(self, first: int, size: int) -> None:
        self.first, self.size = first, size
        self.settled = bytearray(size)
        self.unsettled, self.low = size, 0
        self.failures: list[str] = []

    def settle(self, tag: int, multiple: bool, reason: str | None) -> None:
        index = tag - self.first
        if index < 0:
            return
        chosen = range(self.low, min(index + 1, self.size)) if multiple else [index]
        for i in chosen:
            if i < self.size and not self.settled[i]:
                self.settled[i] = 1
                self.unsettled -= 1
                if reason is not None:
                    self.failures.append(reason)
        while self.low < self.size and self.settled[self.low]:
            self.low += 1


confirms = st.tuples(
    st.integers(min_value=-2, max_value=12),  # tag relative to the confirms's first
    st.booleans(),
    st.sampled_from([None, None, "nacked by the broker"]),
)


@settings(max_examples=500, deadline=None)
@given(
    first=st.integers(min_value=1, max_value=1000),
    size=st.integers(min_value=0, max_value=10),
    steps=st.lists(confirms, max_size=8),
)
def test_producer_confirms_settles_as_one_index_at_a_time(
    first: int, size: int, steps: list[tuple[int, bool, str | None]]
) -> None:
    confirms, expected = Confirms(first, size), OneByOne(first, size)
    for offset, multiple, reason in steps:
        confirms.settle(first + offset, multiple, reason)
        expected.settle(first + offset, multiple, reason)
        assert (confirms.settled, confirms.unsettled, confirms.low, confirms.failures) == (
            expected.settled,
            expected.unsettled,
            expected.low,
            expected.failures,
        )


def test_producer_confirms_one_multiple_ack_settles_the_page() -> None:
    confirms = Confirms(101, 500)
    confirms.settle(350, True, None)
    assert (confirms.unsettled, confirms.low) == (250, 250)
    confirms.settle(600, True, None)
    assert (confirms.unsettled, confirms.low, confirms.failures) == (0, 500, [])
