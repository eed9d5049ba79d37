"""What deriving the event columns in PostgreSQL costs: generated columns against a trigger.

    python benchmarks/derived_columns.py [--events 100000] [--repeat 2]

Issue 15 moved the mapping of a raw message to columns into the database. Three ways of
storing the same events are timed, each into a fresh database migrated up to 0008:

- `explicit`: the schema before 0009, every column given in the COPY (what the consumer did);
- `generated`: migration 0009, stored generated columns, the COPY gives id, guid, created_at,
  raw_message and foundation;
- `trigger`: the schema before 0009 plus a BEFORE INSERT row trigger in PL/pgSQL that derives
  the same columns from raw_message, the COPY as for `generated`.

Events: v3 app events of processes that scale, stop and start (the process-span triggers run
too, as in production), 1,000 a transaction. Prints the CPU the PostgreSQL backend used per
event (from /proc). The variants take turns --repeat times, every other turn reversed (ABBA),
because this machine's speed drifts.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import migrate
from tests.support import services
from tests.support.processes import cpu_seconds

BATCH = 1000
START = datetime(2026, 9, 1, tzinfo=UTC)
# The columns the consumer copied before 0009, and the raw-message fields they come from.
EXPLICIT = (
    "id, guid, created_at, raw_message, foundation, api_version, state, previous_state, "
    "instance_count, previous_instance_count, memory_in_mb_per_instance, "
    "previous_memory_in_mb_per_instance, process_guid, process_type, app_name, parent_app_guid, "
    "parent_app_name, space_guid, space_name, org_guid, task_guid, task_name, buildpack_guid, "
    "buildpack_name"
)
FOUR = "id, guid, created_at, raw_message, foundation"
TRIGGER = """
CREATE FUNCTION app_usage_events_derive() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r jsonb := NEW.raw_message;
BEGIN
    IF r ? 'guid' THEN
        NEW.api_version := 'v3';
        NEW.state := r -> 'state' ->> 'current';
        NEW.previous_state := r -> 'state' ->> 'previous';
        NEW.instance_count := (r -> 'instance_count' ->> 'current')::integer;
        NEW.previous_instance_count := (r -> 'instance_count' ->> 'previous')::integer;
        NEW.memory_in_mb_per_instance := (r -> 'memory_in_mb_per_instance' ->> 'current')::integer;
        NEW.previous_memory_in_mb_per_instance :=
            (r -> 'memory_in_mb_per_instance' ->> 'previous')::integer;
        NEW.process_guid := nullif(r -> 'process' ->> 'guid', '');
        NEW.process_type := r -> 'process' ->> 'type';
        NEW.app_name := r -> 'app' ->> 'name';
        NEW.parent_app_guid := r -> 'app' ->> 'guid';
        NEW.parent_app_name := r -> 'app' ->> 'name';
        NEW.space_guid := r -> 'space' ->> 'guid';
        NEW.space_name := r -> 'space' ->> 'name';
        NEW.org_guid := r -> 'organization' ->> 'guid';
        NEW.task_guid := r -> 'task' ->> 'guid';
        NEW.task_name := r -> 'task' ->> 'name';
        NEW.buildpack_guid := r -> 'buildpack' ->> 'guid';
        NEW.buildpack_name := r -> 'buildpack' ->> 'name';
    ELSE
        RAISE EXCEPTION 'v2 left out of this benchmark';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER app_usage_events_derive BEFORE INSERT ON app_usage_events
    FOR EACH ROW EXECUTE FUNCTION app_usage_events_derive();
