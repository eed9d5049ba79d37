"""Paging through the whole history over HTTP, v2 and v3, keyset and next links."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from simulator import history
from simulator.recorder import NullRecorder
from simulator.rows import AppRow, ServiceRow
from tests.simulator.conftest import EVENTS, SEED, START

TIMEOUT = 10


def expected_guids() -> tuple[list[str], list[str]]:
    """The history's guids in id order, regenerated from the same seed."""
    start = int(datetime.fromisoformat(START.replace("Z", "+00:00")).timestamp())
    world = history.world_for(SEED, EVENTS, start, NullRecorder())
    rows = list(history.generate(world, start, start + 30 * 86400, EVENTS))
    return (
        [r.guid for r in rows if isinstance(r, AppRow)],
        [r.guid for r in rows if isinstance(r, ServiceRow)],
    )


def keyset(
    session: requests.Session, url: str, path: str, size_param: str, size: int, guid_of: object
) -> list[str]:
    guids: list[str] = []
    cursor: str | None = None
    while True:
        params = {size_param: str(size)}
        if cursor is not None:
            params["after_guid"] = cursor
        response = session.get(url + path, params=params, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        page = [guid_of(r) for r in response.json()["resources"]]  # type: ignore[operator]
        guids += page
        if len(page) < size:
            return guids
        cursor = page[-1]


def v2_guid(resource: dict[str, dict[str, str]]) -> str:
    return resource["metadata"]["guid"]


def v3_guid(resource: dict[str, str]) -> str:
    return resource["guid"]


@pytest.mark.parametrize(
    ("path", "size_param", "guid_of", "table"),
    [
        ("/v2/app_usage_events", "results-per-page", v2_guid, 0),
        ("/v2/service_usage_events", "results-per-page", v2_guid, 1),
        ("/v3/app_usage_events", "per_page", v3_guid, 0),
        ("/v3/service_usage_events", "per_page", v3_guid, 1),
    ],
)
def test_paging_keyset_returns_every_event_once_in_id_order(
    url: str,
    reader_headers: dict[str, str],
    path: str,
    size_param: str,
    guid_of: object,
    table: int,
) -> None:
    session = requests.Session()
    session.headers.update(reader_headers)
    guids = keyset(session, url, path, size_param, 37, guid_of)
    assert guids == expected_guids()[table]


def test_paging_v2_next_url_walks_the_whole_table(url: str, reader_headers: dict[str, str]) -> None:
    session = requests.Session()
    session.headers.update(reader_headers)
    first = session.get(
        f"{url}/v2/app_usage_events", params={"results-per-page": 100}, timeout=TIMEOUT
    ).json()
    first_guid = first["resources"][0]["metadata"]["guid"]
    link: str | None = f"/v2/app_usage_events?after_guid={first_guid}&results-per-page=100"
    guids = [first_guid]
    pages = 0
    while link is not None:
        assert link.startswith("/v2/app_usage_events?")  # relative, as CF renders it
        body = session.get(url + link, timeout=TIMEOUT).json()
        guids += [r["metadata"]["guid"] for r in body["resources"]]
        link = body["next_url"]
        pages += 1
    assert guids == expected_guids()[0]
    assert pages == body["total_pages"]
    assert body["prev_url"] == (
        f"/v2/app_usage_events?after_guid={first_guid}"
        f"&order-direction=asc&page={pages - 1}&results-per-page=100"
    )


def test_paging_v3_next_href_walks_the_whole_table(
    url: str, reader_headers: dict[str, str]
) -> None:
    session = requests.Session()
    session.headers.update(reader_headers)
    link: str | None = f"{url}/v3/service_usage_events?per_page=20"
    guids: list[str] = []
    while link is not None:
        assert link.startswith(url + "/v3/service_usage_events?")  # absolute
        body = session.get(link, timeout=TIMEOUT).json()
        guids += [r["guid"] for r in body["resources"]]
        nxt = body["pagination"]["next"]
        link = nxt["href"] if nxt else None
    assert guids == expected_guids()[1]
    assert body["pagination"]["previous"]["href"].endswith(
        f"page={body['pagination']['total_pages'] - 1}&per_page=20"
    )


def test_paging_empty_pages_have_cf_envelopes(url: str, reader_headers: dict[str, str]) -> None:
    last_app = expected_guids()[0][-1]
    v2 = requests.get(
        f"{url}/v2/app_usage_events",
        params={"after_guid": last_app},
        headers=reader_headers,
        timeout=TIMEOUT,
    )
    assert v2.json() == {
        "total_results": 0,
        "total_pages": 0,
        "prev_url": None,
        "next_url": None,
        "resources": [],
    }
    assert v2.headers["Content-Type"] == "application/json;charset=utf-8"
    v3 = requests.get(
        f"{url}/v3/app_usage_events",
        params={"after_guid": last_app},
        headers=reader_headers,
        timeout=TIMEOUT,
    )
    href = f"{url}/v3/app_usage_events?after_guid={last_app}&page=1&per_page=50"
    assert v3.json() == {
        "pagination": {
            "total_results": 0,
            "total_pages": 1,
            "first": {"href": href},
            "last": {"href": href},
            "next": None,
            "previous": None,
        },
        "resources": [],
    }
    assert v3.headers["Content-Type"] == "application/json; charset=utf-8"


def test_paging_v3_filters_and_single_event(url: str, reader_headers: dict[str, str]) -> None:
    apps = expected_guids()[0]
    chosen = ",".join(apps[5:8])
    body = requests.get(
        f"{url}/v3/app_usage_events",
        params={"guids": chosen},
        headers=reader_headers,
        timeout=TIMEOUT,
    ).json()
    assert [r["guid"] for r in body["resources"]] == apps[5:8]
    after_start = requests.get(
        f"{url}/v3/app_usage_events",
        params={"created_ats[gt]": START, "per_page": "5000"},
        headers=reader_headers,
        timeout=TIMEOUT,
    ).json()
    assert all(r["created_at"] > START for r in after_start["resources"])
    assert (
        "created_ats%5Bgt%5D=2026-01-01T00%3A00%3A00Z" in after_start["pagination"]["first"]["href"]
    )
    one = requests.get(
        f"{url}/v3/app_usage_events/{apps[3]}", headers=reader_headers, timeout=TIMEOUT
    ).json()
    assert one["guid"] == apps[3] and one["updated_at"] == one["created_at"]
    one_v2 = requests.get(
        f"{url}/v2/app_usage_events/{apps[3]}", headers=reader_headers, timeout=TIMEOUT
    ).json()
    assert one_v2["metadata"]["url"] == f"/v2/app_usage_events/{apps[3]}"


def test_paging_discovery_points_at_the_simulator(url: str) -> None:
    root = requests.get(url + "/", timeout=TIMEOUT).json()
    assert root["links"]["uaa"]["href"] == url and root["links"]["login"]["href"] == url
    info = requests.get(url + "/v2/info", timeout=TIMEOUT).json()
    assert info["token_endpoint"] == url
