"""A bill (CONTRACT "Bill requests"): the usage's segments priced, attributed, assembled.

In one consistent read-only snapshot: the pricing in force, the segments (`sql/bills.sql`:
the spans the usage report sums, clipped the same way), the resources' names, orgs and spaces
(the usage report's own rows, `usage.resource_rows`) and the warnings (`gaps`). The engine
(`billing`) prices the segments; `bill_assembly` keeps the lines the request's filters allow
and rounds the org figures. A request for exactly a closed month is answered from what was
stored (`closed_bills`), and says whether the month computed now would differ.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from reporter import (
    bill_assembly,
    bill_protocol,
    bill_warnings,
    billing,
    closed_bills,
    gaps,
    protocol,
    usage,
)
from reporter import tariff as tariffs
from shared import db, pricing_store

# The named queries of sql/bills.sql, read once at import.
QUERIES = db.load_queries("reporter.sql", "bills.sql")


class Parts(NamedTuple):
    """What a bill was computed from, for a caller that shows more than the bill (the
    dashboard: usage per resource, cost per day): the usage report's resource rows before
    the request's filters, the segments as priced, and the tariff."""

    rows: list[usage.Keyed]
    segments: list[billing.MicrosecondRow]
    tariff: tariffs.Tariff


class Priced(NamedTuple):
    """A window's bill as computed now: its lines with their orgs, the warnings of the window
    (gaps, the history's beginning), the usage priced 0 with the org it belongs to, the
    currency and the pricing file in force."""

    lines: list[bill_assembly.OrgLine]
    window_warnings: list[bill_protocol.BillWarning]
    unpriced: list[tuple[str | None, billing.Unpriced]]
    currency: str | None
    pricing_file_id: int | None

    parts: Parts | None = None  # what it was computed from, when asked (`compute_with_parts`)

    def warnings(self) -> list[bill_protocol.BillWarning]:
        """Every warning: the window's, then the usage priced 0 merged per plan and period."""
        return self.window_warnings + bill_warnings.warnings(part for _, part in self.unpriced)


def compute(
    conn: db.Connection,
    request: bill_protocol.BillRequest,
    now: datetime,
    *,
    statement_timeout_ms: int = 60_000,
    work_mem: str = "64MB",
    helpers: Sequence[db.Connection] = (),
) -> bill_assembly.BillBody:
    """The bill object of a reply: from what was stored for a closed month, else computed."""
    body, _ = _compute(conn, request, now, statement_timeout_ms, work_mem, helpers, False)
    return body


def compute_with_parts(
    conn: db.Connection,
    request: bill_protocol.BillRequest,
    now: datetime,
    *,
    statement_timeout_ms: int = 60_000,
    work_mem: str = "64MB",
) -> tuple[bill_assembly.BillBody, Parts]:
    """`compute`'s bill, and what the window computed now consists of (for a closed month
    the bill is the stored one; the parts are today's, as `differs_now` compares them)."""
    body, parts = _compute(conn, request, now, statement_timeout_ms, work_mem, (), True)
    assert parts is not None
    return body, parts


def _compute(
    conn: db.Connection,
    request: bill_protocol.BillRequest,
    now: datetime,
    statement_timeout_ms: int,
    work_mem: str,
    helpers: Sequence[db.Connection],
    keep_parts: bool,
) -> tuple[bill_assembly.BillBody, Parts | None]:
    begin = {"statement_timeout_ms": str(statement_timeout_ms), "work_mem": work_mem}
    with db.transaction(conn) as cursor:
        cursor.execute(usage.QUERIES["begin_report"], begin)
        month = closed_bills.month_of(request.from_, request.to)
        stored = closed_bills.load(cursor, month, request) if month else None
        fresh = price_window(cursor, request, now, helpers, begin, keep_parts=keep_parts)
    if stored is not None:
        differs_now = closed_bills.differs(stored.lines, fresh.lines)
        return closed_bills.answer(stored, request, differs_now=differs_now), fresh.parts
    body = bill_assembly.assemble(
        fresh.lines,
        start=request.from_,
        end=request.to,
        generated_at=now,
        currency=fresh.currency,
        warnings=fresh.warnings(),
    )
    return body, fresh.parts


