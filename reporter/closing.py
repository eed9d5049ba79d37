"""Closing a month (CONTRACT "Closing a month"): every org's bill of a calendar month, stored.

The month is computed exactly as a bill request for it would be (`bill.price_window`), in one
snapshot taken under the pricing lock, and stored with `closed_bills.store`; afterwards a
bill request for that month is answered from what was stored. Closing a closed month changes
nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from reporter import bill, bill_protocol, bill_warnings, billing, closed_bills
from shared import closed_months, db, pricing_store

# The named queries of sql/closing.sql, read once at import.
QUERIES = db.load_queries("reporter.sql", "closing.sql")


class Closing(NamedTuple):
    """What closing a month did: when it was closed (None: it was closed already, nothing
    stored), and the month as computed now."""

    closed_at: datetime | None
    month: date
    priced: bill.Priced


def close_month(
    conn: db.Connection, month: date, now: datetime, *, statement_timeout_ms: int = 600_000
) -> Closing:
    """Compute the month's bill for every org and store it, unless the month is closed."""
    start, end = closed_months.bounds(month)
    request = bill_protocol.BillRequest(from_=start, to=end)
    key = {"key": pricing_store.PRICING_LOCK_KEY}
    with db.transaction(conn) as cursor:
        cursor.execute(QUERIES["lock_pricing"], key)
    try:
        with db.transaction(conn) as cursor:
            begin = {"statement_timeout_ms": str(statement_timeout_ms), "work_mem": "64MB"}
            cursor.execute(QUERIES["begin_close"], begin)
            priced = bill.price_window(cursor, request, now)
            closed_at = closed_bills.store(
                cursor,
                month,
                generated_at=now,
                currency=priced.currency or "",
                pricing_file_id=priced.pricing_file_id,
                lines=priced.lines,
                warnings=scoped_warnings(priced),
            )
    finally:
        with db.transaction(conn) as cursor:
            cursor.execute(QUERIES["unlock_pricing"], key)
    return Closing(closed_at, month, priced)


def scoped_warnings(priced: bill.Priced) -> list[closed_bills.ScopedWarning]:
    """The window's warnings for every org of their foundation; usage priced 0 per org, so
    that a bill of one org of a closed month shows only its own."""
    scoped = [closed_bills.ScopedWarning(None, w.foundation, w) for w in priced.window_warnings]
    per_org: dict[str | None, list[billing.Unpriced]] = {}
    for org, part in priced.unpriced:
        per_org.setdefault(org, []).append(part)
    for org in sorted(per_org, key=lambda o: (o is None, o or "")):
        found = bill_warnings.warnings(per_org[org])
        scoped += [closed_bills.ScopedWarning(org, None, w) for w in found]
    return scoped
