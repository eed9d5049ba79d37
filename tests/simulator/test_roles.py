"""`/v3/roles`: users from a file, the v3 paging envelope, who sees which roles, creation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests

from simulator.app import Simulator
from tests.simulator import fixtures

TIMEOUT = 10
ORG_A, ORG_B, SPACE_A = "org-a", "org-b", "space-a"
USERS = {
    "users": [
        {"username": "ann", "password": "ann-pw", "user_id": "ann-id",
         "roles": [{"type": "organization_billing_manager", "org_guid": ORG_A}]},
        {"username": "bob", "password": "bob-pw", "user_id": "bob-id",
         "roles": [{"type": "organization_manager", "org_guid": ORG_A},
                   {"type": "organization_manager", "org_guid": ORG_B}]},
        {"username": "dev", "password": "dev-pw", "user_id": "dev-id",
         "roles": [{"type": "organization_user", "org_guid": ORG_B},
                   {"type": "space_developer", "org_guid": ORG_B, "space_guid": SPACE_A}]},
        {"username": "nobody", "password": "nobody-pw"},
        {"username": "many", "password": "many-pw", "user_id": "many-id",
         "roles": [{"type": "organization_billing_manager", "org_guid": f"org-{n:03d}"}
                   for n in range(120)]},
        {"username": "openid-only", "password": "pw", "scopes": ["openid"]},
    ]
}  # fmt: skip


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    path = Path(tmp_path_factory.mktemp("users")) / "users.json"
    path.write_bytes(orjson.dumps(USERS))
    with fixtures.in_process(events=50, users=path) as simulator:
        yield simulator


def login(url: str, username: str, password: str) -> dict[str, str]:
    response = requests.post(
        url + "/oauth/token",
        auth=("cf", ""),
        data={"grant_type": "password", "username": username, "password": password},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return fixtures.bearer(response.json()["access_token"])


def roles(url: str, headers: dict[str, str], **params: str) -> requests.Response:
    return requests.get(url + "/v3/roles", params=params, headers=headers, timeout=TIMEOUT)


def summary(body: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    found = set()
    for r in body["resources"]:
        rel = r["relationships"]
        org = rel["organization"]["data"]
        space = rel["space"]["data"]
        found.add((r["type"], rel["user"]["data"]["guid"], (org or space)["guid"]))
    return found


def test_roles_a_billing_manager_sees_the_roles_of_their_org_members(sim: Simulator) -> None:
    ann = login(sim.url, "ann", "ann-pw")
    body = roles(sim.url, ann).json()
    assert summary(body) == {
        ("organization_billing_manager", "ann-id", ORG_A),
        ("organization_manager", "bob-id", ORG_A),
    }
    mine = roles(sim.url, ann, user_guids="ann-id").json()
    assert summary(mine) == {("organization_billing_manager", "ann-id", ORG_A)}
    # Another user's roles elsewhere stay hidden even when asked for by user guid.
    assert summary(roles(sim.url, ann, user_guids="bob-id").json()) == {
        ("organization_manager", "bob-id", ORG_A)
    }


def test_roles_an_org_manager_sees_space_roles_of_their_orgs(sim: Simulator) -> None:
    bob = login(sim.url, "bob", "bob-pw")
    found = summary(roles(sim.url, bob, types="space_developer").json())
    assert found == {("space_developer", "dev-id", SPACE_A)}


def test_roles_a_user_without_roles_sees_none_and_no_read_scope_is_refused(sim: Simulator) -> None:
    nobody = login(sim.url, "nobody", "nobody-pw")
    body = roles(sim.url, nobody, user_guids=fixtures.ADMIN_USER[0]).json()
    assert body["resources"] == [] and body["pagination"]["total_pages"] == 1
    openid = login(sim.url, "openid-only", "pw")
    refused = roles(sim.url, openid)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["title"] == "CF-NotAuthorized"
    assert roles(sim.url, {}).status_code == 401


def test_roles_pages_with_absolute_links_and_filters(sim: Simulator) -> None:
    many = login(sim.url, "many", "many-pw")
    params = {"user_guids": "many-id", "types": "organization_billing_manager", "per_page": "50"}
    first = roles(sim.url, many, **params).json()
    assert first["pagination"]["total_results"] == 120
    assert first["pagination"]["total_pages"] == 3
    assert first["pagination"]["previous"] is None
    seen = [r["relationships"]["organization"]["data"]["guid"] for r in first["resources"]]
    next_href = first["pagination"]["next"]["href"]
    assert next_href.startswith(sim.url + "/v3/roles?")
    while next_href:
        page = requests.get(next_href, headers=many, timeout=TIMEOUT).json()
        seen += [r["relationships"]["organization"]["data"]["guid"] for r in page["resources"]]
        next_href = (page["pagination"]["next"] or {}).get("href")
    assert seen == [f"org-{n:03d}" for n in range(120)]


def test_roles_refuses_unknown_parameters_and_bad_pages(sim: Simulator) -> None:
    admin = fixtures.bearer(fixtures.admin_token(sim.url))
    unknown = roles(sim.url, admin, garbage="1")
    assert unknown.status_code == 422 and "'garbage'" in unknown.json()["errors"][0]["detail"]
    assert roles(sim.url, admin, per_page="5001").status_code == 422
    assert roles(sim.url, admin, page="0").status_code == 422


def test_roles_admin_sees_all_and_creates_a_role_by_username(sim: Simulator) -> None:
    admin = fixtures.bearer(fixtures.admin_token(sim.url))
    before = roles(sim.url, admin, per_page="5000").json()["pagination"]["total_results"]
    body = {
        "type": "organization_billing_manager",
        "relationships": {
            "user": {"data": {"username": "nobody"}},
            "organization": {"data": {"guid": "org-new"}},
        },
    }
    created = requests.post(sim.url + "/v3/roles", json=body, headers=admin, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    assert created.json()["relationships"]["organization"]["data"] == {"guid": "org-new"}
    again = requests.post(sim.url + "/v3/roles", json=body, headers=admin, timeout=TIMEOUT)
    assert again.status_code == 422
    after = roles(sim.url, admin, per_page="5000").json()["pagination"]["total_results"]
    assert after == before + 1
    nobody = login(sim.url, "nobody", "nobody-pw")
    assert summary(roles(sim.url, nobody).json()) == {
        ("organization_billing_manager", created.json()["relationships"]["user"]["data"]["guid"],
         "org-new")
    }  # fmt: skip
    refused = requests.post(sim.url + "/v3/roles", json=body, headers=nobody, timeout=TIMEOUT)
    assert refused.status_code == 403


def test_roles_a_bad_users_file_stops_the_simulator(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text('{"users": [{"username": "x", "password": "y", "roles": '
                    '[{"type": "space_developer", "org_guid": "o"}]}]}')  # fmt: skip
    with pytest.raises(RuntimeError, match=r"users\.json.*space_guid"):
        fixtures.start_simulator(events=50, users=path, timeout=30)