def price_window(
    cursor: db.Cursor,
    request: bill_protocol.BillRequest,
    now: datetime,
    helpers: Sequence[db.Connection] = (),
    begin: dict[str, str] | None = None,
    *,
    keep_parts: bool = False,
) -> Priced:
    """The window's bill as the events and the pricing in force say now, in the cursor's
    snapshot (which `bills close` holds under the pricing lock); with `keep_parts`, what it
    was computed from too."""
    report_request = protocol.ReportRequest(
        from_=request.from_,
        to=request.to,
        org_guids=request.org_guids,
        space_guids=request.space_guids,
        foundations=request.foundations,
    )
    params = usage.parameters(report_request, now)
    in_force = pricing_store.load(cursor)
    tariff = tariffs.build(in_force.pricing) if in_force else tariffs.empty()
    # The resources' names on the helper connections while this one reads the segments and
    # the engine prices them: PostgreSQL's work and Python's overlap.
    if helpers:
        named = usage.start_resource_rows(cursor, params, helpers, begin or {})
    else:
        found = usage.resource_rows(cursor, params)
        named = lambda: found  # noqa: E731
    try:
        segments = _segments(cursor, params)
        priced = billing.price_microseconds(
            tariff,
            tariffs.microseconds(params["from"]),
            tariffs.microseconds(params["upto"]),
            segments,
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the helpers' own failure is not the news
            named()  # never leave a helper's transaction running behind a failed bill
        raise
    rows = named()
    attributions = {
        _key(row): bill_assembly.Attribution(
            row.org_guid, row.space_guid, row.resource_name, row.space_name
        )
        for _, row in rows
    }
    filters = bill_assembly.Filters(request.org_guids, request.space_guids, request.foundations)
    lines = list(bill_assembly.attribute(priced, attributions, filters))
    unpriced = [
        (who.org_guid if who else None, part)
        for part in priced.unpriced
        if _allowed(who := attributions.get(_part_key(part)), part, filters)
    ]
    window_warnings = [_bill_warning(w) for w in gaps.warnings(cursor, usage.QUERIES, params)]
    file_id = in_force.file_id if in_force else None
    parts = Parts(rows, segments, tariff) if keep_parts else None
    return Priced(lines, window_warnings, unpriced, tariff.currency, file_id, parts)


def _segments(cursor: db.Cursor, params: dict[str, object]) -> list[billing.MicrosecondRow]:
    cursor.execute(QUERIES["segments"], params)
    return cursor.fetchall()


def _key(row: protocol.AppRow | protocol.ServiceRow) -> bill_assembly.ResourceKey:
    plan = row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None
    return (row.resource_type, row.foundation, row.resource_guid, plan)


def _part_key(part: billing.Unpriced) -> bill_assembly.ResourceKey:
    return (part.resource_type, part.foundation, part.resource_guid, part.service_plan_guid)


def _allowed(
    who: bill_assembly.Attribution | None, part: billing.Unpriced, filters: bill_assembly.Filters
) -> bool:
    """Whether usage priced 0 concerns the request: its resource passes the filters (one the
    usage report does not name passes only when nothing is filtered)."""
    if who is None:
        return filters == bill_assembly.Filters()
    return filters.allow(who.org_guid, who.space_guid, part.foundation)


def _bill_warning(warning: protocol.ReportWarning) -> bill_protocol.BillWarning:
    return bill_protocol.BillWarning(
        code=warning.code,
        message=warning.message,
        foundation=warning.foundation,
        kind=warning.kind,
        from_=warning.from_,
        to=warning.to,
    )
