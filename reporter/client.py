"""`paas-billing report`: send a report request over RabbitMQ, wait for the reply, print it.

Exit codes: 0 report printed; 1 the reporter answered with an error; 2 bad arguments or
configuration; 3 no reply within --timeout; 4 the broker could not be reached.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pika
import pika.exceptions
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import amqp, durations, errors, settings, topology
from shared.messages import CONTENT_TYPE

EXIT_OK, EXIT_ERROR_REPLY, EXIT_USAGE, EXIT_TIMEOUT, EXIT_BROKER = 0, 1, 2, 3, 4
COLUMNS = ("resource_type", "resource_name", "resource_guid", "org_guid", "space_guid")
NUMBERS = ("memory_gb_hours", "instance_hours", "service_hours")


class ClientSettings(BaseSettings):
    """The client's environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    amqp_url: settings.AmqpUrl


def moment(text: str) -> str:
    """A date (midnight UTC) or an RFC 3339 time with offset, as RFC 3339 text."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC).isoformat()
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-10-01) or a time with offset"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset: add Z or +HH:MM, or give a bare date for midnight UTC"
        )
    return parsed.isoformat()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing report",
        description="Request a usage report from the reporters (env AMQP_URL) and print it.",
        epilog="Exit codes: 0 ok, 1 error reply, 2 bad arguments, 3 timeout, 4 broker down.",
    )
    p.add_argument("--from", dest="start", type=moment, required=True, help="date or time")
    p.add_argument("--to", dest="end", type=moment, required=True, help="date or time (excl.)")
    p.add_argument("--org", action="append", default=[], help="org guid (repeatable)")
    p.add_argument("--space", action="append", default=[], help="space guid (repeatable)")
    p.add_argument("--foundation", action="append", default=[], help="foundation (repeatable)")
    p.add_argument("--group-by", choices=("resource", "space", "org"), default="resource")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--timeout", type=durations.parse, default=durations.parse("30s"))
    return p


def request_body(args: argparse.Namespace) -> bytes:
    data: dict[str, Any] = {"from": args.start, "to": args.end, "group_by": args.group_by}
    for key, values in (("org_guids", args.org), ("space_guids", args.space)):
        if values:
            data[key] = values
    if args.foundation:
        data["foundations"] = args.foundation
    return orjson.dumps(data)


def call(url: str, body: bytes, timeout: float) -> dict[str, Any] | None:
    """Send one request; the reply as a dict, or None on timeout. Drops unknown replies."""
    correlation_id = str(uuid.uuid4())
    connection = amqp.connect(url, name="paas-billing-report")
    replies: list[dict[str, Any]] = []

    def on_reply(_ch: Any, _method: Any, properties: Any, reply_body: bytes) -> None:
        if properties.correlation_id == correlation_id:
            replies.append(orjson.loads(reply_body))

    try:
        channel = connection.channel()
        topology.declare_reports(channel)
        # An exclusive, auto-delete, server-named reply queue: gone when the client is.
        reply_to = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
        channel.basic_consume(reply_to, on_reply, auto_ack=True)
        channel.basic_publish(
            exchange="",
            routing_key=topology.REPORT_REQUESTS_QUEUE,
            body=body,
            properties=pika.BasicProperties(
                reply_to=reply_to, correlation_id=correlation_id, content_type=CONTENT_TYPE
            ),
        )
        # pika may return from process_data_events before its time limit (a heartbeat, an
        # unknown reply), so the timeout is kept against the clock, not by counting slices.
        deadline = time.monotonic() + timeout
        while not replies and (left := deadline - time.monotonic()) > 0:
            connection.process_data_events(time_limit=min(0.25, left))
        return replies[0] if replies else None
    finally:
        amqp.close_quietly(connection)


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"
    rows = report["rows"]
    columns = [c for c in COLUMNS if any(c in r for r in rows)] or ["resource_type"]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*columns, *NUMBERS])
        for row in rows:
            writer.writerow([row.get(c) or "" for c in columns] + [row[n] for n in NUMBERS])
        return out.getvalue()
    table = [[*columns, *NUMBERS]]
    table += [
        [str(r.get(c) or "-") for c in columns] + [f"{r[n]:.6f}" for n in NUMBERS] for r in rows
    ]
    table.append(
        ["TOTAL"] + [""] * (len(columns) - 1) + [f"{report['totals'][n]:.6f}" for n in NUMBERS]
    )
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(
            cell.rjust(w) if i >= len(columns) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    head = f"Usage {report['from']} .. {report['to']} (group by {report['group_by']})\n"
    notes = "".join(f"warning: {w['message']}\n" for w in report.get("warnings", []))
    return head + "\n".join(lines) + "\n" + notes


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = settings.load(ClientSettings)
    try:
        reply = call(config.amqp_url, request_body(args), args.timeout.total_seconds())
    except errors.BrokerUnavailable as exc:
        print(f"paas-billing report: {exc}", file=sys.stderr)
        return EXIT_BROKER
    except amqp.CONNECTION_ERRORS as exc:
        print(f"paas-billing report: broker connection lost: {exc!r}", file=sys.stderr)
        return EXIT_BROKER
    if reply is None:
        print(
            f"paas-billing report: timed out after {durations.format_go(args.timeout)} "
            "waiting for a reply (is a reporter running?)",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    if reply.get("status") != "ok":
        error = reply.get("error") or {}
        print(
            f"paas-billing report: error {error.get('code')} (field {error.get('field')}): "
            f"{error.get('message')}",
            file=sys.stderr,
        )
        return EXIT_ERROR_REPLY
    sys.stdout.write(render(reply["report"], args.format))
    return EXIT_OK
