"""The dashboard through the real API process and the simulator's UAA, for tests.

`stack` starts `python -m simulator` (the demo's users: `admin`, `billing-manager` of ORG_A,
`no-role`) and `python -m tenant_api` with the dashboard's client, over a database holding
`history()` (October 2026, two orgs) and the contract's sample pricing. `replicas` starts
several API processes with the same settings behind nothing, as replicas behind a
round-robin router (browsers come back from the UAA to the first one's address, the
`DASHBOARD_URL` they share). `sign_in` goes through the sign-in as a browser without
JavaScript would: the API's redirect, the UAA's login form, the callback.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import orjson
import requests

from paas_billing import demo_users
from shared import db, pricing_file, pricing_store
from simulator.accounts import DASHBOARD_CLIENT
from tests.simulator import fixtures
from tests.support import api, event_rows, pricing_documents, processes

TIMEOUT = 30
ORG_A, ORG_B = api.ORG_A, api.ORG_B
# The month the history fills (wholly in the past), as the dashboard names it.
MONTH = "2026-10"
WINDOW = {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
OCT = datetime(2026, 10, 1, tzinfo=UTC)
# The demo's users; the billing manager manages ORG_A.
PASSWORDS = demo_users.USERS
ROLES = {"billing-manager": [{"type": "organization_billing_manager", "org_guid": ORG_A}]}
_HIDDEN = re.compile(r'<input type=hidden name="([^"]+)" value="([^"]*)">')


def _guid(name: str) -> str:
    return name.ljust(36, "0")


def _app(events: event_rows.History, at: datetime, name: str, space: str, **kw: Any) -> None:
    """A process event of app `name` in space `space` (of ORG_A unless `org_guid` says)."""
    kw.setdefault("org_guid", ORG_A)
    events.app(at, kw.pop("state", "STARTED"), process_guid=_guid(name), app_name=name,
               space_guid=f"space-{space}", space_name=space, **kw)  # fmt: skip


def history() -> event_rows.History:
    """ORG_A: two spaces, two apps (one scaled mid-month), a task (no task plan: priced 0, a
    warning), a database on the priced plan; ORG_B: one app. October 2026."""
    events = event_rows.History()
    _app(events, OCT - timedelta(days=2), "shop-web", "shop", instance_count=2)
    _app(events, OCT + timedelta(days=9, hours=12), "shop-web", "shop", instance_count=4,
         previous_state="STARTED", previous_instance_count=2)  # fmt: skip
    _app(events, OCT + timedelta(days=3), "docs", "docs", memory_in_mb_per_instance=512)
    _app(events, OCT + timedelta(days=20), "docs", "docs", state="STOPPED",
         memory_in_mb_per_instance=512, previous_state="STARTED")  # fmt: skip
    _app(events, OCT - timedelta(days=2), "blog", "blog", org_guid=ORG_B)
    for state, hour in (("TASK_STARTED", 1), ("TASK_STOPPED", 3)):
        events.app(OCT + timedelta(days=5, hours=hour), state, task_guid=_guid("migrate"),
                   task_name="migrate", parent_app_guid=_guid("shop-web"), org_guid=ORG_A,
                   space_guid="space-shop", space_name="shop")  # fmt: skip
    events.service(OCT + timedelta(days=1, hours=22, minutes=30), "CREATED", _guid("db"),
                   service_instance_name="shop-db", org_guid=ORG_A, space_guid="space-shop",
                   space_name="shop", service_plan_guid=pricing_documents.SERVICE_PLAN,
                   service_plan_name="small", service_label="postgres")  # fmt: skip
    return events


def users_file(directory: Path) -> Path:
    users = [
        {"username": name, "password": password, "scopes": ["cloud_controller.read", "openid"],
         "roles": ROLES.get(name, [])}
        for name, password in PASSWORDS.items()
        if name != "admin"
    ]  # fmt: skip
    path = directory / "users.json"
    path.write_bytes(orjson.dumps({"users": users}))
    return path


def prepare(database_url: str) -> None:
    event_rows.insert(database_url, history())
    content = orjson.dumps(pricing_documents.sample())
    conn = db.connect(database_url)
    try:
        pricing_store.apply(conn, content, "sample.json", pricing_file.parse(content))
    finally:
        conn.close()


@dataclass
class Stack:
    url: str  # the API and its dashboard
    cf_url: str  # the simulator: Cloud Controller and UAA
    api: processes.Process

    def token(self, username: str) -> str:
        """A password-grant token (the cf CLI's way), for `/v1`."""
        return demo_users.token(self.cf_url, username)

    def bill(self, username: str, org: str) -> dict[str, Any]:
        response = requests.get(
            self.url + "/v1/bills",
            params={**WINDOW, "org_guid": org},
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def stack(database_url: str, workdir: Path, login_host: str | None = None) -> Iterator[Stack]:
    """The simulator and the API. With `login_host`, the simulator tells services its
    address as 127.0.0.1 and browsers as `login_host` (docker compose's split: the API
    reaches `simulator:8080`, browsers `localhost:8080`)."""
    flags: dict[str, object] = {}
    if login_host is not None:
        port = api.free_port()
        flags = {
            "port": port,
            "api_url": f"http://127.0.0.1:{port}",
            "login_url": f"http://{login_host}:{port}",
        }
    simulator = fixtures.start_simulator(events=50, users=users_file(workdir), **flags)
    try:
        port = api.free_port()
        url = f"http://127.0.0.1:{port}"
        process, url, _metrics = api.start_api(
            database_url,
            simulator.url,
            port=port,
            DASHBOARD_CLIENT_ID=DASHBOARD_CLIENT[0],
            DASHBOARD_CLIENT_SECRET=DASHBOARD_CLIENT[1],
            DASHBOARD_URL=url,
        )
        with processes.running(process):
            yield Stack(url, simulator.url, process)
    finally:
        simulator.stop()


@dataclass
class Replicas:
    """API processes with the same dashboard settings over one simulator and database."""

    cf_url: str
    dashboard_url: str  # where the UAA sends browsers back: the first replica's address
    urls: list[str]
    database_url: str
    env: dict[str, str]
    _running: ExitStack = field(repr=False)
    processes: list[processes.Process] = field(default_factory=list)

    def start(self, port: int | None = None, **env: str) -> str:
        """Another replica (these settings, but for `env`); its address. Stopped at the end."""
        process, url, _metrics = api.start_api(
            self.database_url, self.cf_url, port, **{**self.env, **env}
        )
        self._running.enter_context(processes.running(process))
        self.processes.append(process)
        self.urls.append(url)
        return url

    def stop(self, url: str) -> int:
        """SIGTERM the replica at `url`; its exit code."""
        return self.processes[self.urls.index(url)].stop()

    def logs(self, url: str) -> str:
        return self.processes[self.urls.index(url)].logs()


@contextmanager
def replicas(database_url: str, workdir: Path, count: int = 2, **env: str) -> Iterator[Replicas]:
    """The simulator and `count` replicas of the API sharing DASHBOARD_URL (the first's)."""
    simulator = fixtures.start_simulator(events=50, users=users_file(workdir))
    try:
        with ExitStack() as running:
            port = api.free_port()
            url = f"http://127.0.0.1:{port}"
            shared_env = {
                "DASHBOARD_CLIENT_ID": DASHBOARD_CLIENT[0],
                "DASHBOARD_CLIENT_SECRET": DASHBOARD_CLIENT[1],
                "DASHBOARD_URL": url,
                **env,
            }
            found = Replicas(simulator.url, url, [], database_url, shared_env, running)
            found.start(port)
            for _ in range(count - 1):
                found.start()
            yield found
    finally:
        simulator.stop()


def login_form(page: requests.Response) -> dict[str, str]:
    """The hidden fields of the simulator's login form."""
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}


def sign_in(
    url: str,
    username: str,
    password: str | None = None,
    callback_url: str | None = None,
) -> requests.Session:
    """A browser-like session signed in to the dashboard at `url` (no JavaScript). With
    `callback_url`, the UAA's redirect back is taken there instead (another replica)."""
    browser = requests.Session()
    started = browser.get(url + "/sign-in", allow_redirects=False, timeout=TIMEOUT)
    assert started.status_code == 303, started.text
    login = browser.get(started.headers["Location"], timeout=TIMEOUT)
    assert login.status_code == 200, login.text
    form = {**login_form(login), "username": username,
            "password": PASSWORDS[username] if password is None else password}  # fmt: skip
    back = browser.post(
        urljoin(login.url, "/oauth/authorize"), data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert back.status_code == 302, back.text
    callback = back.headers["Location"]
    if callback_url is not None:
        there = urlsplit(callback_url)
        callback = urlunsplit(urlsplit(callback)._replace(scheme=there.scheme, netloc=there.netloc))
    landed = browser.get(callback, allow_redirects=False, timeout=TIMEOUT)
    assert landed.status_code == 303, landed.text
    return browser
