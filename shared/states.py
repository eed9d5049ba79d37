"""Event kinds and CF states, and the one place that says what each state does to usage."""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """Which usage-events table an event belongs to."""

    APP = "app"
    SERVICE = "service"


class ApiVersion(StrEnum):
    """The Cloud Controller API version an event was read from."""

    V2 = "v2"
    V3 = "v3"


class AppState(StrEnum):
    """App usage event states the Cloud Controller emits (others are stored and ignored)."""

    STARTED = "STARTED"
    STOPPED = "STOPPED"
    WAS_RUNNING = "WAS_RUNNING"
    BUILDPACK_SET = "BUILDPACK_SET"
    TASK_STARTED = "TASK_STARTED"
    TASK_STOPPED = "TASK_STOPPED"
    STAGING_STARTED = "STAGING_STARTED"
    STAGING_STOPPED = "STAGING_STOPPED"


class ServiceState(StrEnum):
    """Service usage event states."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class ProcessEffect(StrEnum):
    """What a process event does to the process's running state."""

    RUNNING = "running"
    STOPPED = "stopped"


# The mapping from process states to usage. A state not listed here is stored and ignored.
# The database holds the same mapping in process_state_running() (migration 0008), which keeps
# the process spans; tests/integration/test_process_spans.py keeps the two equal.
# WAS_RUNNING is the baseline the Cloud Controller adds for processes still running after pruning.
PROCESS_STATE_EFFECTS: dict[str, ProcessEffect] = {
    AppState.STARTED: ProcessEffect.RUNNING,
    AppState.WAS_RUNNING: ProcessEffect.RUNNING,
    AppState.STOPPED: ProcessEffect.STOPPED,
}
