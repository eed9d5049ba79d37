"""`paas-billing bill`: send a bill request over RabbitMQ, wait for the reply, print it.

The twin of `paas-billing report` (`reporter.client`): the same window, filters, timeout and
exit codes; the bill as a table, JSON, or CSV whose last rows keep the org figures, the
totals and the warnings.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import timedelta
from typing import Any

import orjson

from reporter import client
from shared import amqp, durations, errors, settings

# The columns of a bill line in the CSV, as the reply names them.
LINE_COLUMNS = (
    "org_guid",
    "space_guid",
    "space_name",
    "foundation",
    "resource_type",
    "resource_name",
    "resource_guid",
    "service_plan_guid",
    "plan_name",
    "component",
    "vat_code",
    "ex_vat",
    "vat",
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing bill",
        description="Request a bill from the reporters (env AMQP_URL) and print it: one line "
        "per resource, plan and component, org figures rounded half up to 2 places.",
        epilog="Exit codes: 0 ok, 1 error reply, 2 bad arguments, 3 timeout, 4 broker down.",
    )
    p.add_argument(
        "--from", dest="start", type=client.moment, required=True, metavar="TIME",
        help="date or time",
    )  # fmt: skip
    p.add_argument(
        "--to", dest="end", type=client.moment, required=True, metavar="TIME",
        help="date or time (excl.)",
    )  # fmt: skip
    p.add_argument(
        "--org", action="append", default=[], metavar="GUID", help="org guid (repeatable)"
    )
    p.add_argument(
        "--space", action="append", default=[], metavar="GUID", help="space guid (repeatable)"
    )
    p.add_argument(
        "--foundation", action="append", default=[], metavar="NAME", help="foundation (repeatable)"
    )
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument(
        "--timeout",
        type=client.timeout,
        default=timedelta(seconds=60),
        metavar="DURATION",
        help=f"{client.TIMEOUT_HELP}; default 60s",
    )
    return p


def request_body(args: argparse.Namespace) -> bytes:
    data: dict[str, Any] = {"type": "bill", "from": args.start, "to": args.end}
    for key, values in (
        ("org_guids", args.org),
        ("space_guids", args.space),
        ("foundations", args.foundation),
    ):
        if values:
            data[key] = values
    return orjson.dumps(data)


def render(bill: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(bill, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        return _csv(bill)
    return _table(bill)


def _csv(bill: dict[str, Any]) -> str:
    """The lines, then per org a row of its figures, the totals, and the warnings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*LINE_COLUMNS, "inc_vat"])
    # Figures go under ex_vat, vat and inc_vat; the second column says what the row is.
    gap = [""] * (len(LINE_COLUMNS) - 4)
    for org in bill["orgs"]:
        guid = org["org_guid"] or ""
        for line in org["lines"]:
            writer.writerow([guid, *(_cell(line, c) for c in LINE_COLUMNS[1:]), ""])
        writer.writerow([guid, "org total", *gap, org["ex_vat"], org["vat"], org["inc_vat"]])
    totals = bill["totals"]
    label = f"total ({bill['currency'] or 'no pricing applied'})"
    writer.writerow(["", label, *gap, totals["ex_vat"], totals["vat"], totals["inc_vat"]])
    for warning in bill["warnings"]:
        writer.writerow(["", "warning", warning["code"], warning["message"]])
    return out.getvalue()


def _cell(line: dict[str, Any], column: str) -> str:
    value = line.get(column)
    return "" if value is None else str(value)


def _table(bill: dict[str, Any]) -> str:
    currency = bill["currency"] or "(no pricing applied)"
    out = [f"Bill {bill['from']} .. {bill['to']} in {currency}"]
    closed = bill.get("closed")
    if closed:
        changed = "; computed now it would differ" if closed["differs_now"] else ""
        out.append(f"closed at {closed['closed_at']}{changed}")
    for org in bill["orgs"]:
        out.append("")
        out.append(f"org {org['org_guid'] or '(unknown)'}")
        rows: list[tuple[str, ...]] = [("resource", "plan", "component", "vat", "ex VAT", "VAT")]
        for line in org["lines"]:
            name = line["resource_name"] or line["resource_guid"]
            rows.append(
                (
                    f"{line['resource_type']} {name}",
                    line["plan_name"],
                    line["component"],
                    line["vat_code"],
                    line["ex_vat"],
                    line["vat"],
                )
            )
        out += _aligned(rows)
        out.append(
            f"  org total: ex VAT {org['ex_vat']}  VAT {org['vat']}  inc VAT {org['inc_vat']}"
        )
    totals = bill["totals"]
    out.append("")
    out.append(
        f"TOTAL: ex VAT {totals['ex_vat']}  VAT {totals['vat']}  inc VAT {totals['inc_vat']}"
    )
    out += [f"warning: {w['message']}" for w in bill["warnings"]]
    return "\n".join(out) + "\n"


def _figures(figures: dict[str, Any]) -> str:
    return f"ex VAT {figures['ex_vat']}  VAT {figures['vat']}  inc VAT {figures['inc_vat']}"


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = settings.load(client.ClientSettings)
    try:
        reply = client.call(config.amqp_url, request_body(args), args.timeout.total_seconds())
    except errors.BrokerUnavailable as exc:
        print(f"paas-billing bill: {exc}", file=sys.stderr)
        return client.EXIT_BROKER
    except amqp.CONNECTION_ERRORS as exc:
        print(f"paas-billing bill: broker connection lost: {exc!r}", file=sys.stderr)
        return client.EXIT_BROKER
    if reply is None:
        print(
            f"paas-billing bill: timed out after {durations.format_go(args.timeout)} "
            "waiting for a reply (is a reporter running?)",
            file=sys.stderr,
        )
        return client.EXIT_TIMEOUT
    if reply.get("status") != "ok":
        error = reply.get("error") or {}
        print(
            f"paas-billing bill: error {error.get('code')} (field {error.get('field')}): "
            f"{error.get('message')}",
            file=sys.stderr,
        )
        return client.EXIT_ERROR_REPLY
    sys.stdout.write(render(reply["bill"], args.format))
    return client.EXIT_OK
