"""No secret in any log line or error reply of a whole end-to-end run, failures included.

The run uses a PostgreSQL role and a RabbitMQ user made for it, each with a password, so the
URLs really carry secrets; the simulator is reached through a recording proxy, so every token
it hands out is known. Producers authenticate by client credentials, by password grant, by
CF_TOKEN and with a wrong secret; consumers run with good credentials, a wrong broker password
and an unreachable database; the reporter answers good, bad and unavailable requests; the
dead-letters command is refused by the broker. Then everything they wrote is searched.
"""

from __future__ import annotations

import re
import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import orjson
import psycopg2
import pytest
from psycopg2 import sql

from reporter import client
from tests.simulator import fixtures
from tests.support import pipeline
from tests.support.pipeline import Pipeline
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until

# `scheme://user:password@` whose password is not the redaction mark.
CREDENTIALED_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@\"']+:(?!\*\*\*@)[^\s@/\"']+@", re.I)
# A JSON web token (what UAA issues), wherever it appears.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
GOOD_REQUEST = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_credentials(url: str, user: str, password: str, port: int | None = None) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{port or parts.port}"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


@dataclass
class Credentials:
    database_url: str  # the test role, with its password
    amqp_url: str  # the test user, with its password
    secrets: list[str]


@pytest.fixture
def credentials(postgres_admin_url: str, database_url: str, amqp_url: str) -> Iterator[Credentials]:
    """A PostgreSQL role and a RabbitMQ user with passwords, for this test only."""
    name = f"pb_secret_{uuid.uuid4().hex[:10]}"
    db_password = "pg-" + secrets.token_urlsafe(18)
    mq_password = "mq-" + secrets.token_urlsafe(18)
    vhost = unquote(urlsplit(amqp_url).path.lstrip("/"))
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cursor:
        role = sql.Identifier(name)
        cursor.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(role), (db_password,))
        for grant in (
            "GRANT USAGE, CREATE ON SCHEMA public TO {}",
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO {}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {}",
        ):
            cursor.execute(sql.SQL(grant).format(role))
    ctl = ["rabbitmqctl", "-q"]
    subprocess.run([*ctl, "add_user", name, mq_password], check=True, capture_output=True)
    subprocess.run(
        [*ctl, "set_permissions", "-p", vhost, name, ".*", ".*", ".*"],
        check=True,
        capture_output=True,
    )
    try:
        yield Credentials(
            with_credentials(database_url, name, db_password),
            with_credentials(amqp_url, name, mq_password),
            [db_password, mq_password],
        )
    finally:
        subprocess.run([*ctl, "delete_user", name], capture_output=True)
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))
        admin.close()


def leaks(text: str, known: list[str]) -> list[str]:
    found = [f"secret {s[:6]}..." for s in known if s and s in text]
    found += [f"credentialed URL {m.group(0)[:40]}" for m in CREDENTIALED_URL.finditer(text)]
    found += [f"token {m.group(0)[:16]}..." for m in JWT.finditer(text)]
    return found


def test_log_secrets_none_in_any_log_or_reply(
    credentials: Credentials, amqp_url: str, postgres_admin_url: str
) -> None:
    client_id, client_secret = fixtures.CLIENT  # api_guids below uses this client too
    user_password = "user-" + secrets.token_urlsafe(18)
    wrong_secret = "wrong-" + secrets.token_urlsafe(18)
    wrong_mq_password = "wrongmq-" + secrets.token_urlsafe(18)
    known = [*credentials.secrets, client_secret, user_password, wrong_secret, wrong_mq_password]

    sim_port = free_port()
    with (
        TcpProxy("127.0.0.1", sim_port, record=True) as cf_proxy,
        TcpProxy.for_url(credentials.database_url, 5432) as db_proxy,
    ):
        api = f"http://127.0.0.1:{cf_proxy.port}"
        sim = fixtures.start_simulator(
            port=sim_port,
            api_url=api,
            events=600,
            username="meter",
            password=user_password,
        )
        outputs: list[str] = []
        try:
            cf_token = fixtures.token(api)
            known.append(cf_token)
            db, mq = credentials.database_url, credentials.amqp_url
            with Pipeline(api, db, mq) as pipe:
                auth = {"CF_CLIENT_ID": "", "CF_CLIENT_SECRET": ""}
                pipe.start_producer(
                    CF_FOUNDATION="cc", CF_CLIENT_ID=client_id, CF_CLIENT_SECRET=client_secret
                )
                pipe.start_producer(
                    CF_FOUNDATION="pw", CF_USERNAME="meter", CF_PASSWORD=user_password, **auth
                )
                pipe.start_producer(CF_FOUNDATION="tok", CF_TOKEN=cf_token, **auth)
                refused = pipe.start_producer(
                    CF_FOUNDATION="bad", CF_CLIENT_ID=client_id, CF_CLIENT_SECRET=wrong_secret
                )
                pipe.start_consumers(1)
                wrong_mq = with_credentials(mq, "guest", wrong_mq_password)
                (refused_consumer,) = pipe.start_consumers(1, AMQP_URL=wrong_mq)
                no_db = with_credentials(db, "nobody", credentials.secrets[0], port=free_port())
                (dbless,) = pipe.start_consumers(1, DATABASE_URL=no_db)
                reporter = pipe.start_reporter(
                    DATABASE_URL=db_proxy.url_for(db), REPORT_DB_RETRIES="0"
                )

                expected = pipeline.api_guids(api)
                pipe.wait_stored(expected)
                wait_until(lambda: "cf_api_refused" in refused.logs(), what="bad secret refused")
                wait_until(
                    lambda: refused_consumer.logs().count("broker_unavailable") >= 2,
                    what="wrong broker password refused",
                )
                wait_until(lambda: "waiting_for_database" in dbless.logs(), what="db wait")
                wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter")

                replies: list[Any] = [
                    client.call(amqp_url, orjson.dumps(GOOD_REQUEST), 30),
                    client.call(amqp_url, b'{"from": "postgres://u:p@h/db"}', 30),
                ]
                db_proxy.cut()
                replies.append(client.call(amqp_url, orjson.dumps(GOOD_REQUEST), 60))
                db_proxy.restore()
                assert [r["status"] for r in replies] == ["ok", "error", "error"], replies
                assert replies[2]["error"]["code"] == "unavailable"
                outputs += [orjson.dumps(r).decode() for r in replies]

                dead_letters = subprocess.run(
                    [sys.executable, "-m", "paas_billing", "dead-letters", "list"],
                    env={"AMQP_URL": wrong_mq, "PATH": "/usr/bin:/bin"},
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert dead_letters.returncode != 0
                outputs += [dead_letters.stdout, dead_letters.stderr]

                assert set(pipe.stop_all().values()) == {0}
                outputs.append(pipe.logs())
        finally:
            sim.stop()

    issued = re.findall(rb'"(?:access|refresh)_token":\s*"([^"]+)"', bytes(cf_proxy.from_server))
    assert issued, "the recording proxy saw no token"
    known += sorted({token.decode() for token in issued})
    everything = "\n".join(outputs)
    # The run did produce the failures it is meant to cover.
    for event in ("cf_api_refused", "broker_unavailable", "waiting_for_database"):
        assert event in everything
    for grant in ("client_credentials", "password"):  # both grants really authenticated
        assert f'"grant": "{grant}", "expires_in"' in everything, grant
    assert not leaks(everything, known), leaks(everything, known)
