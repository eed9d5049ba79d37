"""The demo's API and dashboard users: an admin, a billing manager of one org, a user with
no role.

The simulator starts with the two extra users (`--users`); once the first report names an
org, the admin makes the billing manager that org's billing manager through `POST
/v3/roles`, as an operator would with `cf set-org-role`. Then the demo prints how to get a
token for each and call the API with curl, and the dashboard's address.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import orjson
import requests

# username -> password; `admin`/`admin` is the simulator's own admin.
USERS = {"admin": "admin", "billing-manager": "billing-manager", "no-role": "no-role"}
# Seconds to wait for the simulator's answers.
TIMEOUT = 10


def users_file(directory: Path) -> Path:
    path = directory / "demo-users.json"
    extra = [
        {"username": name, "password": password, "scopes": ["cloud_controller.read", "openid"]}
        for name, password in USERS.items()
        if name != "admin"
    ]
    path.write_bytes(orjson.dumps({"users": extra}))
    return path


def token(cf_url: str, username: str) -> str:
    response = requests.post(
        cf_url + "/oauth/token",
        auth=("cf", ""),
        data={"grant_type": "password", "username": username, "password": USERS[username]},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def make_billing_manager(cf_url: str, org_guid: str) -> None:
    body = {
        "type": "organization_billing_manager",
        "relationships": {
            "user": {"data": {"username": "billing-manager"}},
            "organization": {"data": {"guid": org_guid}},
        },
    }
    headers = {"Authorization": f"bearer {token(cf_url, 'admin')}"}
    response = requests.post(cf_url + "/v3/roles", json=body, headers=headers, timeout=TIMEOUT)
    response.raise_for_status()


def instructions(cf_url: str, api_url: str, org_guid: str, window: tuple[str, str]) -> str:
    query = urlencode({"from": window[0], "to": window[1], "org_guid": org_guid})
    lines = [
        f"HTTP API at {api_url} (docs/api.md). Users (password = username): admin (every org),",
        f"billing-manager (billing manager of org {org_guid}), no-role (no org). Try:",
        "",
    ]
    for user in USERS:
        lines += [
            f"  TOKEN=$(curl -s -u cf: -d grant_type=password -d username={user} "
            f"-d password={USERS[user]} {cf_url}/oauth/token | "
            "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
            f"  curl -s -H \"Authorization: Bearer $TOKEN\" '{api_url}/v1/usage?{query}'",
            "",
        ]
    lines += [
        f"Dashboard at {api_url}/ (docs/dashboard.md): open it in a browser and sign in as",
        "admin / admin (every org, ranked), billing-manager / billing-manager (that org's",
        "page), or no-role / no-role (no org to see).",
        "",
        "admin gets the org's report (and all orgs without org_guid), billing-manager",
        "its own org only, no-role a 403.",
    ]
    return "\n".join(lines)
