"""`paas-billing pricing apply FILE | show`: put a pricing file in force, print what is.

Exit codes: 0 applied (or already in force) or shown; 1 the database failed; 2 bad arguments,
configuration, or a refused file (one line per problem on stderr, nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic_settings import BaseSettings, SettingsConfigDict

from paas_billing import pricing_show
from shared import db, errors, migrate, pricing_file, pricing_reader, pricing_store, settings
from shared import logging as shared_logging

EXIT_OK, EXIT_DATABASE, EXIT_REFUSED = 0, 1, 2


class PricingSettings(BaseSettings):
    """Environment of `paas-billing pricing`."""

    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    log_level: settings.LogLevel = "WARNING"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="paas-billing pricing",
        description="Apply a pricing file or show the pricing in force (DATABASE_URL). The file "
        "is the whole pricing, every version past and future; docs/pricing.md says how to "
        "write one.",
        epilog="Exit codes: 0 ok, 1 database failed, 2 bad arguments or file refused.",
    )
    commands = p.add_subparsers(dest="command", required=True)
    applying = commands.add_parser(
        "apply",
        help="validate a pricing file and put it in force (JSON; .yaml/.yml read as YAML)",
        description="Validate FILE and put it in force, replacing the pricing applied before. "
        "Applying the file in force again changes nothing. A refused file changes nothing: "
        "one line per problem on stderr, exit 2.",
    )
    applying.add_argument("file", type=Path, help="the pricing file")
    showing = commands.add_parser("show", help="print the pricing in force")
    showing.add_argument("--format", choices=("text", "json"), default="text")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = settings.load(PricingSettings)
    shared_logging.configure(config.log_level)
    try:
        if args.command == "apply":
            return apply(config.database_url, args.file)
        return show(config.database_url, args.format)
    except errors.InvalidPricing as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_REFUSED
    except errors.BillingError as exc:
        print(f"pricing: {exc}", file=sys.stderr)
        return EXIT_DATABASE


def apply(database_url: str, path: Path) -> int:
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"pricing: cannot read {str(path)!r}: {exc.strerror}", file=sys.stderr)
        return EXIT_REFUSED
    as_yaml = path.suffix.lower() in pricing_reader.YAML_SUFFIXES
    validated = pricing_file.parse(content, as_yaml=as_yaml)
    migrate.apply(database_url)
    conn = db.connect(database_url, application_name="paas-billing-pricing")
    try:
        applied = pricing_store.apply(conn, content, path.name, validated)
    finally:
        db.close_quietly(conn)
    if applied.changed:
        print(
            f"pricing applied: {path.name} (sha256 {applied.sha256}) is in force, as file "
            f"#{applied.file_id}: {len(validated.plans)} plan versions, "
            f"{len(validated.currency_rates)} currency rates, {len(validated.vat_rates)} VAT rates"
        )
    else:
        print(
            f"pricing unchanged: {path.name} (sha256 {applied.sha256}) is already in force, "
            f"as file #{applied.file_id}"
        )
    return EXIT_OK


def show(database_url: str, output: str) -> int:
    migrate.apply(database_url)
    conn = db.connect(database_url, application_name="paas-billing-pricing", readonly=True)
    try:
        with db.transaction(conn) as cursor:
            in_force = pricing_store.load(cursor)
            closed = pricing_store.closed(cursor)
    finally:
        db.close_quietly(conn)
    now = datetime.now(UTC)
    if output == "json":
        document = pricing_show.as_document(in_force, closed)
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(pricing_show.as_text(in_force, closed, now))
    return EXIT_OK
