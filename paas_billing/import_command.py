"""`paas-billing import SOURCE_DATABASE_URL`: bring the history the original collector kept.

Copies the source's `app_usage_events` and `service_usage_events` (id, guid, created_at,
raw_message, as the original Go collector laid them out) into this database (DATABASE_URL),
keeping their order, skipping guids already stored, in batches, resumable after any
interruption; prints a summary to reconcile. docs/operating.md, "Bringing your history".
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

import structlog
from pydantic import TypeAdapter, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from paas_billing import import_report, import_source, importer
from paas_billing.import_outcome import TableOutcome, TableStatus
from shared import errors, messages, migrate, settings, shutdown
from shared import logging as shared_logging
from shared.states import EventKind

log = structlog.get_logger()

# Source rows per batch (one transaction each), unless --batch-size says otherwise.
DEFAULT_BATCH_SIZE = 5000
# The largest batch --batch-size accepts.
MAX_BATCH_SIZE = 100_000
# Exit codes: every source row is stored now; stopped, refused or failed (a rerun
# continues); finished, but some source rows were not imported (the summary says why).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_LEFT_OUT = 3
# Checks a PostgreSQL URL as DATABASE_URL is checked.
_POSTGRES_URL: TypeAdapter[str] = TypeAdapter(settings.PostgresUrl)


class ImportSettings(BaseSettings):
    """Environment of `paas-billing import`."""

    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    log_level: settings.LogLevel = "INFO"


def _batch_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_BATCH_SIZE}, not {value}")
    return value


def _foundation(text: str) -> str:
    if not 1 <= len(text) <= messages.FOUNDATION_MAX_LENGTH:
        raise argparse.ArgumentTypeError(
            f"must be 1..{messages.FOUNDATION_MAX_LENGTH} characters, not {len(text)}"
        )
    return text


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="paas-billing import",
        description="Copy the usage events of another database laid out as the original "
        "collector's (app_usage_events, service_usage_events: id, guid, created_at, "
        "raw_message) into this one (DATABASE_URL), in their order, skipping guids already "
        "stored. Run it again after an interruption: it continues where it stopped. Exit "
        f"{EXIT_OK}: every source event is stored; {EXIT_LEFT_OUT}: finished, but some were not "
        f"imported (the summary says which and why); {EXIT_FAILED}: stopped or failed; "
        f"{settings.EXIT_CONFIG}: configuration.",
    )
    parser.add_argument(
        "source_database_url",
        metavar="SOURCE_DATABASE_URL",
        help="postgres://user:pass@host:port/db of the source",
    )
    parser.add_argument(
        "--foundation",
        type=_foundation,
        default="default",
        help="the foundation the events belong to (default: default, that of rows written "
        "with only the four columns)",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        help=f"source rows per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    return parser.parse_args(argv)


def checked_source_url(value: str) -> str:
    """The source URL, or exit 2 with one line naming it (never echoing it)."""
    try:
        _POSTGRES_URL.validate_python(value)
        urlsplit(value).port  # noqa: B018 (a port that is not a number raises)
    except (ValidationError, ValueError):
        print(
            "configuration error: SOURCE_DATABASE_URL is invalid: must look like "
            "postgres://user:pass@host:port/db",
            file=sys.stderr,
        )
        raise SystemExit(settings.EXIT_CONFIG) from None
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = settings.load(ImportSettings)
    source_url = checked_source_url(args.source_database_url)
    shared_logging.configure(config.log_level)
    stop = shutdown.StopSignal("finishing the batch in hand").install()
    source = import_source.Source(source_url)
    outcomes: list[TableOutcome] = []
    try:
        migrate.apply(config.database_url)
        run = importer.Importer(
            source,
            config.database_url,
            args.foundation,
            args.batch_size,
            stop,
            import_report.Progress(),
        )
        for kind in EventKind:
            outcomes.append(run.run(kind))
    except errors.BillingError as exc:
        log.error("import_failed", error=shared_logging.redact_text(str(exc)))
        print(f"import failed: {shared_logging.redact_text(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        source.close()
    print(import_report.summary(outcomes, args.foundation, source.name), end="", flush=True)
    return exit_code(outcomes)


def exit_code(outcomes: list[TableOutcome]) -> int:
    statuses = {outcome.status for outcome in outcomes}
    if statuses & {TableStatus.STOPPED, TableStatus.LOCKED}:
        return EXIT_FAILED
    if any(outcome.record and outcome.record.not_imported for outcome in outcomes):
        return EXIT_LEFT_OUT
    return EXIT_OK
