"""The API as a real process against the simulator as UAA and Cloud Controller.

`Stack` starts `python -m simulator` (users from `USERS`, signing with a key this module
holds, so tests can mint and forge tokens) and `python -m tenant_api` against a database,
and hands out tokens per user.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import orjson
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.simulator import fixtures
from tests.support import event_rows, processes
from tests.support.wait import wait_until

TIMEOUT = 30
# Orgs and spaces of the test history; users hold roles in them.
ORG_A, ORG_B = "a" * 8 + "-org-a", "b" * 8 + "-org-b"
SPACE_A, SPACE_B = "space-a", "space-b"
# The kid the simulator signs with (simulator.app.SIGNING_KID).
KID = "key-1"
# username -> (password, user_id, scopes or None for the default, roles)
USERS: dict[str, tuple[str, str, list[str] | None, list[dict[str, str]]]] = {
    "auditor": ("auditor-pw", "auditor-id", ["cloud_controller.global_auditor", "openid"], []),
    "reader": ("reader-pw", "reader-id", ["cloud_controller.admin_read_only"], []),
    "billing": ("billing-pw", "billing-id", None,
                [{"type": "organization_billing_manager", "org_guid": ORG_A}]),
    "manager": ("manager-pw", "manager-id", None,
                [{"type": "organization_manager", "org_guid": ORG_B}]),
    "developer": ("developer-pw", "developer-id", None,
                  [{"type": "organization_user", "org_guid": ORG_A},
                   {"type": "space_developer", "org_guid": ORG_A, "space_guid": SPACE_A}]),
    "norole": ("norole-pw", "norole-id", None, []),
    "many": ("many-pw", "many-id", None,
             [{"type": "organization_billing_manager", "org_guid": f"org-{n:03d}"}
              for n in range(230)] + [{"type": "organization_billing_manager",
                                       "org_guid": ORG_B}]),
}  # fmt: skip
# The window of the test history's report: one day, wholly in the past.
DAY = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-02T00:00:00Z"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def users_file(directory: Path) -> Path:
    users = []
    for name, (password, user_id, scopes, roles) in USERS.items():
        entry: dict[str, Any] = {"username": name, "password": password, "user_id": user_id}
        if scopes is not None:
            entry["scopes"] = scopes
        entry["roles"] = roles
        users.append(entry)
    path = directory / "users.json"
    path.write_bytes(orjson.dumps({"users": users}))
    return path


def signing_key(directory: Path) -> tuple[Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "signing.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key


def history() -> event_rows.History:
    """One app per org, 1 x 1 GB all day: 24 GB-hours each; a space apiece."""
    events = event_rows.History()
    for org, space, name in ((ORG_A, SPACE_A, "shop"), (ORG_B, SPACE_B, "blog")):
        events.app(
            DAY - timedelta(days=1), "STARTED", process_guid=(name * 9)[:36], app_name=name,
            org_guid=org, space_guid=space, instance_count=1, memory_in_mb_per_instance=1024,
        )  # fmt: skip
    return events


def mint(key: Any, claims: dict[str, Any], kid: str = KID, algorithm: str = "RS256") -> str:
    """A token signed with `key` (PyJWT), header naming `kid`."""
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def claims_for(user_id: str, scopes: list[str], expires_in: float = 600) -> dict[str, Any]:
    now = int(time.time())
    return {
        "jti": f"jti-{user_id}-{now}",
        "sub": user_id,
        "user_id": user_id,
        "user_name": user_id,
        "client_id": "cf",
        "scope": scopes,
        "iat": now,
        "exp": int(now + expires_in),
        "aud": ["cloud_controller", "openid"],
    }


@dataclass
class Stack:
    simulator: fixtures.RunningSimulator
    api: processes.Process
    url: str
    metrics_url: str
    key: rsa.RSAPrivateKey

    def token(self, username: str) -> str:
        if username == "admin":
            return fixtures.admin_token(self.simulator.url)
        password = USERS[username][0]
        response = requests.post(
            self.simulator.url + "/oauth/token",
            auth=("cf", ""),
            data={"grant_type": "password", "username": username, "password": password},
            timeout=TIMEOUT,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def get(
        self, path: str, token: str | None = None, params: Any = None, **headers: str
    ) -> requests.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url + path, params=params, headers=headers, timeout=TIMEOUT)

    def usage(self, token: str | None, **params: Any) -> requests.Response:
        return self.get("/v1/usage", token, params={**WINDOW, **params})

    def bills(self, token: str | None, **params: Any) -> requests.Response:
        return self.get("/v1/bills", token, params={**WINDOW, **params})


def start_api(
    database_url: str, cf_api_address: str, port: int | None = None, **env: str
) -> tuple[processes.Process, str, str]:
    port, metrics_port = port or free_port(), free_port()
    process = processes.python_module(
        "tenant_api",
        {
            "DATABASE_URL": database_url,
            "CF_API_ADDRESS": cf_api_address,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "METRICS_PORT": str(metrics_port),
            "LOG_LEVEL": "INFO",
            **env,
        },
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if not process.alive():
            raise AssertionError(f"the API exited: {process.logs()}")
        try:
            return requests.get(url + "/healthz", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(healthy, timeout=60, what="the API's /healthz")
    return process, url, f"http://127.0.0.1:{metrics_port}"


@contextmanager
def stack(database_url: str, workdir: Path, **env: str) -> Iterator[Stack]:
    key_path, key = signing_key(workdir)
    simulator = fixtures.start_simulator(
        events=50, users=users_file(workdir), signing_key=key_path, extra_token_keys=1
    )
    try:
        api, url, metrics_url = start_api(database_url, simulator.url, **env)
        with processes.running(api):
            yield Stack(simulator, api, url, metrics_url, key)
    finally:
        simulator.stop()
