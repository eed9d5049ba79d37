"""The cyclic garbage collector paused while a report or a bill is built (a speed fence).

A busy platform's all-orgs month is hundreds of thousands of rows, segments and lines:
tuples, dicts and Decimals that hold no cycles and are freed by reference counting. While
they live, every young-generation collection triggers again and the full ones walk them all:
an all-orgs bill spent 0.85 s of its 5.8 s in the collector (BENCHMARKS.md, "Usage report
and bill"). Inside `paused()` the collector does not run; afterwards it runs as before, and
reference counting frees everything meanwhile, as ever.

For a process that builds one report at a time (the reporter): the collector is one per
process, so overlapping pauses on several threads would re-enable it early (harmless: only
slower). To remove: delete this module and its `with` lines; everything stays correct.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Run the body without cyclic garbage collection (when the collector was enabled)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
