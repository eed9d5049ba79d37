"""The real processes as subprocesses, configured by environment only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Environment variables of the developer's shell that must not leak into a child's config.
_PROJECT_VARIABLES = ("DATABASE_URL", "AMQP_URL", "CF_", "COLLECTOR_", "SIMULATOR_", "METRICS_")


class Process:
    """A running child process whose combined output goes to a log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], name: str) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"pb-{name}-", suffix=".log")[1])
        base = {k: v for k, v in os.environ.items() if not k.startswith(_PROJECT_VARIABLES)}
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args, env={**base, **env}, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        if self.alive():
            self.popen.send_signal(signum)

    def kill(self) -> int:
        """SIGKILL: the crash case."""
        self.signal(signal.SIGKILL)
        return self.popen.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
            raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM") from None

    def close(self) -> None:
        """Kill it if it still runs, and remove its log file (leave /tmp as it was)."""
        if self.alive():
            self.popen.kill()
            self.popen.wait(timeout=10)
        self._log.close()
        self.log_path.unlink(missing_ok=True)


def python_module(module: str, env: Mapping[str, str], *args: str) -> Process:
    """Start `python -m module args...` with exactly this project environment."""
    return Process([sys.executable, "-m", module, *args], env, module)


@contextmanager
def running(process: Process) -> Iterator[Process]:
    """Yield the process; kill it if the test left it running; print its log on failure
    (pytest shows it with the failure); remove the log."""
    try:
        yield process
    except BaseException:
        print(f"--- log of {process.name} ---\n{process.logs()}")
        raise
    finally:
        process.close()
