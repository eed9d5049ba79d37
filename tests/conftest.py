"""Fixtures for real services: a database per test and a vhost per test."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog

from consumer.writer import Writer
from shared import db
from tests.support import services


@pytest.fixture(autouse=True)
def logging_as_found() -> Iterator[None]:
    """Undo a process main()'s logging set-up that a test ran in-process.

    main() points structlog and the root logger at the stderr it was given; in a test that is
    pytest's capture, closed when the test ends, and a later test logging there fails.
    """
    handlers = list(logging.root.handlers)
    yield
    quiet_structlog()
    for handler in logging.root.handlers[:]:
        if handler not in handlers:
            logging.root.removeHandler(handler)


def quiet_structlog() -> None:
    """structlog's defaults, less its debug lines: code run in-process by a test (the
    simulator's request log) must not print into pytest's progress output. Dropped by a
    processor, not a filtering logger, so that `capture_logs()` still sees debug events."""
    structlog.reset_defaults()
    structlog.configure(processors=[_drop_debug, *structlog.get_config()["processors"]])


def _drop_debug(_logger: object, method: str, event: MutableMapping[str, Any]) -> Any:
    if method == "debug":
        raise structlog.DropEvent
    return event


@pytest.fixture(scope="session", autouse=True)
def structlog_without_debug() -> None:
    quiet_structlog()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    with services.postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def template_database(postgres_admin_url: str) -> Iterator[str]:
    with services.template_database(postgres_admin_url) as name:
        yield name


@pytest.fixture
def database_url(postgres_admin_url: str, template_database: str) -> Iterator[str]:
    """A migrated database of this test's own, dropped after it."""
    with services.cloned_database(postgres_admin_url, template_database) as url:
        yield url


@pytest.fixture
def conn(database_url: str) -> Iterator[db.Connection]:
    """A connection (autocommit off) to this test's own database, closed after it."""
    connection = db.connect(database_url)
    yield connection
    connection.close()


@pytest.fixture
def writer(database_url: str) -> Iterator[Writer]:
    """The consumer's writer on this test's own database, closed after it."""
    w = Writer(database_url)
    yield w
    w.close()


@pytest.fixture(scope="session")
def rabbitmq_admin_url() -> Iterator[str]:
    with services.rabbitmq_server() as url:
        yield url


@pytest.fixture(scope="session")
def vhosts(rabbitmq_admin_url: str) -> services.Vhosts:
    return services.Vhosts(rabbitmq_admin_url)


@pytest.fixture
def amqp_url(vhosts: services.Vhosts) -> Iterator[str]:
    """A vhost of this test's own, deleted after it."""
    with services.fresh_vhost(vhosts) as url:
        yield url
