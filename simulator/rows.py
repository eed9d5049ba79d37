"""Compact event rows, as the Cloud Controller's tables hold them.

A row is a tuple; the parts many events share (a process's names, a service instance's plan)
live in one shared context tuple, so millions of rows fit in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import IntEnum, StrEnum
from typing import NamedTuple


class AppState(StrEnum):
    """App usage event states (CF API spec §2.3)."""

    STARTED = "STARTED"
    STOPPED = "STOPPED"
    BUILDPACK_SET = "BUILDPACK_SET"
    TASK_STARTED = "TASK_STARTED"
    TASK_STOPPED = "TASK_STOPPED"
    STAGING_STARTED = "STAGING_STARTED"
    STAGING_STOPPED = "STAGING_STOPPED"


class ServiceState(StrEnum):
    """Service usage event states (CF API spec §2.4)."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DELETED = "DELETED"


class Malformed(IntEnum):
    """How a deliberately broken event is broken (for dead-letter tests)."""

    NONE = 0
    BAD_INSTANCE_COUNT = 1  # instance_count is the string "many"
    MISSING_STATE = 2  # the state key is absent


class AppContext(NamedTuple):
    """The columns an app event shares with other events of the same process, task or build."""

    app_guid: str  # the process guid; "" for task and staging events
    app_name: str
    space_guid: str
    space_name: str
    org_guid: str
    buildpack_guid: str | None
    buildpack_name: str | None
    package_state: str | None
    previous_package_state: str | None
    parent_app_guid: str | None
    parent_app_name: str | None
    process_type: str | None


class AppRow(NamedTuple):
    """One `app_usage_events` row (without its id, which is its position in the table)."""

    guid: str
    created: int
    state: str
    previous_state: str | None
    memory: int
    previous_memory: int | None
    instances: int
    previous_instances: int | None
    ctx: AppContext
    task_guid: str | None = None
    task_name: str | None = None
    malformed: Malformed = Malformed.NONE


class ServiceContext(NamedTuple):
    """The columns a service event shares with other events of the same instance."""

    org_guid: str
    space_guid: str
    space_name: str
    instance_guid: str
    instance_name: str
    instance_type: str
    plan_guid: str | None
    plan_name: str | None
    service_guid: str | None
    service_label: str | None
    broker_name: str | None
    broker_guid: str | None


class ServiceRow(NamedTuple):
    """One `service_usage_events` row."""

    guid: str
    created: int
    state: str
    ctx: ServiceContext
    malformed: Malformed = Malformed.NONE


Row = AppRow | ServiceRow
# A follow-up (a task ending, a build finishing) run at a later second, yielding its events.
FollowUp = Callable[[int], Iterator[Row]]
