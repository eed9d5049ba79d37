"""The /proc reading every benchmark uses for CPU per event."""

from __future__ import annotations

import os
import time

from tests.support.processes import cpu_seconds


def test_cpu_seconds_reads_this_process_user_and_system_time() -> None:
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn CPU so the figure is well above a tick
        pass
    times = os.times()
    # /proc counts in clock ticks (1/100 s here); os.times() in finer units.
    assert abs(cpu_seconds(os.getpid()) - (times.user + times.system)) < 0.05
    assert cpu_seconds(os.getpid()) >= 0.3
