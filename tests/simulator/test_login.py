"""The UAA's authorization-code flow: /oauth/authorize, the login page, the code exchange."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import orjson
import requests

from simulator.accounts import DASHBOARD_CLIENT
from tests.simulator.fixtures import ADMIN_USER

TIMEOUT = 10
CALLBACK = "http://127.0.0.1:8123/auth/callback"
VERIFIER = "a-verifier-of-forty-three-characters-at-least-x"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


def authorize_params(**overrides: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": DASHBOARD_CLIENT[0],
        "redirect_uri": CALLBACK,
        "state": "s-123",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return params


def sign_in(url: str, password: str = ADMIN_USER[1], **overrides: str) -> requests.Response:
    form = {**authorize_params(**overrides), "username": "admin", "password": password}
    return requests.post(
        url + "/oauth/authorize", data=form, allow_redirects=False, timeout=TIMEOUT
    )


def exchange(url: str, code: str, verifier: str = VERIFIER, **extra: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    form.update(code_verifier=verifier, **extra)
    return requests.post(url + "/oauth/token", data=form, auth=DASHBOARD_CLIENT, timeout=TIMEOUT)


def code_of(response: requests.Response) -> str:
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == ["s-123"]
    return query["code"][0]


def test_login_authorize_shows_a_labelled_login_form(url: str) -> None:
    page = requests.get(url + "/oauth/authorize", params=authorize_params(), timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<label for=username>" in page.text and "<label for=password>" in page.text
    assert 'name="state" value="s-123"' in page.text


def test_login_signs_in_and_the_code_buys_one_token(url: str) -> None:
    code = code_of(sign_in(url))
    first = exchange(url, code)
    assert first.status_code == 200, first.text
    payload = first.json()["access_token"].split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=="))
    assert claims["grant_type"] == "authorization_code"
    assert claims["user_name"] == "admin"
    assert "cloud_controller.admin_read_only" in claims["scope"]
    assert "cloud_controller.admin" not in claims["scope"]  # not the dashboard client's
    assert exchange(url, code).status_code == 400  # a code is good once


def test_login_wrong_password_stays_on_the_page(url: str) -> None:
    response = sign_in(url, password="wrong")
    assert response.status_code == 401
    assert "Bad credentials" in response.text


def test_login_code_needs_the_right_verifier_and_redirect(url: str) -> None:
    assert exchange(url, code_of(sign_in(url)), verifier="x" * 43).status_code == 400
    other = exchange(url, code_of(sign_in(url)), redirect_uri="http://127.0.0.1:1/other")
    assert other.status_code == 400


def test_login_refuses_an_unregistered_redirect_without_redirecting(url: str) -> None:
    for target in ("http://evil.example/cb", "http://127.0.0.1:80@evil.example/cb"):
        response = requests.get(
            url + "/oauth/authorize",
            params=authorize_params(redirect_uri=target),
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert response.status_code == 400
        assert "Location" not in response.headers


def test_login_cancel_sends_access_denied_back(url: str) -> None:
    form = {**authorize_params(), "cancel": "1"}
    response = requests.post(
        url + "/oauth/authorize", data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["access_denied"]
