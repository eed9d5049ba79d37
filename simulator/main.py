"""`python -m simulator` / `paas-billing simulate`: wire settings, logging and the simulator."""

from __future__ import annotations

import gc
import signal
import sys
import threading
from types import FrameType

from shared import logging as shared_logging
from shared.settings import EXIT_CONFIG
from simulator import settings as simulator_settings
from simulator.app import Simulator


def main(argv: list[str] | None = None) -> int:
    settings = simulator_settings.load(argv)
    shared_logging.configure(settings.log_level)
    try:
        simulator = Simulator(settings)
    except ValueError as exc:  # a users or key file that cannot be used
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # The history lives as long as the process: out of the cyclic collector's sight, which
    # otherwise walked all of it again and again while pages were rendered (a fifth to a
    # third of the simulator's CPU under load). Rows freed later are still freed by their
    # reference counts; none is part of a cycle.
    gc.freeze()
    simulator.start()
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    stopping.wait()
    simulator.stop()
    return 0
