"""Injected faults: about --fault-rate of list answers fail with 500, 502 or 429."""

from __future__ import annotations

import requests

from tests.simulator import fixtures

TIMEOUT = 10
REQUESTS = 500


def test_faults_rate_of_a_fifth_fails_about_a_fifth_of_list_requests() -> None:
    with fixtures.in_process(events=300, fault_rate=0.2, seed=5) as simulator:
        url = simulator.url
        session = requests.Session()
        session.headers.update(fixtures.bearer(fixtures.token(url)))
        statuses: list[int] = []
        for n in range(REQUESTS):
            path = "/v2/app_usage_events" if n % 2 else "/v3/service_usage_events"
            response = session.get(
                url + path,
                params={"per_page" if n % 2 == 0 else "results-per-page": "5"},
                timeout=TIMEOUT,
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "1"
                assert b"RateLimitExceeded" in response.content
            elif response.status_code == 500:
                assert b"UnknownError" in response.content
            elif response.status_code == 502:
                assert response.content.startswith(b"502 Bad Gateway")
            else:
                assert response.status_code == 200
        failed = sum(s != 200 for s in statuses)
        # Binomial(500, 0.2): mean 100, sd ~9; allow about 3.5 sd.
        assert 70 <= failed <= 130, failed
        assert {500, 502, 429} <= set(statuses)
        # Faults hit only usage-event lists: tokens and discovery keep working.
        assert all(
            requests.get(url + "/v2/info", timeout=TIMEOUT).status_code == 200 for _ in range(20)
        )
