"""Token sources: UAA discovery, grants, renewal before expiry, refresh fallback."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest

from producer import uaa
from shared import errors
from shared.transport import Reply

API = "https://api.example.org"


class FakeTransport:
    """Answers like a CF API and UAA would; records every request."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], tuple[str, str] | None]] = []
        self.gets: list[str] = []
        self.root_has_uaa = True
        self.token_status = 200
        self.refresh_status = 200
        self.expires_in = 30
        self.issued = 0

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        self.gets.append(url)
        if url == API + "/":
            links = {"uaa": {"href": "https://uaa.example.org"}} if self.root_has_uaa else {}
            return Reply(200, orjson.dumps({"links": links}), None)
        if url == API + "/v2/info":
            return Reply(200, orjson.dumps({"token_endpoint": "https://login.example.org"}), None)
        return Reply(404, b"{}", None)

    def post_form(
        self, url: str, form: Mapping[str, str], *, auth: tuple[str, str] | None = None
    ) -> Reply:
        self.posts.append((url, dict(form), auth))
        status = self.refresh_status if form["grant_type"] == "refresh_token" else self.token_status
        if status != 200:
            return Reply(status, b'{"error":"unauthorized"}', None)
        self.issued += 1
        body = {"access_token": f"token-{self.issued}", "expires_in": self.expires_in}
        if form["grant_type"] in ("password", "refresh_token"):
            body["refresh_token"] = "refresh-1"
        return Reply(200, orjson.dumps(body), None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_tokens(fake: FakeTransport, clock: Clock) -> uaa.UaaTokens:
    return uaa.UaaTokens(
        fake,  # type: ignore[arg-type]
        API,
        {"grant_type": "client_credentials"},
        ("paas-billing", "paas-billing-secret"),
        "check CF_CLIENT_ID and CF_CLIENT_SECRET",
        clock=clock,
    )


def password_tokens(fake: FakeTransport, clock: Clock) -> uaa.UaaTokens:
    return uaa.UaaTokens(
        fake,  # type: ignore[arg-type]
        API,
        {"grant_type": "password", "username": "admin", "password": "admin"},
        uaa.PASSWORD_CLIENT,
        "check CF_USERNAME and CF_PASSWORD",
        clock=clock,
    )


def test_uaa_discovers_token_url_from_root_links() -> None:
    fake = FakeTransport()
    client_tokens(fake, Clock()).token()
    url, form, auth = fake.posts[0]
    assert url == "https://uaa.example.org/oauth/token"
    assert form == {"grant_type": "client_credentials"}
    assert auth == ("paas-billing", "paas-billing-secret")


def test_uaa_falls_back_to_v2_info_token_endpoint() -> None:
    fake = FakeTransport()
    fake.root_has_uaa = False
    client_tokens(fake, Clock()).token()
    assert fake.posts[0][0] == "https://login.example.org/oauth/token"


def test_uaa_token_is_cached_until_expiry_minus_margin() -> None:
    fake, clock = FakeTransport(), Clock()
    tokens = client_tokens(fake, clock)
    assert tokens.token() == "token-1"
    clock.now += 30 - uaa.renew_margin(30) - 0.1
    assert tokens.token() == "token-1"
    clock.now += 0.2
    assert tokens.token() == "token-2"


def test_uaa_renew_margin_is_a_minute_at_most_and_a_fifth_of_short_lifetimes() -> None:
    assert uaa.renew_margin(43199) == 60.0
    assert uaa.renew_margin(30) == 6.0


def test_uaa_renew_replaces_the_token_after_a_401() -> None:
    fake = FakeTransport()
    tokens = client_tokens(fake, Clock())
    assert tokens.token() == "token-1"
    assert tokens.renew() == "token-2"


def test_uaa_password_grant_uses_cf_client_and_refresh_token() -> None:
    fake = FakeTransport()
    tokens = password_tokens(fake, Clock())
    tokens.token()
    _, form, auth = fake.posts[0]
    assert auth == ("cf", "")
    assert form["grant_type"] == "password"
    tokens.renew()
    assert fake.posts[1][1] == {"grant_type": "refresh_token", "refresh_token": "refresh-1"}


def test_uaa_refresh_failure_falls_back_to_full_grant() -> None:
    fake = FakeTransport()
    tokens = password_tokens(fake, Clock())
    tokens.token()
    fake.refresh_status = 401
    assert tokens.renew() == "token-2"
    assert [p[1]["grant_type"] for p in fake.posts] == ["password", "refresh_token", "password"]


def test_uaa_bad_credentials_raise_authentication_failed_with_hint() -> None:
    fake = FakeTransport()
    fake.token_status = 401
    with pytest.raises(errors.AuthenticationFailed, match="CF_CLIENT_SECRET"):
        client_tokens(fake, Clock()).token()


def test_uaa_server_error_is_transient() -> None:
    fake = FakeTransport()
    fake.token_status = 503
    with pytest.raises(errors.CloudFoundryUnavailable):
        client_tokens(fake, Clock()).token()


def test_uaa_static_token_cannot_be_renewed() -> None:
    source = uaa.StaticToken("abc")
    assert source.token() == "abc"
    with pytest.raises(errors.AuthenticationFailed, match="CF_TOKEN"):
        source.renew()
