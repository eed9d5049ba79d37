"""Reusable ways to run the simulator in tests.

`start_simulator(**flags)` runs `python -m simulator` as a subprocess (flags as keyword
arguments: `start_simulator(events=500, token_ttl="30s")`), waits until it listens and returns
a handle with `.url` and `.stop()`. `in_process(**flags)` does the same inside the test process,
optionally with a ManualClock, for fast deterministic tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from simulator import settings
from simulator.app import Simulator
from simulator.clock import Clock
from tests.support.wait import wait_until

# Root of the repository, where `python -m simulator` must run.
ROOT = Path(__file__).resolve().parents[2]
# Credentials the simulator accepts by default.
CLIENT = ("paas-billing", "paas-billing-secret")
AUDITOR = ("auditor", "auditor-secret")
READER = ("reader", "reader-secret")
ADMIN_USER = ("admin", "admin")


def flags_to_argv(flags: dict[str, object]) -> list[str]:
    argv = []
    for key, value in flags.items():
        argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


@dataclass
class RunningSimulator:
    """A `python -m simulator` subprocess."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    # The log as it was when the simulator stopped, its work folder gone (/tmp as found).
    final_log: str | None = None

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM, wait, keep the log, remove the work folder; return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.final_log is None:
            self.final_log = self.log_path.read_text(errors="replace")
            shutil.rmtree(self.log_path.parent, ignore_errors=True)
        return self.process.returncode

    def logs(self) -> str:
        if self.final_log is not None:
            return self.final_log
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_simulator(
    timeout: float = 60, env: dict[str, str] | None = None, **flags: object
) -> RunningSimulator:
    """Start `python -m simulator` on a free port and wait until it is ready."""
    workdir = Path(tempfile.mkdtemp(prefix="simulator-"))
    ready = workdir / "ready"
    log_path = workdir / "simulator.log"
    flags.setdefault("port", 0)
    flags.setdefault("ready_file", ready)
    argv = [sys.executable, "-m", "simulator", *flags_to_argv(flags)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    ready_path = Path(str(flags["ready_file"]))

    def ready_or_exited() -> bool:
        return bool(ready_path.exists() and ready_path.read_text().strip()) or (
            process.poll() is not None
        )

    with contextlib.suppress(AssertionError):
        wait_until(ready_or_exited, timeout=timeout, what="the simulator's ready file")
    if process.poll() is None and ready_path.exists() and ready_path.read_text().strip():
        return RunningSimulator(ready_path.read_text().strip(), process, log_path)
    process.kill()
    process.wait()
    text = log_path.read_text(errors="replace")
    shutil.rmtree(workdir, ignore_errors=True)
    raise RuntimeError(f"simulator did not start: {text}")


@contextmanager
def in_process(clock: Clock | None = None, **flags: object) -> Iterator[Simulator]:
    """A simulator running in this process (port 0), stopped on exit."""
    flags.setdefault("port", 0)
    simulator = Simulator(settings.load(flags_to_argv(flags), environ={}), clock).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def token(url: str, client: tuple[str, str] = CLIENT) -> str:
    """A client-credentials access token."""
    response = requests.post(
        f"{url}/oauth/token", data={"grant_type": "client_credentials"}, auth=client, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def admin_token(url: str) -> str:
    """A password-grant token for the admin user (cloud_controller.admin)."""
    response = requests.post(
        f"{url}/oauth/token",
        auth=("cf", ""),
        timeout=10,
        data={"grant_type": "password", "username": ADMIN_USER[0], "password": ADMIN_USER[1]},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"bearer {access_token}"}