"""


def events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """v3 app events of processes scaling, stopping and starting, in time order."""
    rng = random.Random(seed)
    processes = max(1, count // 40)
    found: list[tuple[datetime, dict[str, Any]]] = []
    for p in range(processes):
        org = str(uuid.UUID(int=rng.getrandbits(128)))
        app = {"guid": str(uuid.UUID(int=rng.getrandbits(128))), "name": f"app-{p}"}
        base = {
            "app": app,
            "process": {"guid": app["guid"], "type": "web"},
            "space": {"guid": str(uuid.UUID(int=rng.getrandbits(128))), "name": "prod"},
            "organization": {"guid": org},
            "buildpack": {"guid": str(uuid.UUID(int=rng.getrandbits(128))), "name": "python"},
            "task": {"guid": None, "name": None},
        }
        state, count_now = "STOPPED", 1
        for _ in range(40):
            new_state = "STOPPED" if rng.random() < 0.3 else "STARTED"
            new_count = rng.randint(1, 6)
            when = START + timedelta(seconds=rng.uniform(0, 60 * 86400))
            found.append(
                (
                    when,
                    {
                        "guid": str(uuid.UUID(int=rng.getrandbits(128))),
                        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "updated_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "state": {"current": new_state, "previous": state},
                        **base,
                        "memory_in_mb_per_instance": {"current": 1024, "previous": 1024},
                        "instance_count": {"current": new_count, "previous": count_now},
                        "links": {"self": {"href": "https://api.example.org/v3/app_usage_events"}},
                    },
                )
            )
            state, count_now = new_state, new_count
    found.sort(key=lambda pair: pair[0])
    return [resource for _, resource in found[:count]]


def _copy_line(values: list[Any]) -> str:
    return "\t".join("\\N" if v is None else str(v).replace("\\", "\\\\") for v in values)


def explicit_row(sequence: int, r: dict[str, Any]) -> list[Any]:
    return [
        sequence, r["guid"], r["created_at"], orjson.dumps(r).decode(), "default", "v3",
        r["state"]["current"], r["state"]["previous"], r["instance_count"]["current"],
        r["instance_count"]["previous"], r["memory_in_mb_per_instance"]["current"],
        r["memory_in_mb_per_instance"]["previous"], r["process"]["guid"] or None,
        r["process"]["type"], r["app"]["name"], r["app"]["guid"], r["app"]["name"],
        r["space"]["guid"], r["space"]["name"], r["organization"]["guid"], r["task"]["guid"],
        r["task"]["name"], r["buildpack"]["guid"], r["buildpack"]["name"],
    ]  # fmt: skip


def four_row(sequence: int, r: dict[str, Any]) -> list[Any]:
    return [sequence, r["guid"], r["created_at"], orjson.dumps(r).decode(), "default"]


def migrated_to_0008(url: str) -> None:
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cursor:
        for version, sql in migrate.migration_files():
            if version < "0009":
                cursor.execute(sql)
    conn.close()


def run(name: str, admin: str, resources: list[dict[str, Any]]) -> float:
    """Store the events one way; the backend's CPU microseconds per event."""
    with services.fresh_database(admin) as url:
        migrated_to_0008(url)
        conn = psycopg2.connect(url)
        with conn, conn.cursor() as cursor:
            if name == "generated":
                cursor.execute(dict(migrate.migration_files())["0009_derived_columns"])
            elif name == "trigger":
                cursor.execute(TRIGGER)
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]  # type: ignore[index]
        columns, shape = (EXPLICIT, explicit_row) if name == "explicit" else (FOUR, four_row)
        batches = [
            "\n".join(
                _copy_line(shape(start + i + 1, r))
                for i, r in enumerate(resources[start : start + BATCH])
            )
            + "\n"
            for start in range(0, len(resources), BATCH)
        ]
        before = cpu_seconds(pid)
        for text in batches:
            with conn, conn.cursor() as cursor:
                cursor.copy_expert(
                    f"COPY app_usage_events ({columns}) FROM STDIN", io.BytesIO(text.encode())
                )
        used = cpu_seconds(pid) - before
        conn.close()
    per_event = used / len(resources) * 1e6
    print(f"{name}: {len(resources)} events, backend {per_event:.1f} us per event", flush=True)
    return per_event


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    admin = os.environ.get("DATABASE_URL", services.LOCAL_POSTGRES)
    resources = events(args.events)
    variants = ["explicit", "generated", "trigger"]
    for turn in range(args.repeat):
        for name in variants if turn % 2 == 0 else variants[::-1]:
            run(name, admin, resources)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
