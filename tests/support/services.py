"""Real PostgreSQL and RabbitMQ for tests: env URLs, else local services, else testcontainers.

Each test gets its own database (cloned from a migrated template) and its own vhost.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
import requests

from shared import migrate

# The local services this machine runs (trust auth, guest/guest).
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/%2f"
# The images testcontainers starts where no server runs: the ones docker-compose.yml ships
# (tests/integration/test_shipped_versions.py keeps them and the test servers alike).
POSTGRES_IMAGE = "postgres:15-alpine"
RABBITMQ_IMAGE = "rabbitmq:3.10-management-alpine"


def reachable(url: str, default_port: int) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def with_vhost(url: str, vhost: str) -> str:
    """The same broker URL pointing at another vhost."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(vhost, safe=""), parts.query, ""))


@contextmanager
def postgres_server() -> Iterator[str]:
    """An admin URL of a PostgreSQL server for tests."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
    elif reachable(LOCAL_POSTGRES, 5432):
        yield LOCAL_POSTGRES
    else:
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer(POSTGRES_IMAGE, driver=None) as container:
            yield container.get_connection_url()


@contextmanager
def rabbitmq_server() -> Iterator[str]:
    """An admin URL of a RabbitMQ broker for tests."""
    url = os.environ.get("AMQP_URL")
    if url:
        yield url
    elif reachable(LOCAL_AMQP, 5672):
        yield LOCAL_AMQP
    else:
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer(RABBITMQ_IMAGE) as container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(5672)
            yield f"amqp://guest:guest@{host}:{port}/%2f"


def _admin(url: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


@contextmanager
def template_database(admin_url: str) -> Iterator[str]:
    """A migrated database to clone; dropped at the end."""
    name = f"pb_template_{uuid.uuid4().hex[:10]}"
    conn = _admin(admin_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        migrate.apply(with_database(admin_url, name))
        yield name
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new empty database (no schema); its URL; dropped after."""
    name = f"pb_empty_{uuid.uuid4().hex[:12]}"
    conn = _admin(admin_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield with_database(admin_url, name)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@contextmanager
def cloned_database(admin_url: str, template: str) -> Iterator[str]:
    """A fresh database cloned from the template; its URL; dropped after."""
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    conn = _admin(admin_url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield with_database(admin_url, name)
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


class Vhosts:
    """Creates and deletes vhosts: rabbitmqctl on this machine, else the management API."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        parts = urlsplit(admin_url)
        self.user = parts.username or "guest"
        self.password = parts.password or "guest"
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        self.ctl = shutil.which("rabbitmqctl") if local else None
        self.api = f"http://{parts.hostname}:15672/api"

    def create(self, name: str) -> None:
        if self.ctl:
            self._ctl("add_vhost", name)
            self._ctl("set_permissions", "-p", name, self.user, ".*", ".*", ".*")
            return
        auth = (self.user, self.password)
        requests.put(
            f"{self.api}/vhosts/{quote(name, safe='')}", auth=auth, timeout=10
        ).raise_for_status()
        requests.put(
            f"{self.api}/permissions/{quote(name, safe='')}/{self.user}",
            json={"configure": ".*", "write": ".*", "read": ".*"},
            auth=auth,
            timeout=10,
        ).raise_for_status()

    def delete(self, name: str) -> None:
        if self.ctl:
            self._ctl("delete_vhost", name)
            return
        requests.delete(
            f"{self.api}/vhosts/{quote(name, safe='')}", auth=(self.user, self.password), timeout=10
        )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [self.ctl or "rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60
        )


@contextmanager
def fresh_vhost(vhosts: Vhosts) -> Iterator[str]:
    """A new vhost's AMQP URL; deleted after."""
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    vhosts.create(name)
    try:
        yield with_vhost(vhosts.admin_url, name)
    finally:
        vhosts.delete(name)
