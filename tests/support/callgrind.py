"""Instructions a Python script runs, counted by valgrind's callgrind.

The count is the same for the same code and input whatever else the machine is doing, where
timings on a shared machine move by 20% and more. The step benchmarks run themselves under
it with one round and with more, so that the difference is the step's cost alone.
"""

from __future__ import annotations

import re
import subprocess
import sys


def instructions(script: str, *args: str) -> int:
    """Instructions `python script args...` runs, start-up included."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        script,
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind printed no count: {done.stderr[-2000:]}")
    return int(found.group(1))


def per_event(script: str, step: str, events: int, rounds: int) -> float:
    """Instructions per event of `script --work step`: 1 + rounds rounds less one round."""
    args = ("--work", step, "--events", str(events))
    once = instructions(script, *args, "--rounds", "1")
    more = instructions(script, *args, "--rounds", str(1 + rounds))
    return (more - once) / (rounds * events)
