"""Ship what is tested: the PostgreSQL and RabbitMQ that docker-compose.yml (and the
testcontainers fallback) run are the versions the tests ran against."""

from __future__ import annotations

import re
from pathlib import Path

import pika
import psycopg2
import yaml

from tests.support import services

ROOT = Path(__file__).resolve().parents[2]


def _image(service: str) -> str:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return str(compose["services"][service]["image"])


def _tag_version(image: str) -> str:
    """`postgres:15-alpine` -> `15`; `rabbitmq:3.10-management-alpine` -> `3.10`."""
    match = re.match(r"[^:]+:(\d+(?:\.\d+)?)", image)
    assert match, f"{image} names no version"
    return match.group(1)


def test_compose_ships_the_postgresql_major_the_tests_run_on(postgres_admin_url: str) -> None:
    conn = psycopg2.connect(postgres_admin_url)
    tested = str(conn.server_version // 10000)
    conn.close()
    assert _tag_version(_image("postgres")) == tested
    assert _image("postgres") == services.POSTGRES_IMAGE


def test_compose_ships_the_rabbitmq_minor_the_tests_run_on(rabbitmq_admin_url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_admin_url))
    try:
        version = connection._impl.server_properties["version"]  # pika exposes no other way
    finally:
        connection.close()
    tested = ".".join(str(version).split(".")[:2])
    assert _tag_version(_image("rabbitmq")) == tested
    assert _image("rabbitmq") == services.RABBITMQ_IMAGE
