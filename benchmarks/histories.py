"""Generated usage-event histories for the benchmarks, written with the contract's four columns.

Two shapes, both v2 entities in API order (ids counted per table), deterministic per seed:

- `long-lived`: few processes, each scaling, stopping and starting about 170 times over
  36 days, with a few tasks and stagings each (benchmarks/report.py's original history).
- `busy`: a busy platform over 62 days (2026-08-31 to 2026-11-01): 15,000 processes of about
  31 state changes each (some carried in from before, some created and deleted), 117,000
  tasks, 62,000 stagings and 87,000 managed or user-provided service instances (about
  170,000 service events, a third changing plan), over ORGS orgs of 4 spaces each: about a
  million events, and a month's all-orgs report of about 118,000 rows.

`scale` multiplies every count (0.01 for a quick run).
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

# The month the benchmarks report on, and where each shape's history begins.
WINDOW_FROM = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW_TO = datetime(2026, 11, 1, tzinfo=UTC)
LONG_LIVED_FROM = WINDOW_FROM - timedelta(days=5)
BUSY_FROM = datetime(2026, 8, 31, tzinfo=UTC)
# Orgs of every shape; org-0007 is the benchmarks' one org.
ORGS = 50
ONE_ORG = "org-0007".ljust(36, "0")
# The service plans of the busy shape (guids), with their share of instances.
PLANS = {
    "5a3c0e6e-0000-4000-8000-00000000000" + str(n): weight
    for n, weight in enumerate((40, 30, 20, 10))
}
# What the generators write: the four columns and the foundation (the rest is derived).
COLUMNS = ["id", "guid", "created_at", "raw_message", "foundation"]

Event = tuple[datetime, dict[str, Any]]


def pricing_document() -> dict[str, Any]:
    """Prices for these histories, shaped like the demo's: per-second apps, tasks and staging
    in USD billed in GBP with VAT, and hourly service plans (rounded up to the hour)."""

    def per_second(resource_type: str, usd_per_gb_hour: str) -> dict[str, Any]:
        per_gb = f"($memory_in_mb / 1024) * ({usd_per_gb_hour} / 3600)"
        formula = f"$number_of_nodes * $time_in_seconds * {per_gb}"
        return {"resource_type": resource_type, "name": f"{resource_type} per second",
                "valid_from": "2017-01-01",
                "components": [{"name": "compute", "currency": "USD", "vat": "standard",
                                "formula": formula}]}  # fmt: skip

    services = [
        {"resource_type": "service", "service_plan_guid": guid, "name": f"plan-{guid[-1]}",
         "valid_from": "2017-01-01", "storage_in_mb": 10240 * (n + 1),
         "components": [{"name": "instance", "currency": "USD", "vat": "standard",
                         "formula": f"ceil($time_in_seconds / 3600) * 0.0{n + 2}"}]}
        for n, guid in enumerate(PLANS)
    ]  # fmt: skip
    return {
        "currency": "GBP",
        "currency_rates": [{"code": "USD", "valid_from": "2017-01-01", "rate": "0.79"}],
        "vat_rates": [{"code": "standard", "valid_from": "2017-01-01", "rate": "0.2"}],
        "plans": [per_second("app", "0.01"), per_second("task", "0.012"),
                  per_second("staging", "0.005"), *services],
    }  # fmt: skip


def org_guid(n: int) -> str:
    return f"org-{n % ORGS:04d}".ljust(36, "0")


def space_guid(org: str, n: int) -> str:
    return org[:-4] + f"sp{n % 4:02d}"


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _at(rng: random.Random, start: datetime, days: float) -> datetime:
    return start + timedelta(seconds=round(rng.uniform(0, days * 86400)))


def long_lived_apps(rng: random.Random, processes: int) -> list[Event]:
    """The original benchmark history: 170 state changes per process over 36 days."""
    events: list[Event] = []
    days = (WINDOW_TO - LONG_LIVED_FROM).days
    for p in range(processes):
        org = org_guid(p)
        base = {
            "org_guid": org, "space_guid": org[:-4] + "spc0", "space_name": "prod",
            "parent_app_guid": _guid(rng), "app_name": f"app-{p}",
            "parent_app_name": f"app-{p}", "process_type": "web",
        }  # fmt: skip
        guid = _guid(rng)
        times = sorted(_at(rng, LONG_LIVED_FROM, days) for _ in range(170))
        running, count, memory = rng.random() < 0.7, rng.randint(1, 4), rng.choice((256, 1024))
        for t in times:
            roll = rng.random()
            state = "BUILDPACK_SET" if roll < 0.1 else ("STOPPED" if roll < 0.3 else "STARTED")
            new_count = rng.randint(1, 4) if state == "STARTED" else count
            events.append(
                (t, {**base, "app_guid": guid, "state": state,
                     "previous_state": "STARTED" if running else "STOPPED",
                     "instance_count": new_count, "previous_instance_count": count,
                     "memory_in_mb_per_instance": memory,
                     "previous_memory_in_mb_per_instance": memory})
            )  # fmt: skip
            if state != "BUILDPACK_SET":
                running, count = state == "STARTED", new_count
        for _ in range(8):
            events += _task(rng, base, _at(rng, LONG_LIVED_FROM, days), 512)
        for _ in range(2):
            events += _staging(rng, base, _at(rng, LONG_LIVED_FROM, days))
    return events


def long_lived_services(rng: random.Random, instances: int) -> list[Event]:
    events: list[Event] = []
    for i in range(instances):
        org = org_guid(i)
        base = {"org_guid": org, "space_guid": org[:-4] + "spc0", "space_name": "prod",
                "service_instance_guid": _guid(rng), "service_instance_name": f"db-{i}",
                "service_label": "postgres",
                "service_instance_type": "managed_service_instance"}  # fmt: skip
        t = _at(rng, LONG_LIVED_FROM, 10)
        for state in ("CREATED", "UPDATED", "DELETED"):
            plan = rng.choice(("small", "large"))
            events.append((t, {**base, "state": state, "service_plan_guid": plan}))
            t += timedelta(days=rng.uniform(0.5, 12))
    return events


def _task(rng: random.Random, base: dict[str, Any], start: datetime, memory: int) -> list[Event]:
    task = {**base, "app_guid": "", "app_name": "", "process_type": None,
            "task_guid": _guid(rng), "task_name": rng.choice(("migrate", "report", "job")),
            "instance_count": 1, "memory_in_mb_per_instance": memory}  # fmt: skip
    found = [(start, {**task, "state": "TASK_STARTED", "previous_state": "PENDING"})]
    if rng.random() < 0.95:
        stop = start + timedelta(seconds=round(rng.uniform(60, 7200)))
        found.append((stop, {**task, "state": "TASK_STOPPED", "previous_state": "RUNNING"}))
    return found


def _staging(rng: random.Random, base: dict[str, Any], start: datetime) -> list[Event]:
    stage = {**base, "app_guid": "", "app_name": "", "process_type": None, "instance_count": 1,
             "memory_in_mb_per_instance": 1024, "previous_state": "STAGING"}  # fmt: skip
    stop = start + timedelta(seconds=round(rng.uniform(30, 600)))
    started = {**stage, "state": "STAGING_STARTED"}
    return [(start, started), (stop, {**stage, "state": "STAGING_STOPPED"})]


def busy_apps(rng: random.Random, scale: float = 1.0) -> list[Event]:
    """Processes, tasks and stagings of a busy platform over 62 days."""
    events: list[Event] = []
    days = (WINDOW_TO - BUSY_FROM).days
    apps = max(1, round(10_000 * scale))
    for a in range(apps):
        org = org_guid(a)
        base = {"org_guid": org, "space_guid": space_guid(org, a // ORGS),
                "space_name": f"space-{(a // ORGS) % 4}", "parent_app_guid": _guid(rng),
                "parent_app_name": f"app-{a}",
                "buildpack_guid": None, "buildpack_name": "python_buildpack"}  # fmt: skip
        kinds = ("web",) if a % 2 else ("web", "worker")  # 15,000 processes
        for kind in kinds:
            events += _process(rng, {**base, "app_name": f"app-{a}", "process_type": kind}, days)
    for _ in range(round(117_000 * scale)):
        a = rng.randrange(apps)
        org = org_guid(a)
        base = {"org_guid": org, "space_guid": space_guid(org, a // ORGS),
                "space_name": f"space-{(a // ORGS) % 4}", "parent_app_guid": f"app-{a}",
                "parent_app_name": f"app-{a}"}  # fmt: skip
        memory = rng.choice((256, 512, 1024, 2048))
        events += _task(rng, base, _at(rng, BUSY_FROM, days), memory)
    for _ in range(round(62_000 * scale)):
        a = rng.randrange(apps)
        org = org_guid(a)
        base = {"org_guid": org, "space_guid": space_guid(org, a // ORGS),
                "space_name": f"space-{(a // ORGS) % 4}", "parent_app_guid": f"app-{a}",
                "parent_app_name": f"app-{a}"}  # fmt: skip
        events += _staging(rng, base, _at(rng, BUSY_FROM, days))
    return events


def _process(rng: random.Random, base: dict[str, Any], days: int) -> list[Event]:
    """About 31 state changes: scaling, restarts, sometimes carried in, sometimes deleted."""
    guid = _guid(rng)
    carried = rng.random() < 0.4
    begin = BUSY_FROM if carried else _at(rng, BUSY_FROM, days * 0.8)
    end = WINDOW_TO if rng.random() < 0.8 else begin + (WINDOW_TO - begin) * rng.random()
    times = sorted(begin + (end - begin) * rng.random() for _ in range(31))
    running, count = carried, rng.randint(1, 4)
    memory = rng.choice((128, 256, 512, 1024, 2048))
    found: list[Event] = []
    for n, t in enumerate(times):
        last = n == len(times) - 1 and end < WINDOW_TO
        roll = rng.random()
        if last:
            state = "STOPPED"
        elif not running:
            state = "STARTED"
        else:
            state = "BUILDPACK_SET" if roll < 0.05 else ("STOPPED" if roll < 0.2 else "STARTED")
        new_count = rng.randint(1, 6) if state == "STARTED" else count
        found.append(
            (t.replace(microsecond=0), {
                **base, "app_guid": guid, "state": state,
                "previous_state": "STARTED" if running else "STOPPED",
                "instance_count": new_count, "previous_instance_count": count,
                "memory_in_mb_per_instance": memory,
                "previous_memory_in_mb_per_instance": memory})
        )  # fmt: skip
        if state != "BUILDPACK_SET":
            running, count = state == "STARTED", new_count
    return found


def busy_services(rng: random.Random, scale: float = 1.0) -> list[Event]:
    """About 87,000 instances: created, a third changing plan, most deleted; 10% user-provided."""
    events: list[Event] = []
    days = (WINDOW_TO - BUSY_FROM).days
    plans, weights = list(PLANS), list(PLANS.values())
    for i in range(round(87_000 * scale)):
        org = org_guid(i)
        provided = i % 10 == 9
        plan = None if provided else rng.choices(plans, weights)[0]
        base = {"org_guid": org, "space_guid": space_guid(org, i // ORGS),
                "space_name": f"space-{(i // ORGS) % 4}", "service_instance_guid": _guid(rng),
                "service_instance_name": f"db-{i}",
                "service_instance_type": "user_provided_service_instance" if provided
                else "managed_service_instance",
                "service_label": None if provided else "postgres"}  # fmt: skip
        t = _at(rng, BUSY_FROM, days * 0.9)
        events.append((t, {**base, "state": "CREATED", **_plan(plan)}))
        if not provided and rng.random() < 0.35:
            t += timedelta(seconds=round(rng.uniform(3600, 20 * 86400)))
            plan = rng.choices(plans, weights)[0]
            events.append((t, {**base, "state": "UPDATED", **_plan(plan)}))
        if rng.random() < 0.6:
            t += timedelta(seconds=round(rng.uniform(3600, 30 * 86400)))
            events.append((t, {**base, "state": "DELETED", **_plan(plan)}))
    return events


def _plan(guid: str | None) -> dict[str, Any]:
    if guid is None:
        return {"service_plan_guid": None, "service_plan_name": None}
    return {"service_plan_guid": guid, "service_plan_name": f"plan-{guid[-1]}"}


def rows(rng: random.Random, events: list[Event]) -> Iterator[list[Any]]:
    """COPY rows in API order (by time; ids counted from 1)."""
    events.sort(key=lambda e: e[0])
    for index, (t, entity) in enumerate(events, start=1):
        raw = orjson.dumps(entity).decode()
        yield [index, _guid(rng), t.isoformat(), raw, "default"]


def copy(conn: Any, table: str, source: Iterator[list[Any]]) -> int:
    """COPY the rows into `table` in chunks of 100,000, each committed; how many."""
    total = 0
    while True:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        chunk = 0
        for row in source:
            writer.writerow(row)
            chunk += 1
            if chunk == 100_000:
                break
        if not chunk:
            return total
        buffer.seek(0)
        with conn.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buffer
            )
        conn.commit()
        total += chunk


def load(conn: Any, shape: str, size: int, scale: float, seed: int = 20261001) -> tuple[int, int]:
    """Write a history of `shape` (`size` processes for long-lived); (app, service) events."""
    rng = random.Random(seed)
    if shape == "busy":
        apps, services = busy_apps(rng, scale), busy_services(rng, scale)
    else:
        apps, services = long_lived_apps(rng, size), long_lived_services(rng, size)
    return (
        copy(conn, "app_usage_events", rows(rng, apps)),
        copy(conn, "service_usage_events", rows(rng, services)),
    )
