"""Where imported events go in id order, decided on an import's first run."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from paas_billing.import_placement import Placement, StoredHistory, decide

EMPTY = StoredHistory(None, None, None, None)
T1, T2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


def test_import_placement_empty_table_without_producer_keeps_source_ids() -> None:
    placement = decide(EMPTY, 1, 500, producer=False)
    assert placement == Placement(before_offset=0, before_max_id=None, after_offset=None)
    assert placement.uses_ids_above


def test_import_placement_empty_table_with_producer_ends_the_block_at_0() -> None:
    placement = decide(EMPTY, 1, 500, producer=True)
    assert placement == Placement(before_offset=-500, before_max_id=0, after_offset=None)
    assert 500 + placement.before_offset == 0 and 1 + placement.before_offset == -499
    assert not placement.uses_ids_above


def test_import_placement_stored_history_without_producer_brackets_it() -> None:
    placement = decide(StoredHistory(101, 300, T1, T2), 1, 50, producer=False)
    assert placement == Placement(before_offset=100 - 50, before_max_id=100, after_offset=300)
    assert placement.uses_ids_above


def test_import_placement_stored_history_with_producer_stays_at_0_and_below() -> None:
    """The producer's ids start at 1 at the lowest and may not all be stored yet (consumers
    commit out of order): the block ends at 0 even when the lowest stored id is higher."""
    placement = decide(StoredHistory(101, 300, T1, T2), 1, 50, producer=True)
    assert placement == Placement(before_offset=-50, before_max_id=0, after_offset=None)
    below = decide(StoredHistory(-40, 300, T1, T2), 1, 50, producer=True)
    assert below == Placement(before_offset=-41 - 50, before_max_id=-41, after_offset=None)


ids = st.integers(-(10**12), 10**12)


@given(
    lowest=ids,
    span=st.integers(0, 10**9),
    source_min=st.integers(0, 10**9),
    source_span=st.integers(0, 10**9),
    producer=st.booleans(),
)
def test_import_placement_never_collides_with_stored_or_producer_ids(
    lowest: int, span: int, source_min: int, source_span: int, producer: bool
) -> None:
    """Every source id of the first run lands below every stored id (and at 0 or below with a
    producer), or above every stored one; the two blocks keep the source order."""
    highest, source_max = lowest + span, source_min + source_span
    placement = decide(StoredHistory(lowest, highest, T1, T2), source_min, source_max, producer)
    assert placement.before_max_id is not None
    assert source_max + placement.before_offset == placement.before_max_id < lowest
    if producer:
        assert placement.before_max_id <= 0 and placement.after_offset is None
    else:
        assert placement.after_offset is not None
        assert source_min + placement.after_offset == highest + 1
