"""Live mode: new events keep coming, and some commit late (a lower id appears later)."""

from __future__ import annotations

import time

import requests

from tests.simulator import fixtures
from tests.support.wait import wait_until

TIMEOUT = 10
DEADLINE_SECONDS = 20


def visible_after(session: requests.Session, url: str, cursor: str) -> list[str]:
    body = session.get(
        url + "/v2/app_usage_events",
        timeout=TIMEOUT,
        params={"after_guid": cursor, "results-per-page": "10000"},
    ).json()
    return [r["metadata"]["guid"] for r in body["resources"]]


def test_live_events_keep_coming_and_some_commit_late() -> None:
    with fixtures.in_process(
        events=300, live_rate=40, late_commit_fraction=0.3, late_commit_delay="1s"
    ) as simulator:
        url = simulator.url
        session = requests.Session()
        session.headers.update(fixtures.bearer(fixtures.token(url)))
        cursor = simulator.platform.apps.last_guid()
        assert cursor is not None
        seen: list[str] = []
        late: str | None = None
        deadline = time.monotonic() + DEADLINE_SECONDS
        while late is None and time.monotonic() < deadline:
            now = visible_after(session, url, cursor)
            known = set(seen)
            assert [g for g in now if g in known] == seen, "visible events never move or vanish"
            # A new guid listed before one we had already seen: it has a lower id but
            # became visible later.
            for position, guid in enumerate(now):
                if guid not in known and any(g in known for g in now[position + 1 :]):
                    late = guid
                    break
            seen = now
        assert late is not None, "no late commit observed before the deadline"
        # Live events carry the current time.
        event = session.get(f"{url}/v3/app_usage_events/{late}", timeout=TIMEOUT).json()
        assert event["created_at"] >= time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)
        )


def test_live_after_guid_on_an_uncommitted_event_is_not_found() -> None:
    with fixtures.in_process(
        events=300, live_rate=50, late_commit_fraction=1.0, late_commit_delay="30s"
    ) as simulator:
        url = simulator.url
        headers = fixtures.bearer(fixtures.token(url))
        table = simulator.platform.apps
        before = len(table)
        wait_until(
            lambda: len(table) > before,
            timeout=DEADLINE_SECONDS,
            interval=0.02,
            what="a live event",
        )
        pending = table.last_guid()
        assert pending is not None and len(table) > before
        v2 = requests.get(
            url + "/v2/app_usage_events",
            params={"after_guid": pending},
            headers=headers,
            timeout=TIMEOUT,
        )
        assert v2.status_code == 400
        v3 = requests.get(url + f"/v3/app_usage_events/{pending}", headers=headers, timeout=TIMEOUT)
        assert v3.status_code == 404
