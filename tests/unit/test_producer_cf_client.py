"""The CF client's translation of answers: pages, lost cursors, 401 renewal, 429, 403."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest
from prometheus_client import CollectorRegistry

from producer.cf_client import CloudController
from producer.metrics import ProducerMetrics
from shared import errors
from shared.states import ApiVersion, EventKind
from shared.transport import Reply

GUID = "5a3416b0-cf3c-425a-a14c-45a317c497ed"
V2_LOST = {
    "description": f"The query parameter is invalid: {GUID}",
    "error_code": "CF-BadQueryParameter",
    "code": 10005,
}
V3_LOST = {
    "errors": [
        {
            "detail": "After guid filter must be a valid app usage event guid.",
            "title": "CF-UnprocessableEntity",
            "code": 10008,
        }
    ]
}


class Tokens:
    def __init__(self) -> None:
        self.renewals = 0

    def token(self) -> str:
        return f"t{self.renewals}"

    def renew(self) -> str:
        self.renewals += 1
        return self.token()


class Scripted:
    """Answers GETs from a list, in order; records the requests."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, dict[str, str | int], str]] = []

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        self.requests.append((url, dict(params or {}), (headers or {})["Authorization"]))
        return self.replies.pop(0)


def client(transport: Scripted, version: ApiVersion = ApiVersion.V2) -> CloudController:
    return CloudController(
        transport,  # type: ignore[arg-type]
        "https://api.example.org",
        Tokens(),
        version,
        ProducerMetrics(CollectorRegistry()),
    )


def v2_page(*guids: str) -> bytes:
    resources = [
        {"metadata": {"guid": g, "created_at": "2026-01-01T00:00:00Z"}, "entity": {"x": 1}}
        for g in guids
    ]
    return orjson.dumps({"total_results": len(guids), "resources": resources, "next_url": None})


def test_cf_client_v2_keyset_request_and_raw_resources() -> None:
    transport = Scripted(Reply(200, v2_page("a", "b"), None))
    events = client(transport).fetch(EventKind.SERVICE, "prev", 100)
    url, params, auth = transport.requests[0]
    assert url == "https://api.example.org/v2/service_usage_events"
    assert params == {"results-per-page": 100, "after_guid": "prev"}
    assert auth == "bearer t0"
    assert [e.guid for e in events] == ["a", "b"]
    assert orjson.loads(bytes(events[0].resource))["entity"] == {"x": 1}


def test_cf_client_v3_uses_per_page_and_omits_after_guid_on_first_run() -> None:
    body = orjson.dumps(
        {"pagination": {}, "resources": [{"guid": "a", "created_at": "2026-01-01T00:00:00Z"}]}
    )
    transport = Scripted(Reply(200, body, None))
    events = client(transport, ApiVersion.V3).fetch(EventKind.APP, None, 5000)
    assert transport.requests[0][:2] == (
        "https://api.example.org/v3/app_usage_events",
        {"per_page": 5000},
    )
    assert events[0].created_at is not None


def test_cf_client_v2_400_on_after_guid_is_cursor_lost() -> None:
    transport = Scripted(Reply(400, orjson.dumps(V2_LOST), None))
    with pytest.raises(errors.CursorLost) as lost:
        client(transport).fetch(EventKind.APP, GUID, 50)
    assert lost.value.guid == GUID


def test_cf_client_v3_422_on_after_guid_is_cursor_lost() -> None:
    transport = Scripted(Reply(422, orjson.dumps(V3_LOST), None))
    with pytest.raises(errors.CursorLost):
        client(transport, ApiVersion.V3).fetch(EventKind.APP, GUID, 50)


def test_cf_client_other_400_is_refused_not_lost() -> None:
    body = {"description": "results_per_page must be <= 100", "error_code": "CF-BadQueryParameter"}
    transport = Scripted(Reply(400, orjson.dumps(body), None))
    with pytest.raises(errors.CloudFoundryRefused):
        client(transport).fetch(EventKind.SERVICE, GUID, 500)


def test_cf_client_401_renews_once_and_retries_the_call() -> None:
    transport = Scripted(Reply(401, b"{}", None), Reply(200, v2_page("a"), None))
    assert len(client(transport).fetch(EventKind.APP, None, 50)) == 1
    assert [r[2] for r in transport.requests] == ["bearer t0", "bearer t1"]


def test_cf_client_401_after_renewal_is_authentication_failed() -> None:
    transport = Scripted(Reply(401, b"{}", None), Reply(401, b"{}", None))
    with pytest.raises(errors.AuthenticationFailed):
        client(transport).fetch(EventKind.APP, None, 50)
    assert len(transport.requests) == 2


def test_cf_client_429_is_transient_with_retry_after() -> None:
    transport = Scripted(Reply(429, b"{}", 12.0))
    with pytest.raises(errors.CloudFoundryUnavailable) as unavailable:
        client(transport).fetch(EventKind.APP, None, 50)
    assert unavailable.value.retry_after == 12.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_cf_client_5xx_is_transient(status: int) -> None:
    with pytest.raises(errors.CloudFoundryUnavailable):
        client(Scripted(Reply(status, b"<html>", None))).fetch(EventKind.APP, None, 50)


def test_cf_client_403_is_refused_with_what_to_grant() -> None:
    with pytest.raises(errors.CloudFoundryRefused, match="admin_read_only"):
        client(Scripted(Reply(403, b"{}", None))).fetch(EventKind.APP, None, 50)


def test_cf_client_malformed_page_is_transient() -> None:
    with pytest.raises(errors.CloudFoundryUnavailable, match="malformed"):
        client(Scripted(Reply(200, b"<html>", None))).fetch(EventKind.APP, None, 50)
