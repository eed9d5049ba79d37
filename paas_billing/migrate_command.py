"""`paas-billing migrate`: create or upgrade the schema; running it twice is harmless."""

from __future__ import annotations

import argparse

import structlog
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared import errors, migrate, settings
from shared import logging as shared_logging

log = structlog.get_logger()


class MigrateSettings(BaseSettings):
    """Environment of `paas-billing migrate`."""

    model_config = SettingsConfigDict(frozen=True)

    database_url: settings.PostgresUrl
    log_level: settings.LogLevel = "INFO"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="paas-billing migrate",
        description="Create or upgrade the database schema (DATABASE_URL). Safe to run twice "
        "or concurrently: an advisory lock serialises it.",
    ).parse_args(argv)
    config = settings.load(MigrateSettings)
    shared_logging.configure(config.log_level)
    try:
        applied = migrate.apply(config.database_url)
    except errors.BillingError as exc:
        log.error("migration_failed", error=str(exc))
        return 1
    log.info("schema_current", applied=applied)
    return 0
