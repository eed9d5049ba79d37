"""DATABASE_URL and AMQP_URL are checked whole at settings load, and no error quotes them.

An unencoded @, / or : in a password made urllib, pika and libpq each read a different host,
port or password, and their errors quoted part of the password; a bad port or an unknown
option failed only when connecting (a traceback, or a wait that never ended). Every such URL
is now refused by the settings, with a message that holds no part of it.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from shared import settings

# Pieces of a password, none of which may appear in an error.
SECRET_PIECES = ("Sx7kq", "Pw9zr", "Qm4tv")


class Urls(BaseModel):
    database_url: settings.PostgresUrl | None = None
    amqp_url: settings.AmqpUrl | None = None


GOOD_POSTGRES = [
    "postgres://u:p@db:5432/billing",
    "postgresql://u:p@db/billing?sslmode=require",
    "postgres://billing:p%40ss%2Fw%3Ard@db.example.org:5432/billing",
    "postgres://u@127.0.0.1:5432/db?sslmode=verify-full&sslrootcert=/etc/ca.pem",
    "postgres:///billing",
    "postgresql://h1:5432,h2:5433/db?target_session_attrs=read-write",
    "postgres://u:p@[::1]:5432/db?connect_timeout=5&application_name=x",
    "postgres://u:!$&'()*+,;=~-._@db/d%40b",
]
GOOD_AMQP = [
    "amqp://guest:guest@127.0.0.1:5672/%2f",
    "amqps://u:p%40ss%2Fw%3Ard@rabbit.example.org/billing",
    "amqp://rabbit",
    "amqp://u:p@rabbit:5672/?heartbeat=30",
]


@pytest.mark.parametrize("url", GOOD_POSTGRES)
def test_settings_urls_accept_a_well_formed_postgres_url(url: str) -> None:
    assert Urls(database_url=url).database_url == url


@pytest.mark.parametrize("url", GOOD_AMQP)
def test_settings_urls_accept_a_well_formed_amqp_url(url: str) -> None:
    assert Urls(amqp_url=url).amqp_url == url


def password(*separators: str) -> str:
    """A password of the secret pieces joined by characters that must be encoded."""
    text = SECRET_PIECES[0]
    for index, separator in enumerate(separators):
        text += separator + SECRET_PIECES[(index + 1) % len(SECRET_PIECES)]
    return text


BAD_POSTGRES = [
    (f"postgres://billing:{password('@')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password('/')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password(':')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password('@', '/', ':')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password('?')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password('#')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password(' ')}@127.0.0.1:5432/db", "space"),
    (f"postgres://billing:{password('%z')}@127.0.0.1:5432/db", "percent"),
    (f"postgres://billing:{password('%00')}@127.0.0.1:5432/db", "NUL"),
    (f"postgres://billing:{password('[')}@127.0.0.1:5432/db", "encode"),
    (f"postgres://billing:{password()}@127.0.0.1:{SECRET_PIECES[1]}/db", "port"),
    (f"postgres://billing:{password()}@127.0.0.1:65536/db", "port"),
    (f"postgres://billing:{password()}@127.0.0.1:0/db", "port"),
    (f"postgres://billing:{password()}@127.0.0.1/db?{SECRET_PIECES[1]}=1", "libpq"),
    (f"postgres://billing:{password()}@127.0.0.1/db?sslmode={SECRET_PIECES[1]}", "sslmode"),
    (f"postgres://billing:{password()}@127.0.0.1/db?connect_timeout=soon", "connect_timeout"),
    (f"postgres://billing:{password()}@127.0.0.1:5432/db\n", "newline"),
    (f"mysql://billing:{password()}@127.0.0.1/db", "postgres://"),
    (f"postgres://billing:{password()}@db_{SECRET_PIECES[1]}!/db", "host"),
]
BAD_AMQP = [
    (f"amqp://billing:{password('@')}@127.0.0.1:5672/%2f", "encode"),
    (f"amqp://billing:{password('/')}@127.0.0.1:5672/%2f", "encode"),
    (f"amqp://billing:{password(':')}@127.0.0.1:5672/%2f", "encode"),
    (f"amqp://billing:{password('@', '/', ':')}@127.0.0.1:5672/%2f", "encode"),
    (f"amqp://billing:{password()}@127.0.0.1:{SECRET_PIECES[1]}/%2f", "port"),
    (f"amqp://billing:{password()}@127.0.0.1:5672/a/{SECRET_PIECES[1]}", "vhost"),
    (f"amqp://billing:{password()}@127.0.0.1:5672/%2f?heartbeat={SECRET_PIECES[1]}", "pika"),
    (f"amqp://billing:{password()}@127.0.0.1:5672/%2f?{SECRET_PIECES[1]}=1", "pika"),
    (f"amqp://billing:{password()}@/%2f", "host"),
    (f"http://billing:{password()}@127.0.0.1/%2f", "amqp://"),
]


def refusal(**urls: str) -> str:
    with pytest.raises(ValidationError) as refused:
        Urls(**urls)  # type: ignore[arg-type]
    message = str(refused.value.errors()[0]["msg"])
    for piece in SECRET_PIECES:
        assert piece not in message, message
    return message


@pytest.mark.parametrize(("url", "says"), BAD_POSTGRES)
def test_settings_urls_refuse_a_malformed_postgres_url_quoting_nothing(url: str, says: str) -> None:
    assert says in refusal(database_url=url)


@pytest.mark.parametrize(("url", "says"), BAD_AMQP)
def test_settings_urls_refuse_a_malformed_amqp_url_quoting_nothing(url: str, says: str) -> None:
    assert says in refusal(amqp_url=url)
