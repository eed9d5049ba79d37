"""The demo's child processes: started with an environment, logs to files, stopped in order."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# Seconds a child gets to finish its work after SIGTERM before it is killed.
STOP_TIMEOUT_SECONDS = 30


class Child:
    """One `python -m <module>` child whose output goes to `<logs>/<name>.log`."""

    def __init__(self, name: str, module: str, args: list[str], env: Mapping[str, str], logs: Path):
        self.name = name
        self.log_path = logs / f"{name}.log"
        with self.log_path.open("wb") as log_file:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env={**os.environ, **env},
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
            )

    def exited(self) -> int | None:
        return self.popen.poll()

    def tail(self, lines: int = 5) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> int:
        """SIGTERM, wait, SIGKILL if it overstays; the exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()


class Children:
    """The running children, stopped in reverse order of start."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[Child] = []

    def start(self, name: str, module: str, env: Mapping[str, str], *args: str) -> Child:
        child = Child(name, module, list(args), env, self.logs)
        self.started.append(child)
        return child

    def first_exited(self) -> Child | None:
        return next((c for c in self.started if c.exited() is not None), None)

    def stop_all(self) -> dict[str, int]:
        return {child.name: child.stop() for child in reversed(self.started)}
