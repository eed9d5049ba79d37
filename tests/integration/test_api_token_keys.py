"""The API's UAA key cache and role look-ups against a simulator running in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from shared import errors
from shared.transport import Reply, Transport
from simulator import keys
from simulator.app import Simulator
from tenant_api import tokens
from tenant_api.roles import OrgRoles
from tenant_api.token_keys import TokenKeys
from tests.simulator import fixtures
from tests.support import api


class CountingTransport(Transport):
    """The real transport, counting the GETs of each path."""

    def __init__(self) -> None:
        super().__init__("test")
        self.paths: list[str] = []

    def get(self, url: str, **kwargs: object) -> Reply:  # type: ignore[override]
        self.paths.append(url.split("?")[0].split("/", 3)[-1])
        return super().get(url, **kwargs)  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[Simulator]:
    with fixtures.in_process(events=50, users=api.users_file(tmp_path)) as running:
        yield running


def test_token_keys_are_fetched_again_for_a_rotated_key(simulator: Simulator) -> None:
    transport, clock = CountingTransport(), Clock()
    cache = TokenKeys(transport, simulator.url, refetch_interval=30, clock=clock)
    first = fixtures.token(simulator.url)
    assert tokens.verify(first, cache).subject == fixtures.CLIENT[0]
    assert transport.paths.count("token_keys") == 1
    tokens.verify(first, cache)
    assert transport.paths.count("token_keys") == 1  # cached
    simulator.authority.keys.rotate(keys.generate("key-new"))
    rotated = fixtures.token(simulator.url)
    clock.now += 31
    assert tokens.verify(rotated, cache).subject == fixtures.CLIENT[0]
    assert transport.paths.count("token_keys") == 2


def test_token_keys_made_up_kids_fetch_at_most_once_per_interval(simulator: Simulator) -> None:
    transport, clock = CountingTransport(), Clock()
    cache = TokenKeys(transport, simulator.url, refetch_interval=30, clock=clock)
    tokens.verify(fixtures.token(simulator.url), cache)
    claims = api.claims_for("x", ["cloud_controller.admin"])
    other = keys.generate("unused").private
    for n in range(50):
        with pytest.raises(errors.InvalidToken, match="does not list"):
            tokens.verify(api.mint(other, claims, kid=f"made-up-{n}"), cache)
    assert transport.paths.count("token_keys") == 1  # within the interval of the first fetch
    clock.now += 31
    for n in range(50):
        with pytest.raises(errors.InvalidToken):
            tokens.verify(api.mint(other, claims, kid=f"made-up-late-{n}"), cache)
    assert transport.paths.count("token_keys") == 2


def test_token_keys_unreachable_uaa_is_unavailable_not_invalid() -> None:
    cache = TokenKeys(Transport("test"), "http://127.0.0.1:9", refetch_interval=30)
    token = api.mint(keys.generate("k").private, api.claims_for("x", []), kid="k")
    with pytest.raises(errors.CloudFoundryUnavailable):
        tokens.verify(token, cache)
    assert not cache.ready()


def test_roles_are_cached_for_the_ttl_then_asked_again(simulator: Simulator) -> None:
    transport, clock = CountingTransport(), Clock()
    cache = TokenKeys(transport, simulator.url, refetch_interval=30, clock=clock)
    roles = OrgRoles(transport, simulator.url, ttl=30, clock=clock)
    token = _login(simulator.url, "billing")
    caller = tokens.verify(token, cache)
    assert roles.managed_orgs(caller) == {api.ORG_A}
    assert roles.managed_orgs(caller) == {api.ORG_A}
    assert transport.paths.count("v3/roles") == 1
    clock.now += 31
    assert roles.managed_orgs(caller) == {api.ORG_A}
    assert transport.paths.count("v3/roles") == 2


def test_roles_of_a_user_with_many_pages(simulator: Simulator) -> None:
    transport = CountingTransport()
    cache = TokenKeys(transport, simulator.url, refetch_interval=30)
    caller = tokens.verify(_login(simulator.url, "many"), cache)
    orgs = OrgRoles(transport, simulator.url, ttl=30).managed_orgs(caller)
    assert len(orgs) == 231 and api.ORG_B in orgs
    assert transport.paths.count("v3/roles") == 3  # 100 per page


def _login(url: str, username: str) -> str:
    response = requests.post(
        url + "/oauth/token",
        auth=("cf", ""),
        data={"grant_type": "password", "username": username, "password": api.USERS[username][0]},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])
