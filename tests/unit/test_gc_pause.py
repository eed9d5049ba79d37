"""The collector is paused inside `paused()` and as it was afterwards, whatever happened."""

from __future__ import annotations

import gc

import pytest

from shared import gc_pause


def test_gc_pause_pauses_and_resumes_even_after_an_error() -> None:
    assert gc.isenabled()
    with gc_pause.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_pause.paused():
        raise RuntimeError("a failed bill")
    assert gc.isenabled()


def test_gc_pause_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with gc_pause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
