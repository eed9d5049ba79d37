"""`paas-billing dead-letters list|replay`: look at dead-lettered events and send them back."""

from __future__ import annotations

import argparse
import sys

import orjson
import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumer import dead_letter_queue
from shared import amqp, errors, exit_codes, settings, topology
from shared import logging as shared_logging

log = structlog.get_logger()

# How many dead letters one command looks at, unless --limit says otherwise.
DEFAULT_LIMIT = 10_000
# Widest reason shown in the table (JSON shows it whole).
REASON_WIDTH = 70


class DeadLetterSettings(BaseSettings):
    """Environment of `paas-billing dead-letters`."""

    model_config = SettingsConfigDict(frozen=True)

    amqp_url: settings.AmqpUrl
    log_level: settings.LogLevel = "WARNING"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="paas-billing dead-letters",
        description="List or replay events the consumer could not store (AMQP_URL).",
        epilog="Exit codes: 0 ok, 1 failed (a guid not found), 2 bad arguments or "
        "configuration, 4 broker down.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="show dead letters without removing them")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    replaying = commands.add_parser("replay", help="send dead letters back to the consumers")
    replaying.add_argument("--guid", action="append", default=[], help="an event guid (repeat)")
    replaying.add_argument("--all", action="store_true", help="replay every dead letter")
    replaying.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args(argv)
    if args.command == "replay" and not args.all and not args.guid:
        parser.error("replay needs --guid G (repeatable) or --all")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = settings.load(DeadLetterSettings)
    shared_logging.configure(config.log_level)
    connection = None
    try:
        connection = amqp.connect(config.amqp_url, name="paas-billing-dead-letters")
        channel = connection.channel()
        topology.declare_events(channel)
        channel.confirm_delivery()
        if args.command == "list":
            return list_letters(channel, args.format, args.limit)
        return replay_letters(channel, set(args.guid), args.all, args.limit)
    except errors.BrokerUnavailable as exc:
        print(f"paas-billing dead-letters: {exc}", file=sys.stderr)
        return exit_codes.BROKER
    except amqp.CONNECTION_ERRORS as exc:
        print(f"paas-billing dead-letters: broker connection lost: {exc!r}", file=sys.stderr)
        return exit_codes.BROKER
    except errors.BillingError as exc:
        print(f"paas-billing dead-letters: {exc}", file=sys.stderr)
        return exit_codes.FAILED
    finally:
        amqp.close_quietly(connection)


def list_letters(channel: amqp.Channel, output: str, limit: int) -> int:
    summaries = [letter.summary() for letter in dead_letter_queue.browse(channel, limit)]
    dead_letter_queue.give_back(channel)
    if output == "json":
        sys.stdout.write(orjson.dumps(summaries, option=orjson.OPT_INDENT_2).decode() + "\n")
        return 0
    print(table(summaries))
    return 0


def replay_letters(channel: amqp.Channel, guids: set[str], replay_all: bool, limit: int) -> int:
    replayed: set[str] = set()
    count = 0
    for letter in dead_letter_queue.browse(channel, limit):
        if replay_all or letter.guid in guids:
            dead_letter_queue.replay(channel, letter)
            replayed.add(letter.guid or "")
            count += 1
            log.info("dead_letter_replayed", guid=letter.guid, kind=letter.kind)
    dead_letter_queue.give_back(channel)
    missing = sorted(guids - replayed)
    print(f"replayed {count} dead letter(s)")
    if missing:
        print(f"not found in the dead-letter queue: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


def table(rows: list[dict[str, str | None]]) -> str:
    """A plain text table: guid, kind, foundation, when, reason."""
    columns = ("guid", "kind", "foundation", "when", "reason")
    cells = [
        [_cell(row.get(name), REASON_WIDTH if name == "reason" else 0) for name in columns]
        for row in rows
    ]
    widths = [max([len(name), *(len(line[i]) for line in cells)]) for i, name in enumerate(columns)]
    lines = ["  ".join(name.upper().ljust(widths[i]) for i, name in enumerate(columns))]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)) for line in cells]
    lines.append(f"{len(rows)} dead letter(s)")
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: str | None, width: int) -> str:
    text = "-" if value is None else value.replace("\n", " ")
    return text if not width or len(text) <= width else text[: width - 1] + "…"
