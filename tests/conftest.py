"""Fixtures for real services: a database per test and a vhost per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared import db
from tests.support import services


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
