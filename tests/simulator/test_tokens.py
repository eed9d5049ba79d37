"""UAA grants and token expiry."""

from __future__ import annotations

import base64
import time

import orjson
import requests

from simulator.clock import ManualClock
from tests.simulator import fixtures

TIMEOUT = 10


def post_token(
    url: str, data: dict[str, str], auth: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(url + "/oauth/token", data=data, auth=auth, timeout=TIMEOUT)


def claims(access_token: str) -> dict[str, object]:
    payload = access_token.split(".")[1]
    decoded: dict[str, object] = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def test_tokens_client_credentials_with_basic_auth_and_body(url: str) -> None:
    basic = post_token(url, {"grant_type": "client_credentials"}, fixtures.CLIENT)
    body = post_token(
        url,
        {
            "grant_type": "client_credentials",
            "client_id": fixtures.CLIENT[0],
            "client_secret": fixtures.CLIENT[1],
        },
    )
    for response in (basic, body):
        assert response.status_code == 200
        token = response.json()
        assert token["token_type"] == "bearer"
        assert token["scope"] == "cloud_controller.admin_read_only"
        assert token["expires_in"] > 0 and token["jti"]
        assert "refresh_token" not in token
        assert claims(token["access_token"])["scope"] == ["cloud_controller.admin_read_only"]
        events = requests.get(
            url + "/v2/app_usage_events",
            headers=fixtures.bearer(token["access_token"]),
            timeout=TIMEOUT,
        )
        assert events.status_code == 200
        assert events.headers["X-USER-GUID"] == fixtures.CLIENT[0]


def test_tokens_password_grant_and_refresh(url: str) -> None:
    response = post_token(
        url, {"grant_type": "password", "username": "admin", "password": "admin"}, ("cf", "")
    )
    assert response.status_code == 200
    token = response.json()
    assert "cloud_controller.admin" in token["scope"].split()
    assert token["refresh_token"]
    refreshed = post_token(
        url,
        {
            "grant_type": "refresh_token",
            "client_id": "cf",
            "client_secret": "",
            "refresh_token": token["refresh_token"],
        },
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != token["access_token"]
    assert refreshed.json()["refresh_token"]
    headers = fixtures.bearer(refreshed.json()["access_token"])
    assert (
        requests.get(url + "/v3/app_usage_events", headers=headers, timeout=TIMEOUT).status_code
        == 200
    )
    # A refresh token is not an access token.
    as_bearer = requests.get(
        url + "/v3/app_usage_events",
        timeout=TIMEOUT,
        headers=fixtures.bearer(token["refresh_token"]),
    )
    assert as_bearer.status_code == 401
    bad = post_token(url, {"grant_type": "refresh_token", "refresh_token": "nope"}, ("cf", ""))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"


def test_tokens_query_string_and_get_are_refused(url: str) -> None:
    query = requests.post(
        url + "/oauth/token?grant_type=client_credentials", auth=fixtures.CLIENT, timeout=TIMEOUT
    )
    assert query.status_code == 406
    assert query.json()["error"] == "query_string_not_allowed"
    assert requests.get(url + "/oauth/token", timeout=TIMEOUT).status_code == 405


def test_tokens_expire_after_ttl_on_the_injected_clock() -> None:
    clock = ManualClock(time.time())
    with fixtures.in_process(clock, events=300, token_ttl="30s") as simulator:
        url = simulator.url
        old = fixtures.bearer(fixtures.token(url))
        assert (
            requests.get(url + "/v2/app_usage_events", headers=old, timeout=TIMEOUT).status_code
            == 200
        )
        clock.advance(31)
        for path in ("/v2/app_usage_events", "/v3/app_usage_events"):
            expired = requests.get(url + path, headers=old, timeout=TIMEOUT)
            assert expired.status_code == 401
            assert b"CF-InvalidAuthToken" in expired.content
        fresh = fixtures.bearer(fixtures.token(url))
        assert (
            requests.get(url + "/v2/app_usage_events", headers=fresh, timeout=TIMEOUT).status_code
            == 200
        )


def test_tokens_expire_in_a_real_process() -> None:
    with fixtures.start_simulator(events=300, token_ttl="1s") as simulator:
        url = simulator.url
        token = post_token(url, {"grant_type": "client_credentials"}, fixtures.CLIENT).json()
        assert token["expires_in"] == 0
        headers = fixtures.bearer(token["access_token"])
        deadline = time.monotonic() + 10
        status = 200
        while status == 200 and time.monotonic() < deadline:
            status = requests.get(
                url + "/v2/app_usage_events", headers=headers, timeout=TIMEOUT
            ).status_code
        assert status == 401
        fresh = fixtures.bearer(fixtures.token(url))
        assert (
            requests.get(url + "/v2/app_usage_events", headers=fresh, timeout=TIMEOUT).status_code
            == 200
        )
