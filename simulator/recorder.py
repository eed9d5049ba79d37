"""Records what really ran while the history is generated: the ground truth, as plain data."""

from __future__ import annotations

from typing import Any

from simulator.catalog import App, Instance, Process, Task
from simulator.clock import iso


class TruthRecorder:
    """Collects process, task, staging and service spans from the simulation's own state."""

    def __init__(self) -> None:
        self._processes: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, dict[str, Any]] = {}
        self._staging: list[dict[str, Any]] = []
        self._open_staging: dict[str, dict[str, Any]] = {}
        self._instances: dict[str, dict[str, Any]] = {}
        self._malformed: list[str] = []

    def process_runs(self, process: Process, ts: int, hidden: bool = False) -> None:
        """The process runs from `ts` with its current instances and memory.

        `hidden`: it ran before the history and no event shows it yet; it stays out of the
        truth unless `revealed` is called (an event that billing could see names it).
        """
        record = self._processes.get(process.guid)
        app = process.app
        if record is None:
            record = {
                "guid": process.guid,
                "type": process.type,
                "app_guid": app.guid,
                "app_name": app.name,
                "space_guid": app.space.guid,
                "org_guid": app.space.org_guid,
                "spans": [],
                "hidden": hidden,
            }
            self._processes[process.guid] = record
        self._close(record["spans"], ts)
        record["spans"].append(
            {"start": ts, "end": None, "instances": process.instances, "memory_mb": process.memory}
        )

    def revealed(self, process: Process) -> None:
        record = self._processes.get(process.guid)
        if record is not None:
            record["hidden"] = False

    def process_halts(self, process: Process, ts: int) -> None:
        record = self._processes.get(process.guid)
        if record is not None:
            self._close(record["spans"], ts)

    def task_starts(self, task: Task, ts: int) -> None:
        app = task.app
        self._tasks[task.guid] = {
            "guid": task.guid,
            "name": task.name,
            "app_guid": app.guid,
            "space_guid": app.space.guid,
            "org_guid": app.space.org_guid,
            "start": ts,
            "end": None,
            "instances": 1,
            "memory_mb": task.memory,
        }

    def task_stops(self, task: Task, ts: int) -> None:
        self._tasks[task.guid]["end"] = ts

    def staging_starts(self, app: App, ts: int) -> None:
        record = {
            "app_guid": app.guid,
            "space_guid": app.space.guid,
            "org_guid": app.space.org_guid,
            "start": ts,
            "end": None,
            "instances": 1,
            "memory_mb": 1024,
        }
        self._staging.append(record)
        self._open_staging[app.guid] = record

    def staging_stops(self, app: App, ts: int) -> None:
        self._open_staging.pop(app.guid)["end"] = ts

    def instance_on_plan(self, instance: Instance, ts: int, hidden: bool = False) -> None:
        """The instance exists from `ts` on its current plan (created, or moved to a plan).

        `hidden`: as for processes, it stays out of the truth until an event shows it.
        """
        record = self._instances.get(instance.guid)
        if record is None:
            record = {
                "guid": instance.guid,
                "name": instance.name,
                "type": instance.type,
                "space_guid": instance.space.guid,
                "org_guid": instance.space.org_guid,
                "spans": [],
                "hidden": hidden,
            }
            self._instances[instance.guid] = record
        self._close(record["spans"], ts)
        plan = instance.plan
        record["spans"].append(
            {
                "start": ts,
                "end": None,
                "plan_guid": plan.guid if plan else None,
                "plan_name": plan.name if plan else None,
                "service_label": plan.service_label if plan else None,
            }
        )

    def instance_revealed(self, instance: Instance) -> None:
        record = self._instances.get(instance.guid)
        if record is not None:
            record["hidden"] = False

    def instance_renamed(self, instance: Instance) -> None:
        record = self._instances.get(instance.guid)
        if record is not None:
            record["name"] = instance.name

    def instance_deleted(self, instance: Instance, ts: int) -> None:
        self._close(self._instances[instance.guid]["spans"], ts)

    def malformed(self, guid: str) -> None:
        self._malformed.append(guid)

    @staticmethod
    def _close(spans: list[dict[str, Any]], ts: int) -> None:
        if spans and spans[-1]["end"] is None:
            spans[-1]["end"] = ts

    def export(self, seed: int, start: int, end: int) -> dict[str, Any]:
        """The truth document (format in simulator/truth.py)."""
        processes = [
            _with_times(_public(p), "spans")
            for p in self._processes.values()
            if p["spans"] and not p["hidden"]
        ]
        return {
            "seed": seed,
            "history_start": iso(start),
            "history_end": iso(end),
            "processes": processes,
            "tasks": [_times(t) for t in self._tasks.values()],
            "staging": [_times(s) for s in self._staging],
            "service_instances": [
                _with_times(_public(i), "spans")
                for i in self._instances.values()
                if not i["hidden"]
            ],
            "malformed_guids": list(self._malformed),
        }


class NullRecorder(TruthRecorder):
    """Records nothing: used when no truth file is asked for, to save memory."""

    def process_runs(self, process: Process, ts: int, hidden: bool = False) -> None:
        pass

    def revealed(self, process: Process) -> None:
        pass

    def process_halts(self, process: Process, ts: int) -> None:
        pass

    def task_starts(self, task: Task, ts: int) -> None:
        pass

    def task_stops(self, task: Task, ts: int) -> None:
        pass

    def staging_starts(self, app: App, ts: int) -> None:
        pass

    def staging_stops(self, app: App, ts: int) -> None:
        pass

    def instance_on_plan(self, instance: Instance, ts: int, hidden: bool = False) -> None:
        pass

    def instance_revealed(self, instance: Instance) -> None:
        pass

    def instance_renamed(self, instance: Instance) -> None:
        pass

    def instance_deleted(self, instance: Instance, ts: int) -> None:
        pass


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "hidden"}


def _times(record: dict[str, Any]) -> dict[str, Any]:
    out = dict(record)
    out["start"] = iso(record["start"])
    out["end"] = None if record["end"] is None else iso(record["end"])
    return out


def _with_times(record: dict[str, Any], key: str) -> dict[str, Any]:
    out = dict(record)
    out[key] = [_times(span) for span in record[key]]
    return out
