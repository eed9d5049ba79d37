"""`paas-billing report` as a person or a spreadsheet reads it: every row told apart, the
totals and the warnings in the table and the CSV, a window cut at "now" said so."""

from __future__ import annotations

import csv
import io
from typing import Any

from reporter import protocol, report_render, usage


def _app(name: str, process_type: str, foundation: str = "default") -> dict[str, Any]:
    return {
        "resource_type": "app", "resource_guid": f"{name}-{process_type}-{foundation}",
        "resource_name": name, "foundation": foundation, "org_guid": "org-1",
        "space_guid": "space-1", "space_name": "prod", "parent_app_guid": "a-1",
        "process_type": process_type, "memory_gb_hours": 1234.5678, "instance_hours": 2.0,
        "service_hours": 0.0,
    }  # fmt: skip


def _service(plan: str) -> dict[str, Any]:
    return {
        "resource_type": "service", "resource_guid": "db-1", "resource_name": "orders-db",
        "foundation": "default", "org_guid": "org-1", "space_guid": "space-1",
        "space_name": "prod", "service_plan_guid": f"plan-{plan}", "service_plan_name": plan,
        "service_label": "postgres", "memory_gb_hours": 0.0, "instance_hours": 5.0,
        "service_hours": 5.0,
    }  # fmt: skip


def _report(rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "from": "2026-10-01T00:00:00+00:00", "to": "2026-11-01T00:00:00+00:00",
        "generated_at": "2026-12-01T00:00:00+00:00", "group_by": "resource", "rows": rows,
        "totals": {"memory_gb_hours": 2469.1356, "instance_hours": 4.0, "service_hours": 10.0},
        "warnings": [], **extra,
    }  # fmt: skip


ROWS = [_app("shop", "web"), _app("shop", "worker"), _app("shop", "web", "eu-2"),
        _service("small"), _service("large")]  # fmt: skip


def test_table_tells_every_row_apart() -> None:
    lines = report_render.as_table(_report(ROWS)).splitlines()[2 : 2 + len(ROWS)]
    assert len(set(lines)) == len(ROWS)
    assert any("worker" in line for line in lines) and any("eu-2" in line for line in lines)
    assert any("small" in line for line in lines) and any("large" in line for line in lines)


def test_csv_tells_every_row_apart_and_keeps_every_digit() -> None:
    table = list(csv.reader(io.StringIO(report_render.as_csv(_report(ROWS)))))
    rows = table[1 : 1 + len(ROWS)]
    assert len({tuple(row) for row in rows}) == len(ROWS)
    header = table[0]
    assert {"process_type", "service_plan_name", "foundation", "space_name"} <= set(header)
    assert rows[0][header.index("memory_gb_hours")] == "1234.5678"


def test_table_numbers_have_two_decimals_and_grouping() -> None:
    assert "1,234.57" in report_render.as_table(_report(ROWS))


def test_csv_ends_with_the_totals_and_the_warnings() -> None:
    warning = {"code": "collection_gap", "message": "app events of eu-1 may be missing"}
    table = list(csv.reader(io.StringIO(report_render.as_csv(_report(ROWS, warnings=[warning])))))
    header, total, last = table[0], table[-2], table[-1]
    assert total[0] == "TOTAL" and total[header.index("service_hours")] == "10.0"
    assert last == ["WARNING", "collection_gap", "app events of eu-1 may be missing"]


def test_a_window_that_runs_into_the_future_says_it_was_cut_at_now() -> None:
    future = _report(ROWS, generated_at="2026-10-15T12:00:00+00:00")
    assert "2026-10-15T12:00:00+00:00" in report_render.as_table(future)
    assert "never for the future" in report_render.as_table(future)
    assert next(
        row[:2] for row in csv.reader(io.StringIO(report_render.as_csv(future)))
        if row[0] == "WARNING"
    ) == ["WARNING", "window_cut_at_now"]  # fmt: skip
    assert "never for the future" not in report_render.as_table(_report(ROWS))


def test_total_instance_hours_leave_the_service_hours_to_service_hours() -> None:
    rows = [protocol.ServiceRow(**_service("small")), protocol.AppRow(**_app("shop", "web"))]
    totals = usage.totals(rows)
    assert totals.instance_hours == 2.0 and totals.service_hours == 5.0


def test_space_rows_carry_the_space_name_the_table_shows() -> None:
    rows = [protocol.AppRow(**_app("shop", "web")), protocol.AppRow(**_app("shop", "worker"))]
    (grouped,) = usage.grouped_rows(rows, protocol.GroupBy.SPACE)
    assert isinstance(grouped, protocol.SpaceRow) and grouped.space_name == "prod"
    report = _report([{"resource_type": "app", "foundation": "default", "org_guid": "org-1",
                       "space_guid": "space-1", "space_name": "prod", "memory_gb_hours": 1.0,
                       "instance_hours": 1.0, "service_hours": 0.0}], group_by="space")  # fmt: skip
    assert "prod" in report_render.as_table(report).splitlines()[2]
