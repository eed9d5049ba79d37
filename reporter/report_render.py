"""A usage report as people and spreadsheets read it: a table or CSV.

Every row tells itself apart from the others: its name, its process type (an app's `web` and
`worker`) or its service plan (an instance that changed plan has a row per plan), its
foundation and its space's name. The totals and the warnings come last in both formats; a
window that runs past the moment the report was computed says that it was cut there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import orjson

# Columns of a row, per grouping: (key in the reply, heading in the table).
RESOURCE_COLUMNS = (
    ("resource_type", "type"),
    ("resource_name", "name"),
    ("detail", "process / plan"),
    ("foundation", "foundation"),
    ("space", "space"),
    ("org_guid", "org"),
)
SPACE_COLUMNS = (
    ("resource_type", "type"), ("foundation", "foundation"), ("org_guid", "org"),
    ("space", "space"),
)  # fmt: skip
ORG_COLUMNS = (("resource_type", "type"), ("foundation", "foundation"), ("org_guid", "org"))
# The figures of a row and of the totals.
NUMBERS = ("memory_gb_hours", "instance_hours", "service_hours")
# Every field a CSV row may carry, in this order (only those some row has are written).
CSV_FIELDS = (
    "resource_type", "resource_guid", "resource_name", "process_type", "parent_app_guid",
    "service_plan_guid", "service_plan_name", "service_label", "foundation", "org_guid",
    "space_guid", "space_name",
)  # fmt: skip


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        return as_csv(report)
    return as_table(report)


def window_note(report: dict[str, Any]) -> str | None:
    """Said when the window runs past the moment the report was computed."""
    generated = report.get("generated_at")
    if generated and str(report["to"]) > str(generated):
        return (
            f"the window runs past the moment the report was computed ({generated}); "
            "usage is counted up to then, never for the future"
        )
    return None


def as_csv(report: dict[str, Any]) -> str:
    """The rows with every field they carry, then a TOTAL row, then one row per warning."""
    rows = report["rows"]
    fields = [f for f in CSV_FIELDS if any(f in row for row in rows)] or ["resource_type"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*fields, *NUMBERS])
    for row in rows:
        writer.writerow([_text(row.get(f)) for f in fields] + [row[n] for n in NUMBERS])
    blanks = [""] * (len(fields) - 1)
    writer.writerow(["TOTAL", *blanks, *(report["totals"][n] for n in NUMBERS)])
    notes = [(w["code"], w["message"]) for w in report.get("warnings", [])]
    note = window_note(report)
    if note:
        notes.append(("window_cut_at_now", note))
    for code, message in notes:
        writer.writerow(["WARNING", code, message])
    return out.getvalue()


def as_table(report: dict[str, Any]) -> str:
    columns = _columns(report["group_by"])
    head = [title for _, title in columns] + ["memory GB-h", "instance-h", "service-h"]
    table = [head]
    for row in report["rows"]:
        cells = [_text(_cell(row, key)) or "-" for key, _ in columns]
        table.append(cells + [_number(row[n]) for n in NUMBERS])
    totals = report["totals"]
    table.append(["TOTAL"] + [""] * (len(columns) - 1) + [_number(totals[n]) for n in NUMBERS])
    lines = _aligned(table, first_number=len(columns))
    title = f"Usage {report['from']} .. {report['to']} (group by {report['group_by']})"
    notes = [f"warning: {w['message']}" for w in report.get("warnings", [])]
    note = window_note(report)
    if note:
        notes.append(f"note: {note}")
    legend = (
        "instance-h counts apps, tasks and staging; a service row's hours are service-h "
        "(also in its instance-h column, but not in the TOTAL's)"
    )
    return "\n".join([title, *lines, legend, *notes]) + "\n"


def _columns(group_by: str) -> Sequence[tuple[str, str]]:
    return {"space": SPACE_COLUMNS, "org": ORG_COLUMNS}.get(group_by, RESOURCE_COLUMNS)


def _cell(row: dict[str, Any], key: str) -> Any:
    if key == "detail":
        return (
            row.get("process_type") or row.get("service_plan_name") or row.get("service_plan_guid")
        )
    if key == "space":
        return row.get("space_name") or row.get("space_guid")
    return row.get(key)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _number(value: float) -> str:
    """Two decimals, thousands grouped: 1,234.57."""
    return f"{value:,.2f}"


def _aligned(table: list[list[str]], first_number: int) -> list[str]:
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i >= first_number else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in table
    ]
