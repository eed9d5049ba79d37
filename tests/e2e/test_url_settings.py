"""Every process and command stops at once on a malformed DATABASE_URL or AMQP_URL: exit 2,
one line naming the variable, no part of the password (issue 21, item 7).

Before: a password with an unencoded @, / or : was read by libpq or pika as part of the
host or port, and their errors printed it (`could not translate host name "..."`, `Port
could not be cast to integer value as '...'`); a malformed AMQP_URL gave a traceback and
exit 1; a malformed DATABASE_URL port or option was retried forever as an outage.
"""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support import processes

pytestmark = pytest.mark.timeout(180)

# Pieces of the password; none may appear in anything a process prints.
SECRET_PIECES = ("Sx7kq", "Pw9zr", "Qm4tv")
# The password as an operator might paste it, unencoded.
RAW_PASSWORD = f"{SECRET_PIECES[0]}@{SECRET_PIECES[1]}/{SECRET_PIECES[2]}:{SECRET_PIECES[0]}"
# Seconds a process may take to refuse its configuration.
EXIT_WITHIN = 60
# command -> (the URL variables it reads, its arguments, other variables it needs)
COMMANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, str]]] = {
    "producer": (
        ("DATABASE_URL", "AMQP_URL"),
        (),
        {"CF_API_ADDRESS": "http://127.0.0.1:9", "CF_TOKEN": "t"},
    ),
    "consumer": (("DATABASE_URL", "AMQP_URL"), (), {}),
    "reporter": (("DATABASE_URL", "AMQP_URL"), (), {}),
    "migrate": (("DATABASE_URL",), (), {}),
    "report": (("AMQP_URL",), ("--from", "2026-10-01", "--to", "2026-10-02"), {}),
    "dead-letters": (("AMQP_URL",), ("list",), {}),
}
CASES = [(command, variable) for command, (names, _, _) in COMMANDS.items() for variable in names]


def with_raw_password(url: str, user: str, password: str) -> str:
    """The URL with this user and password written in as they are, not encoded."""
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def run(command: str, env: dict[str, str]) -> processes.Process:
    args = COMMANDS[command][1]
    return processes.Process([sys.executable, "-m", "paas_billing", command, *args], env, command)


def refused(process: processes.Process, variable: str) -> str:
    """The one line a process printed before exiting 2; fails if it did anything else."""
    try:
        code = process.popen.wait(timeout=EXIT_WITHIN)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{process.name} still running: {process.logs()[-2000:]}") from None
    output = process.logs()
    for piece in SECRET_PIECES:
        assert piece not in output, f"{process.name} printed part of the password: {output}"
    lines = output.strip().splitlines()
    assert code == 2 and len(lines) == 1, f"{process.name} exited {code}: {output}"
    assert lines[0].startswith(f"configuration error: {variable} is invalid"), output
    return lines[0]


def test_every_command_refuses_a_url_with_an_unencoded_password(
    database_url: str, amqp_url: str
) -> None:
    good = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    bad = {
        "DATABASE_URL": with_raw_password(database_url, "postgres", RAW_PASSWORD),
        "AMQP_URL": with_raw_password(amqp_url, "guest", RAW_PASSWORD),
    }
    started = []
    try:
        for command, variable in CASES:
            names, _, extra = COMMANDS[command]
            env = {name: good[name] for name in names} | extra | {variable: bad[variable]}
            started.append((run(command, env), variable))
        for process, variable in started:
            assert "encode" in refused(process, variable)
    finally:
        for process, _ in started:
            process.close()


MALFORMED = [
    ("DATABASE_URL", "postgres://postgres:{pw}@127.0.0.1:54x2/db", "port"),
    ("DATABASE_URL", "postgres://postgres:{pw}@127.0.0.1:5432/db?sslmode=on", "sslmode"),
    ("DATABASE_URL", "postgres://postgres:{pw}@127.0.0.1:5432/db?password_file=x", "libpq"),
    ("AMQP_URL", "amqp://guest:{pw}@127.0.0.1:56x2/%2f", "port"),
    ("AMQP_URL", "amqp://guest:{pw}@127.0.0.1:5672/%2f?heartbeat=soon", "pika"),
    ("AMQP_URL", "amqp://guest:{pw}@127.0.0.1:5672/a/b", "vhost"),
]


@pytest.mark.parametrize(("variable", "template", "says"), MALFORMED)
def test_consumer_refuses_a_malformed_url_at_start(
    database_url: str, amqp_url: str, variable: str, template: str, says: str
) -> None:
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    env[variable] = template.format(pw=SECRET_PIECES[1])
    with processes.running(run("consumer", env)) as process:
        assert says in refused(process, variable)
