"""The report arithmetic: per-resource sums computed in PostgreSQL, rows and totals built here.

`sql/usage.sql` returns float8 instance-seconds and MB-seconds per resource (relative error
about 1e-15, the contract asks for 1e-9); this module turns each into a reply row (on the
connection's thread, while other queries still run), applies the final filters, groups (with
exactly rounded sums) and orders the rows.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any, Literal

from reporter import gaps, parallel, protocol
from shared import db, states

# The named queries of sql/usage.sql, read once at import.
QUERIES = db.load_queries("reporter.sql", "usage.sql")
# Seconds per hour and MB per GB.
_HOUR = 3600.0
_GB = 1024.0
# The resource type of a service row.
SERVICE_TYPE = "service"
# The instance type of user-provided service instances (left out of reports).
USER_PROVIDED = "user_provided_service_instance"
# A resource row with its place in the reply order.
Keyed = tuple[tuple[str, ...], protocol.AppRow | protocol.ServiceRow]


def parameters(request: protocol.ReportRequest, now: datetime) -> dict[str, Any]:
    """The named parameters every usage query takes."""
    return {
        "from": request.from_,
        "to": request.to,
        "upto": min(request.to, now),
        "task_started": states.AppState.TASK_STARTED.value,
        "task_stopped": states.AppState.TASK_STOPPED.value,
        "staging_started": states.AppState.STAGING_STARTED.value,
        "staging_stopped": states.AppState.STAGING_STOPPED.value,
        "created": states.ServiceState.CREATED.value,
        "updated": states.ServiceState.UPDATED.value,
        "deleted": states.ServiceState.DELETED.value,
        "user_provided": USER_PROVIDED,
        "org_guids": _array(request.org_guids),
        "space_guids": _array(request.space_guids),
        "foundations": _array(request.foundations),
        "guid_from": None,
        "guid_below": None,
    }


def _array(values: tuple[str, ...] | None) -> list[str] | None:
    return list(values) if values else None


def resource_rows(
    cursor: db.Cursor,
    params: Mapping[str, Any],
    helpers: Sequence[db.Connection] = (),
    begin: Mapping[str, Any] | None = None,
) -> list[Keyed]:
    """A row for every resource with usage in the window, from the four usage queries.

    With helper connections the queries run concurrently on the report's snapshot, and the
    processes (the longest stream) are split into one part per connection by process guid.
    """
    parts = len(helpers) + 1 if params["org_guids"] is None and params["space_guids"] is None else 1
    found = parallel.run(cursor, helpers, jobs(params, parts), _run_job, QUERIES, begin or {})
    return in_order(found, parts)


def start_resource_rows(
    cursor: db.Cursor,
    params: Mapping[str, Any],
    helpers: Sequence[db.Connection],
    begin: Mapping[str, Any],
) -> Callable[[], list[Keyed]]:
    """`resource_rows` on the helper connections alone (at least one), started at once; the
    returned function waits for the rows. The caller's connection stays free meanwhile."""
    parts = len(helpers)
    pending = parallel.start(cursor, helpers, jobs(params, parts), _run_job, QUERIES, begin)
    return lambda: in_order(pending.results(), parts)


def jobs(params: Mapping[str, Any], parts: int) -> list[parallel.Job]:
    """The usage queries: the processes in `parts` parts by guid, then the other types."""
    found: list[parallel.Job] = [
        ("process_usage", {**params, "guid_from": low, "guid_below": high})
        for low, high in guid_parts(parts)
    ]
    return found + [(name, params) for name in ("service_usage", "staging_usage", "task_usage")]


def in_order(found: list[list[Keyed]], parts: int) -> list[Keyed]:
    """Each query returns its rows in the reply's order (usage.sql): the process parts are
    merged, then the other types follow in their names' order (service, staging, task)."""
    processes = heapq.merge(*found[:parts], key=itemgetter(0))
    return [*processes, *(keyed for part in found[parts:] for keyed in part)]


def guid_parts(parts: int) -> list[tuple[str | None, str | None]]:
    """[from, below) ranges of guids covering every string; even for random (v4) guids."""
    bounds = [f"{16 * k // parts:x}" for k in range(1, parts)]
    return list(zip([None, *bounds], [*bounds, None], strict=True))


# The resource type of an app usage row.
AppType = Literal["app", "task", "staging"]
_RESOURCE_TYPES: dict[str, AppType] = {
    "process_usage": "app",
    "task_usage": "task",
    "staging_usage": "staging",
}


def _run_job(cursor: db.Cursor, job: parallel.Job) -> list[Keyed]:
    query, params = job
    cursor.execute(QUERIES[query], params)
    if query == "service_usage":
        return [service_row(*r) for r in cursor.fetchall()]
    resource_type = _RESOURCE_TYPES[query]
    return [app_row(resource_type, *r) for r in cursor.fetchall()]


def app_row(
    resource_type: AppType,
    foundation: str,
    guid: str,
    name: str | None,
    org: str | None,
    space: str | None,
    space_name: str | None,
    parent_app_guid: str | None,
    process_type: str | None,
    instance_seconds: float,
    mb_seconds: float,
) -> Keyed:
    """The reply row of a process, task or staging, with its place in the reply order."""
    row = protocol.AppRow(
        resource_type=resource_type,
        resource_guid=guid,
        resource_name=name,
        foundation=foundation,
        org_guid=org,
        space_guid=space,
        space_name=space_name,
        parent_app_guid=parent_app_guid,
        process_type=process_type,
        memory_gb_hours=mb_seconds / _GB / _HOUR,
        instance_hours=instance_seconds / _HOUR,
        service_hours=0.0,
    )
    return (resource_type, foundation, org or "", space or "", guid, ""), row


