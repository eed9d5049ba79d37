"""A value PostgreSQL cannot hold is an invalid request, not an internal error (issue 21,
item 6): a NUL character in any filter got `internal_error` ("the reporter failed to build
a reply") before; now `invalid_request` naming the field, and the reporter carries on."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from reporter import protocol
from tests.support import processes, rpc


@pytest.fixture
def client(amqp_url: str) -> Iterator[rpc.Client]:
    raw = rpc.Client(amqp_url)
    yield raw
    raw.connection.close()


@pytest.mark.parametrize("field", protocol.FILTER_FIELDS)
def test_report_request_with_nul_in_a_filter_is_invalid_naming_the_field(
    database_url: str, amqp_url: str, client: rpc.Client, field: str
) -> None:
    request = orjson.dumps({**orjson.loads(rpc.GOOD), field: ["ok", "a\x00b"]})
    with processes.running(rpc.start_reporter(database_url, amqp_url)):
        reply = client.wait(client.send(request))
        assert client.wait(client.send())["status"] == "ok"
    assert reply["status"] == "error"
    assert reply["error"]["code"] == "invalid_request", reply
    assert reply["error"]["field"] == field
    assert "NUL" in reply["error"]["message"]
