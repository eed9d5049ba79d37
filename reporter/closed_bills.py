"""A closed month's bill (CONTRACT "Closing a month"): stored once, answered from afterwards.

`bills close YYYY-MM` computes every org's bill of the month and `store`s its lines (unrounded,
with org, space and foundation) and warnings (with the org and foundation they concern).
A bill request for exactly that month (`month_of`) is then answered from `load`: the request's
filters applied to the stored lines, org figures and totals recomputed from the lines it keeps
(`answer`, through `bill_assembly`), and `differs_now` from comparing the stored lines with the
month computed now (`differs`).

`store` belongs in the transaction that holds `pricing_store.lock`, so that no pricing is
applied between computing the month and storing it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from psycopg2.extras import Json

from reporter import bill_assembly, bill_protocol
from shared import closed_months, db

# The named queries of sql/closed_bills.sql, read once at import.
QUERIES = db.load_queries("reporter.sql", "closed_bills.sql")
# month, org_guid and the twelve fields of a line.
_LINE_TEMPLATE = "(" + ", ".join(["%s"] * 14) + ")"


class ScopedWarning(NamedTuple):
    """A warning of a closed bill and whom it concerns (None: every org, every foundation)."""

    org_guid: str | None
    foundation: str | None
    warning: bill_protocol.BillWarning


class Stored(NamedTuple):
    """What a request gets of a closed month's bill."""

    closed_at: datetime
    generated_at: datetime
    currency: str
    lines: list[bill_assembly.OrgLine]
    warnings: list[bill_protocol.BillWarning]


def month_of(start: datetime, end: datetime) -> date | None:
    """The month when [start, end) is exactly one calendar month in UTC, else None."""
    first = start.astimezone(UTC)
    month = date(first.year, first.month, 1)
    return month if closed_months.bounds(month) == (start, end) else None


def store(
    cursor: db.Cursor,
    month: date,
    *,
    generated_at: datetime,
    currency: str,
    pricing_file_id: int | None,
    lines: Iterable[bill_assembly.OrgLine],
    warnings: Iterable[ScopedWarning],
) -> datetime | None:
    """Store the month's bill; its closed_at, or None when the month was closed already (then
    nothing is stored: closing a closed month changes nothing)."""
    cursor.execute(
        QUERIES["insert_month"],
        {
            "month": month,
            "generated_at": generated_at,
            "pricing_file_id": pricing_file_id,
            "currency": currency,
        },
    )
    row = cursor.fetchone()
    if row is None:
        return None
    rows = [_line_row(month, org, line) for org, line in lines]
    if rows:
        db.execute_values(cursor, QUERIES["insert_lines"], rows, _LINE_TEMPLATE)
    scoped = [
        (month, position, w.org_guid, w.foundation, Json(_warning_document(w.warning)))
        for position, w in enumerate(warnings)
    ]
    if scoped:
        db.execute_values(cursor, QUERIES["insert_warnings"], scoped, "(%s, %s, %s, %s, %s)")
    closed_at: datetime = row[0]
    return closed_at.astimezone(UTC)


def _line_row(month: date, org: str | None, line: bill_assembly.LineBody) -> tuple[Any, ...]:
    return (
        month,
        org,
        line["space_guid"],
        line["space_name"],
        line["foundation"],
        line["resource_type"],
        line["resource_guid"],
        line["resource_name"],
        line["service_plan_guid"],
        line["plan_name"],
        line["component"],
        line["vat_code"],
        line["ex_vat"],
        line["vat"],
    )


def _warning_document(warning: bill_protocol.BillWarning) -> dict[str, Any]:
    document: dict[str, Any] = warning.model_dump(mode="json", by_alias=True)
    return document


def load(cursor: db.Cursor, month: date, request: bill_protocol.BillRequest) -> Stored | None:
    """The stored bill of a closed month as the request filters it; None if it is open."""
    cursor.execute(QUERIES["month"], {"month": month})
    head = cursor.fetchone()
    if head is None:
        return None
    closed_at, generated_at, currency = head
    filters = {
        "month": month,
        "org_guids": list(request.org_guids) if request.org_guids else None,
        "space_guids": list(request.space_guids) if request.space_guids else None,
        "foundations": list(request.foundations) if request.foundations else None,
    }
    cursor.execute(QUERIES["lines"], filters)
    lines = [_line(row) for row in cursor.fetchall()]
    cursor.execute(QUERIES["warnings"], filters)
    warnings = [bill_protocol.BillWarning.model_validate(row[0]) for row in cursor.fetchall()]
    return Stored(
        closed_at.astimezone(UTC), generated_at.astimezone(UTC), currency, lines, warnings
    )


def _line(row: tuple[Any, ...]) -> bill_assembly.OrgLine:
    org, space, space_name, foundation, kind, guid, name, plan_guid = row[:8]
    plan_name, component, vat_code, ex_vat, vat = row[8:]
    line: bill_assembly.LineBody = {
        "resource_type": kind,
        "resource_guid": guid,
        "resource_name": name,
        "foundation": foundation,
        "space_guid": space,
        "space_name": space_name,
        "service_plan_guid": plan_guid,
        "plan_name": plan_name,
        "component": component,
        "vat_code": vat_code,
        "ex_vat": ex_vat,
        "vat": vat,
    }
    return org, line


def differs(stored: Iterable[bill_assembly.OrgLine], now: Iterable[bill_assembly.OrgLine]) -> bool:
    """Whether the month computed now has other lines than the stored ones (another org,
    name, plan, VAT code or amount; amounts compared by value: 1.50 equals 1.5)."""
    return _counted(stored) != _counted(now)


def _counted(lines: Iterable[bill_assembly.OrgLine]) -> Counter[tuple[Any, ...]]:
    return Counter((org, *sorted(line.items())) for org, line in lines)


def answer(
    stored: Stored, request: bill_protocol.BillRequest, *, differs_now: bool
) -> bill_assembly.BillBody:
    """The reply's bill: the stored lines the request keeps, figures recomputed from them."""
    return bill_assembly.assemble(
        stored.lines,
        start=request.from_,
        end=request.to,
        generated_at=stored.generated_at,
        currency=stored.currency,
        warnings=stored.warnings,
        closed=bill_protocol.Closed(closed_at=stored.closed_at, differs_now=differs_now),
    )
