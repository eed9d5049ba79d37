"""`paas-billing report`: send a report request over RabbitMQ, wait for the reply, print it.

Exit codes: 0 report printed; 1 the reporter answered with an error; 2 bad arguments or
configuration; 3 no reply within --timeout; 4 the broker could not be reached.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pika
import pika.exceptions
from pydantic_settings import BaseSettings, SettingsConfigDict

from reporter import report_render
from shared import amqp, durations, errors, exit_codes, settings, topology
from shared.messages import CONTENT_TYPE

EXIT_OK, EXIT_ERROR_REPLY, EXIT_USAGE, EXIT_TIMEOUT, EXIT_BROKER = (
    exit_codes.OK,
    exit_codes.FAILED,
    exit_codes.CONFIG,
    exit_codes.TIMEOUT,
    exit_codes.BROKER,
)
# What --timeout takes, for the help of `report` and `bill`.
TIMEOUT_HELP = "how long to wait for the reply: seconds (2) or a Go duration (90s, 2m)"


# A bare number of seconds given to --timeout.
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")


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


def timeout(text: str) -> timedelta:
    """A bare number of seconds (`2`, `0.5`) or a Go duration (`90s`, `2m`), more than 0."""
    try:
        value = timedelta(seconds=float(text)) if _NUMBER.fullmatch(text) else durations.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds (2) or a duration (90s, 2m)"
        ) from None
    if value <= timedelta(0):
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing report",
        description="Request a usage report from the reporters (env AMQP_URL) and print it.",
        epilog="Exit codes: 0 ok, 1 error reply, 2 bad arguments, 3 timeout, 4 broker down.",
    )
    p.add_argument(
        "--from", dest="start", type=moment, required=True, metavar="TIME", help="date or time"
    )
    p.add_argument(
        "--to", dest="end", type=moment, required=True, metavar="TIME", help="date or time (excl.)"
    )
    p.add_argument(
        "--org", action="append", default=[], metavar="GUID", help="org guid (repeatable)"
    )
    p.add_argument(
        "--space", action="append", default=[], metavar="GUID", help="space guid (repeatable)"
    )
    p.add_argument(
        "--foundation", action="append", default=[], metavar="NAME", help="foundation (repeatable)"
    )
    p.add_argument("--group-by", choices=("resource", "space", "org"), default="resource")
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (the reply as sent), csv (rows, a TOTAL row, warnings)",
    )
    p.add_argument(
        "--timeout",
        type=timeout,
        default=timedelta(seconds=30),
        metavar="DURATION",
        help=f"{TIMEOUT_HELP}; default 30s",
    )
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
    sys.stdout.write(report_render.render(reply["report"], args.format))
    return EXIT_OK
