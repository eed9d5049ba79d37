"""The CF client and token sources against the simulator (a real HTTP server)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from prometheus_client import CollectorRegistry

from producer import uaa
from producer.cf_client import CloudController
from producer.metrics import ProducerMetrics
from shared import errors
from shared.states import ApiVersion, EventKind
from shared.transport import Transport
from simulator.app import Simulator
from tests.simulator import fixtures
from tests.support.wait import wait_until

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with fixtures.in_process(seed=5, events=600, start="2026-01-01T00:00:00Z") as running:
        yield running
    structlog.reset_defaults()


def client_credentials(url: str, transport: Transport) -> uaa.UaaTokens:
    return uaa.UaaTokens(
        transport,
        url,
        {"grant_type": "client_credentials"},
        fixtures.CLIENT,
        "check CF_CLIENT_ID and CF_CLIENT_SECRET",
    )


def cloud_controller(
    simulator: Simulator, version: ApiVersion, tokens: uaa.TokenSource | None = None
) -> CloudController:
    transport = Transport("paas-billing-tests/1")
    return CloudController(
        transport,
        simulator.url,
        tokens or client_credentials(simulator.url, transport),
        version,
        ProducerMetrics(CollectorRegistry()),
    )


def walk(client: CloudController, kind: EventKind, limit: int) -> list[str]:
    guids: list[str] = []
    after = None
    while True:
        events = client.fetch(kind, after, limit)
        guids += [e.guid for e in events]
        if len(events) < limit:
            return guids
        after = events[-1].guid


@pytest.mark.parametrize("version", list(ApiVersion))
def test_cf_client_keyset_walk_returns_every_event_once(
    simulator: Simulator, version: ApiVersion
) -> None:
    client = cloud_controller(simulator, version)
    total = 0
    for kind in EventKind:
        small = walk(client, kind, 7)
        assert small == walk(client, kind, 100)
        assert len(set(small)) == len(small)
        total += len(small)
    assert total == 600


def test_cf_client_v2_and_v3_list_the_same_events_in_the_same_order(
    simulator: Simulator,
) -> None:
    v2 = walk(cloud_controller(simulator, ApiVersion.V2), EventKind.APP, 100)
    v3 = walk(cloud_controller(simulator, ApiVersion.V3), EventKind.APP, 100)
    assert v2 == v3


@pytest.mark.parametrize("version", list(ApiVersion))
def test_cf_client_unknown_after_guid_is_cursor_lost(
    simulator: Simulator, version: ApiVersion
) -> None:
    with pytest.raises(errors.CursorLost):
        cloud_controller(simulator, version).fetch(EventKind.SERVICE, UNKNOWN, 10)


def test_cf_client_password_grant_reads_events(simulator: Simulator) -> None:
    transport = Transport("paas-billing-tests/1")
    tokens = uaa.UaaTokens(
        transport,
        simulator.url,
        {"grant_type": "password", "username": "admin", "password": "admin"},
        uaa.PASSWORD_CLIENT,
        "check CF_USERNAME and CF_PASSWORD",
    )
    assert cloud_controller(simulator, ApiVersion.V2, tokens).fetch(EventKind.APP, None, 5)


def test_cf_client_bad_client_secret_is_authentication_failed(simulator: Simulator) -> None:
    transport = Transport("paas-billing-tests/1")
    tokens = uaa.UaaTokens(
        transport, simulator.url, {"grant_type": "client_credentials"}, ("paas-billing", "x"), ""
    )
    with pytest.raises(errors.AuthenticationFailed):
        cloud_controller(simulator, ApiVersion.V2, tokens).fetch(EventKind.APP, None, 5)


def test_cf_client_revoked_static_token_says_what_to_fix(simulator: Simulator) -> None:
    client = cloud_controller(simulator, ApiVersion.V2, uaa.StaticToken("not-a-token"))
    with pytest.raises(errors.AuthenticationFailed, match="CF_TOKEN"):
        client.fetch(EventKind.APP, None, 5)


class StaleFirst:
    """Hands out an expired token until told to renew: forces the 401 path."""

    def __init__(self, stale: str, tokens: uaa.UaaTokens) -> None:
        self.stale: str | None = stale
        self.tokens = tokens
        self.renewals = 0

    def token(self) -> str:
        return self.stale or self.tokens.token()

    def renew(self) -> str:
        self.renewals += 1
        self.stale = None
        return self.tokens.renew()


def test_cf_client_renews_expired_token_once_on_401() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with fixtures.in_process(events=50, token_ttl="1s") as simulator:
        transport = Transport("paas-billing-tests/1")
        tokens = client_credentials(simulator.url, transport)
        stale = tokens.token()
        static = cloud_controller(simulator, ApiVersion.V2, uaa.StaticToken(stale))

        def expired() -> bool:
            try:
                static.fetch(EventKind.APP, None, 1)
            except errors.AuthenticationFailed:
                return True
            return False

        wait_until(expired, timeout=10, interval=0.2, what="the 1s token to expire")
        source = StaleFirst(stale, tokens)
        assert cloud_controller(simulator, ApiVersion.V2, source).fetch(EventKind.APP, None, 5)
        assert source.renewals == 1
