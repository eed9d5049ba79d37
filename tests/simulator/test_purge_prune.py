"""Purge-and-reseed (endpoint and --purge-at) and pruning (spec §5, §7)."""

from __future__ import annotations

import time
from typing import Any

import requests

from tests.simulator import fixtures
from tests.support.wait import wait_until

TIMEOUT = 10


def first_page(url: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(
        url + path, params={"results-per-page": "10000"}, headers=headers, timeout=TIMEOUT
    ).json()
    return body


def test_purge_endpoints_reseed_and_invalidate_cursors() -> None:
    with fixtures.in_process(events=1500) as simulator:
        url = simulator.url
        reader = fixtures.bearer(fixtures.token(url))
        admin = fixtures.bearer(fixtures.admin_token(url))
        old_cursor = simulator.platform.apps.last_guid()
        v2_purge = f"{url}/v2/app_usage_events/destructively_purge_all_and_reseed_started_apps"
        assert requests.post(v2_purge, headers=reader, timeout=TIMEOUT).status_code == 403
        response = requests.post(v2_purge, headers=admin, timeout=TIMEOUT)
        assert (response.status_code, response.content) == (204, b"")
        stale = requests.get(
            url + "/v2/app_usage_events",
            params={"after_guid": old_cursor},
            headers=reader,
            timeout=TIMEOUT,
        )
        assert stale.status_code == 400
        events = first_page(url, "/v2/app_usage_events", reader)["resources"]
        assert isinstance(events, list) and events
        assert len({e["metadata"]["created_at"] for e in events}) == 1
        for e in events:
            entity = e["entity"]
            assert e["metadata"]["guid"] == entity["app_guid"]
            assert entity["state"] == entity["previous_state"] == "STARTED"
            assert entity["process_type"] is None
        v3_purge = f"{url}/v3/service_usage_events/actions/destructively_purge_all_and_reseed"
        assert requests.post(v3_purge, headers=reader, timeout=TIMEOUT).status_code == 403
        response = requests.post(v3_purge, headers=admin, timeout=TIMEOUT)
        assert (response.status_code, response.json()) == (200, {})
        services = requests.get(
            url + "/v3/service_usage_events",
            params={"per_page": "5000"},
            headers=reader,
            timeout=TIMEOUT,
        ).json()["resources"]
        assert services
        assert all(
            s["state"] == "CREATED" and s["guid"] == s["service_instance"]["guid"] for s in services
        )


def test_purge_at_flag_purges_after_the_delay() -> None:
    with fixtures.in_process(events=1500, purge_at="1s") as simulator:
        url = simulator.url
        reader = fixtures.bearer(fixtures.token(url))
        cursor = simulator.platform.apps.last_guid()
        deadline = time.monotonic() + 15
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = requests.get(
                url + "/v2/app_usage_events",
                params={"after_guid": cursor},
                headers=reader,
                timeout=TIMEOUT,
            ).status_code
        assert status == 400
        events = first_page(url, "/v2/app_usage_events", reader)["resources"]
        assert isinstance(events, list)
        assert all(e["entity"]["process_type"] is None for e in events)


def test_prune_deletes_old_events_but_keeps_the_newest_row() -> None:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 40 * 86400))
    with fixtures.in_process(events=2000, start=start, days=30, prune_days=20) as simulator:
        url = simulator.url
        reader = fixtures.bearer(fixtures.token(url))
        cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 20 * 86400 - 5))
        deadline = time.monotonic() + 15
        body = first_page(url, "/v2/app_usage_events", reader)
        while body["resources"][0]["metadata"]["created_at"] < cutoff:
            assert time.monotonic() < deadline
            body = first_page(url, "/v2/app_usage_events", reader)
        assert body["resources"]
    with fixtures.in_process(events=500, start=start, days=30, prune_days=1) as simulator:
        url = simulator.url
        reader = fixtures.bearer(fixtures.token(url))
        newest = simulator.platform.apps.last_guid()
        wait_until(
            lambda: len(simulator.platform.apps) <= 1,
            timeout=15,
            interval=0.02,
            what="pruning down to the newest row",
        )
        events = first_page(url, "/v2/app_usage_events", reader)["resources"]
        assert [e["metadata"]["guid"] for e in events] == [newest]
        caught_up = requests.get(
            url + "/v2/app_usage_events",
            params={"after_guid": newest},
            headers=reader,
            timeout=TIMEOUT,
        )
        assert caught_up.status_code == 200 and caught_up.json()["resources"] == []