def service_row(
    foundation: str,
    guid: str,
    name: str | None,
    org: str | None,
    space: str | None,
    space_name: str | None,
    plan_guid: str | None,
    plan_name: str | None,
    label: str | None,
    instance_seconds: float,
) -> Keyed:
    """The reply row of a service instance on one plan, with its place in the reply order."""
    hours = instance_seconds / _HOUR
    row = protocol.ServiceRow(
        resource_type="service",
        resource_guid=guid,
        resource_name=name,
        foundation=foundation,
        org_guid=org,
        space_guid=space,
        space_name=space_name,
        service_plan_guid=plan_guid,
        service_plan_name=plan_name,
        service_label=label,
        memory_gb_hours=0.0,
        instance_hours=hours,
        service_hours=hours,
    )
    return ("service", foundation, org or "", space or "", guid, plan_guid or ""), row


def matches(row: protocol.AppRow | protocol.ServiceRow, request: protocol.ReportRequest) -> bool:
    """Whether a resource's naming event passes the request's filters."""
    return (
        (not request.org_guids or row.org_guid in request.org_guids)
        and (not request.space_guids or row.space_guid in request.space_guids)
        and (not request.foundations or row.foundation in request.foundations)
    )


def grouped_rows(
    rows: Iterable[protocol.AppRow | protocol.ServiceRow], group_by: protocol.GroupBy
) -> list[protocol.Row]:
    """One row per (foundation, org[, space], resource_type) with exactly rounded sums."""
    parts: dict[tuple[str, str, str, str], tuple[list[float], list[float], list[float]]] = {}
    names: dict[tuple[str, str, str, str], Counter[str]] = {}
    for row in rows:
        space = row.space_guid if group_by is protocol.GroupBy.SPACE else None
        key = (row.resource_type, row.foundation, row.org_guid or "", space or "")
        if row.space_name:
            names.setdefault(key, Counter())[row.space_name] += 1
        memory, instances, service = parts.setdefault(key, ([], [], []))
        memory.append(row.memory_gb_hours)
        instances.append(row.instance_hours)
        service.append(row.service_hours)
    grouped: list[protocol.Row] = []
    for (resource_type, foundation, org, space), (memory, instances, service) in parts.items():
        common: dict[str, Any] = {
            "resource_type": resource_type,
            "foundation": foundation,
            "org_guid": org or None,
            "memory_gb_hours": math.fsum(memory),
            "instance_hours": math.fsum(instances),
            "service_hours": math.fsum(service),
        }
        if group_by is protocol.GroupBy.SPACE:
            name = _most_common(names.get((resource_type, foundation, org, space)))
            grouped.append(protocol.SpaceRow(space_guid=space or None, space_name=name, **common))
        else:
            grouped.append(protocol.OrgRow(**common))
    return grouped


def _most_common(counted: Counter[str] | None) -> str | None:
    """The most common name, the first in order among equals; None when none is known."""
    if not counted:
        return None
    return min(counted, key=lambda name: (-counted[name], name))


def _order(row: protocol.Row) -> tuple[str, ...]:
    return (
        row.resource_type,
        row.foundation,
        row.org_guid or "",
        getattr(row, "space_guid", None) or "",
    )


def totals(rows: Iterable[protocol.Row]) -> protocol.Totals:
    """The column sums of the rows (exactly rounded), so clients summing rows agree; as the
    contract says, `instance_hours` sums the app, task and staging rows only: a service row's
    hours (its instance_hours too) are counted once, in `service_hours`."""
    listed = list(rows)
    return protocol.Totals(
        memory_gb_hours=math.fsum([r.memory_gb_hours for r in listed]),
        instance_hours=math.fsum(
            [r.instance_hours for r in listed if r.resource_type != SERVICE_TYPE]
        ),
        service_hours=math.fsum([r.service_hours for r in listed]),
    )


def build_rows(keyed: Iterable[Keyed], request: protocol.ReportRequest) -> list[protocol.Row]:
    """Filtered, grouped and ordered reply rows."""
    if request.group_by is protocol.GroupBy.RESOURCE:  # `keyed` is in the reply's order
        return [row for _, row in keyed if matches(row, request)]
    kept = [pair for pair in keyed if matches(pair[1], request)]
    return sorted(grouped_rows((row for _, row in kept), request.group_by), key=_order)


def compute(
    conn: db.Connection,
    request: protocol.ReportRequest,
    now: datetime,
    *,
    statement_timeout_ms: int = 60_000,
    work_mem: str = "64MB",
    helpers: Sequence[db.Connection] = (),
) -> protocol.Report:
    """The report for a request, as of `now`, from one consistent read-only snapshot.

    `helpers` are extra connections that run some of the queries at the same time, on the
    same snapshot (see `parallel`).
    """
    params = parameters(request, now)
    begin = {"statement_timeout_ms": str(statement_timeout_ms), "work_mem": work_mem}
    with db.transaction(conn) as cursor:
        cursor.execute(QUERIES["begin_report"], begin)
        keyed = resource_rows(cursor, params, helpers, begin)
        found = gaps.warnings(cursor, QUERIES, params)
    rows = build_rows(keyed, request)
    return protocol.Report(
        from_=request.from_,
        to=request.to,
        generated_at=now,
        group_by=request.group_by,
        rows=tuple(rows),
        totals=totals(rows),
        warnings=tuple(found),
    )
