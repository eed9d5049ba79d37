"""The contract's report arithmetic applied to raw v2 events: an independent check of the truth.

Written from CONTRACT.md "Report arithmetic" without looking at the simulator's state, so that
"usage implied by the events" == `simulator.truth.expected_usage` means generator and truth
agree.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from simulator.clock import parse_iso
from simulator.truth import Usage, usage_key

# Stand-in for "before the history began": far in the past.
_BEFORE = -(10**12)


def usage_from_events(
    app_events: list[dict[str, Any]],
    service_events: list[dict[str, Any]],
    window_from: datetime,
    window_to: datetime,
    until: datetime,
    skip: set[str],
) -> dict[str, Usage]:
    """v2 resources in API order -> usage per resource keyed like `expected_usage`."""
    lo, hi, end = int(window_from.timestamp()), int(window_to.timestamp()), int(until.timestamp())
    rows: dict[str, Usage] = {}

    def add(
        kind: str, guid: str, plan: str | None, start: int, stop: int, instances: int, memory: int
    ) -> None:
        seconds = min(stop, hi) - max(start, lo)
        if seconds <= 0:
            return
        row = rows.setdefault(
            usage_key(kind, guid, plan),
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
            row["memory_gb_hours"] += memory * instances * seconds / 1024 / 3600
            row["instance_hours"] += instances * seconds / 3600

    running: dict[str, tuple[int, int, int]] = {}  # process -> (since, instances, memory)
    seen: set[str] = set()
    tasks: dict[str, tuple[int, int]] = {}
    staging: dict[str, deque[int]] = {}
    for event in app_events:
        if event["metadata"]["guid"] in skip:
            continue
        e, ts = event["entity"], parse_iso(event["metadata"]["created_at"])
        state = e["state"]
        if state in ("STARTED", "STOPPED"):
            guid = e["app_guid"]
            if guid not in seen:
                seen.add(guid)
                if e["previous_state"] == "STARTED":
                    running[guid] = (
                        _BEFORE,
                        e["previous_instance_count"] or e["instance_count"],
                        e["previous_memory_in_mb_per_instance"] or e["memory_in_mb_per_instance"],
                    )
            if guid in running:
                since, instances, memory = running.pop(guid)
                add("app", guid, None, since, ts, instances, memory)
            if state == "STARTED":
                running[guid] = (ts, e["instance_count"], e["memory_in_mb_per_instance"])
        elif state == "TASK_STARTED":
            tasks[e["task_guid"]] = (ts, e["memory_in_mb_per_instance"])
        elif state == "TASK_STOPPED":
            start, memory = tasks.pop(e["task_guid"], (_BEFORE, e["memory_in_mb_per_instance"]))
            add("task", e["task_guid"], None, start, ts, 1, memory)
        elif state == "STAGING_STARTED":
            staging.setdefault(e["parent_app_guid"], deque()).append(ts)
        elif state == "STAGING_STOPPED":
            queue = staging.get(e["parent_app_guid"])
            if queue:
                add("staging", e["parent_app_guid"], None, queue.popleft(), ts, 1, 1024)
    for guid, (since, instances, memory) in running.items():
        add("app", guid, None, since, end, instances, memory)
    for guid, (start, memory) in tasks.items():
        add("task", guid, None, start, end, 1, memory)

    plans: dict[str, tuple[int, str]] = {}  # instance -> (since, plan)
    known: set[str] = set()
    for event in service_events:
        if event["metadata"]["guid"] in skip:
            continue
        e, ts = event["entity"], parse_iso(event["metadata"]["created_at"])
        if e["service_instance_type"] != "managed_service_instance":
            continue
        guid, plan, state = e["service_instance_guid"], e["service_plan_guid"], e["state"]
        if guid not in known and state in ("UPDATED", "DELETED"):
            plans[guid] = (_BEFORE, plan)
        known.add(guid)
        current = plans.get(guid)
        if state == "CREATED" or (state == "UPDATED" and current and current[1] != plan):
            if current:
                add("service", guid, current[1], current[0], ts, 1, 0)
            plans[guid] = (ts, plan)
        elif state == "DELETED" and current:
            add("service", guid, current[1], current[0], ts, 1, 0)
            del plans[guid]
    for guid, (since, plan) in plans.items():
        add("service", guid, plan, since, end, 1, 0)
    return rows
