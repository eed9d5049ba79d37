"""`paas-billing bills close YYYY-MM`: compute every org's bill of a month and store it.

Afterwards a bill request for exactly that month is answered from what was stored, saying
whether the month computed now would differ; `pricing apply` refuses a file that would change a
price, rate or plan version in force during it. Closing a closed month changes nothing.

Exit codes: 0 closed (or closed already); 1 the database failed; 2 bad arguments or
configuration.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime

from pydantic_settings import BaseSettings, SettingsConfigDict

from reporter import bill_assembly, closing
from shared import closed_months, db, errors, migrate, settings
from shared import logging as shared_logging

EXIT_OK, EXIT_DATABASE, EXIT_USAGE = 0, 1, 2


class BillsSettings(BaseSettings):
    """Environment of `paas-billing bills`."""

    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    log_level: settings.LogLevel = "WARNING"


def _month(text: str) -> date:
    try:
        return closed_months.parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing bills",
        description="Close a month's bills (DATABASE_URL). docs/pricing.md says what closing "
        "means for later bills and for pricing changes.",
        epilog="Exit codes: 0 ok, 1 database failed, 2 bad arguments or configuration.",
    )
    commands = p.add_subparsers(dest="command", required=True)
    closing_parser = commands.add_parser(
        "close",
        help="compute every org's bill of a calendar month (UTC) and store it",
        description="Compute every org's bill of the month YYYY-MM (UTC) and store it: bill "
        "requests for exactly that month are then answered from what was stored, and pricing "
        "that would change it is refused. Closing a closed month changes nothing.",
    )
    closing_parser.add_argument("month", type=_month, help="the month, e.g. 2026-10")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = settings.load(BillsSettings)
    shared_logging.configure(config.log_level)
    now = datetime.now(UTC)
    try:
        migrate.apply(config.database_url)
        conn = db.connect(config.database_url, application_name="paas-billing-bills")
        try:
            closed = closing.close_month(conn, args.month, now)
        finally:
            db.close_quietly(conn)
    except errors.BillingError as exc:
        print(f"bills close: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    print(summary(closed, now))
    return EXIT_OK


def summary(closed: closing.Closing, now: datetime) -> str:
    """What was closed, with the figures a finance team reconciles against."""
    month = closed_months.month_text(closed.month)
    if closed.closed_at is None:
        return f"{month} was closed already: nothing changed"
    priced = closed.priced
    body = bill_assembly.assemble(
        priced.lines,
        start=closed_months.bounds(closed.month)[0],
        end=closed_months.bounds(closed.month)[1],
        generated_at=now,
        currency=priced.currency,
        warnings=priced.warnings(),
    )
    totals = body["totals"]
    lines = [
        f"{month} closed at {closed.closed_at.isoformat()}: {len(body['orgs'])} orgs, "
        f"{len(priced.lines)} lines, in {priced.currency or '(no pricing applied)'}",
        f"totals: ex VAT {totals['ex_vat']}  VAT {totals['vat']}  inc VAT {totals['inc_vat']}",
    ]
    if closed_months.bounds(closed.month)[1] > now:
        lines.append(
            f"note: {month} has not ended; what happens after {now.isoformat()} is not in the "
            "stored bill, and later bills of the month will say it differs"
        )
    lines += [f"warning: {w.message}" for w in priced.warnings()]
    return "\n".join(lines)
