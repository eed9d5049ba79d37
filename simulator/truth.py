"""The ground-truth file (`--export-truth`): its model, a loader, and the usage it implies.

Format (times are `YYYY-MM-DDThh:mm:ssZ`; an `end` of null means still running when the
history ended):

    {"seed": 1, "history_start": "...Z", "history_end": "...Z",
     "processes": [{"guid", "type", "app_guid", "app_name", "space_guid", "org_guid",
                    "spans": [{"start", "end", "instances", "memory_mb"}]}],
     "tasks": [{"guid", "name", "app_guid", "space_guid", "org_guid", "start", "end",
                "instances", "memory_mb"}],
     "staging": [{"app_guid", "space_guid", "org_guid", "start", "end", "instances",
                  "memory_mb"}],
     "service_instances": [{"guid", "name", "type", "space_guid", "org_guid",
                            "spans": [{"start", "end", "plan_guid", "plan_name",
                                       "service_label"}]}],
     "malformed_guids": ["..."]}

`expected_usage` applies the contract's report arithmetic to it, so a report can be checked
against what really ran.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TypedDict

from pydantic import BaseModel, ConfigDict

from simulator.catalog import MANAGED


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProcessSpan(_Frozen):
    start: datetime
    end: datetime | None
    instances: int
    memory_mb: int


class Process(_Frozen):
    guid: str
    type: str
    app_guid: str
    app_name: str
    space_guid: str
    org_guid: str
    spans: list[ProcessSpan]


class Run(_Frozen):
    """A task or a staging: one start, maybe an end."""

    app_guid: str
    space_guid: str
    org_guid: str
    start: datetime
    end: datetime | None
    instances: int
    memory_mb: int


class Task(Run):
    guid: str
    name: str


class ServiceSpan(_Frozen):
    start: datetime
    end: datetime | None
    plan_guid: str | None
    plan_name: str | None
    service_label: str | None


class ServiceInstance(_Frozen):
    guid: str
    name: str
    type: str
    space_guid: str
    org_guid: str
    spans: list[ServiceSpan]


class Truth(_Frozen):
    seed: int
    history_start: datetime
    history_end: datetime
    processes: list[Process]
    tasks: list[Task]
    staging: list[Run]
    service_instances: list[ServiceInstance]
    malformed_guids: list[str] = []


class Usage(TypedDict):
    resource_type: str  # app, task, staging or service
    resource_guid: str
    service_plan_guid: str | None
    memory_gb_hours: float
    instance_hours: float
    service_hours: float


def load(path: str | Path) -> Truth:
    return Truth.model_validate_json(Path(path).read_bytes())


def usage_key(resource_type: str, resource_guid: str, plan_guid: str | None = None) -> str:
    """How `expected_usage` names a row: `app:<guid>`, `service:<guid>:<plan guid>`."""
    return f"{resource_type}:{resource_guid}" + (f":{plan_guid}" if plan_guid else "")


def expected_usage(
    truth: Truth, window_from: datetime, window_to: datetime, open_until: datetime | None = None
) -> dict[str, Usage]:
    """Usage per resource in `[window_from, window_to)`, keyed by `usage_key`.

    memory_gb_hours = MB x s / 1024 / 3600; instance_hours = instances x s / 3600;
    service_hours = s / 3600 per managed instance and plan. A span still open at the end of
    the history runs until `open_until` (default: the history's end); a staging that never
    finished counts zero; user-provided instances are left out; so are rows with no usage.
    """
    until = open_until or truth.history_end
    rows: dict[str, Usage] = {}

    def add(
        kind: str,
        guid: str,
        plan: str | None,
        start: datetime,
        end: datetime | None,
        instances: int,
        memory_mb: int,
    ) -> None:
        seconds = _overlap(start, end or until, window_from, window_to)
        if seconds <= 0:
            return
        key = usage_key(kind, guid, plan)
        row = rows.setdefault(
            key,
            Usage(
                resource_type=kind,
                resource_guid=guid,
                service_plan_guid=plan,
                memory_gb_hours=0.0,
                instance_hours=0.0,
                service_hours=0.0,
            ),
        )
        if kind == "service":
            row["service_hours"] += seconds / 3600
        else:
            row["memory_gb_hours"] += memory_mb * instances * seconds / 1024 / 3600
            row["instance_hours"] += instances * seconds / 3600

    for process in truth.processes:
        for span in process.spans:
            add("app", process.guid, None, span.start, span.end, span.instances, span.memory_mb)
    for task in truth.tasks:
        add("task", task.guid, None, task.start, task.end, task.instances, task.memory_mb)
    for staging in truth.staging:
        if staging.end is not None:
            add(
                "staging",
                staging.app_guid,
                None,
                staging.start,
                staging.end,
                staging.instances,
                staging.memory_mb,
            )
    for instance in truth.service_instances:
        if instance.type != MANAGED:
            continue
        for s in instance.spans:
            add("service", instance.guid, s.plan_guid, s.start, s.end, 1, 0)
    return rows


def totals(rows: dict[str, Usage]) -> dict[str, float]:
    """The report's `totals` for these rows."""
    return {
        "memory_gb_hours": sum(r["memory_gb_hours"] for r in rows.values()),
        "instance_hours": sum(r["instance_hours"] for r in rows.values()),
        "service_hours": sum(r["service_hours"] for r in rows.values()),
    }


def _overlap(start: datetime, end: datetime, window_from: datetime, window_to: datetime) -> float:
    return (min(end, window_to) - max(start, window_from)).total_seconds()
