"""The API process's life: configuration errors, SIGTERM with a request in hand, outages."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests

from tests.support import api, event_rows
from tests.support.api import ORG_A
from tests.support.tcp_proxy import TcpProxy
from tests.support.wait import wait_until


def run_api(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenant_api"],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "postgres://u@h/db"}, "CF_API_ADDRESS"),
        ({"CF_API_ADDRESS": "https://api.example.org"}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://h/db", "CF_API_ADDRESS": "https://x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://u@h/db", "CF_API_ADDRESS": "ftp://x"}, "CF_API_ADDRESS"),
        ({"DATABASE_URL": "postgres://u@h/db", "CF_API_ADDRESS": "https://x", "API_PORT": "eighty"},
         "API_PORT"),
        ({"DATABASE_URL": "postgres://u@h/db", "CF_API_ADDRESS": "https://x",
          "API_ROLES_CACHE_TTL": "soon"}, "API_ROLES_CACHE_TTL"),
    ],
)  # fmt: skip
def test_api_bad_configuration_exits_2_naming_the_variable(env: dict[str, str], named: str) -> None:
    result = run_api(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_api_first_sigterm_finishes_the_request_in_hand_and_exits_0(
    database_url: str, tmp_path: Path
) -> None:
    event_rows.insert(database_url, api.history())
    with api.stack(database_url, tmp_path) as stack:
        token = stack.token("admin")
        blocker = psycopg2.connect(database_url)
        cursor = blocker.cursor()
        cursor.execute("LOCK TABLE app_usage_events IN ACCESS EXCLUSIVE MODE")
        answers: list[requests.Response] = []
        asking = threading.Thread(target=lambda: answers.append(stack.usage(token)))
        asking.start()

        def report_waits_on_the_lock() -> bool:
            with psycopg2.connect(database_url) as watcher, watcher.cursor() as look:
                look.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'paas-billing-api' AND wait_event_type = 'Lock'"
                )
                row = look.fetchone()
            watcher.close()
            return bool(row and row[0])

        wait_until(report_waits_on_the_lock, what="the report waiting on the lock")
        stack.api.signal(signal.SIGTERM)
        wait_until(lambda: "stop_requested" in stack.api.logs(), what="the API to see SIGTERM")
        blocker.rollback()
        blocker.close()
        asking.join(timeout=60)
        assert stack.api.popen.wait(timeout=60) == 0, stack.api.logs()
        assert answers and answers[0].status_code == 200, answers
        assert "api_stopped" in stack.api.logs()


def test_api_database_outage_is_503_in_json(database_url: str, tmp_path: Path) -> None:
    event_rows.insert(database_url, api.history())
    parts = urlsplit(database_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432, refuse=True)
    with proxy, api.stack(proxy.url_for(database_url), tmp_path) as stack:
        token = stack.token("admin")
        assert stack.usage(token).status_code == 200
        proxy.cut()
        down = stack.usage(token)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "unavailable"
        assert "Traceback" not in down.text
        assert stack.get("/healthz").status_code == 503
        proxy.restore()
        assert stack.usage(token).status_code == 200


def test_api_cloud_controller_outage_is_503_and_admins_still_read(
    database_url: str, tmp_path: Path
) -> None:
    event_rows.insert(database_url, api.history())
    with api.stack(database_url, tmp_path) as stack:
        admin, billing = stack.token("admin"), stack.token("billing")
        stack.simulator.stop()
        down = stack.usage(billing, org_guid=ORG_A)
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "unavailable"
        # The keys are cached: tokens still verify, and global readers need no roles.
        assert stack.usage(admin).status_code == 200
