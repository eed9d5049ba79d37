"""The producer recognises a purge-and-reseed row, whose cursor a later purge can re-emit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from producer.page import parse_event, parse_page
from shared.states import ApiVersion

G = "0c8e3b9a-1111-4a5e-9d3c-6b1f0e2a7c41"
OTHER = "5d2f7a1c-2222-4b6e-8c4d-7a2e1f3b8d52"
STAMP = "2026-10-01T00:00:00Z"


def v2(entity: object) -> dict[str, Any]:
    return {"metadata": {"guid": G, "created_at": STAMP}, "entity": entity}


def v3(**owners: object) -> dict[str, Any]:
    return {"guid": G, "created_at": STAMP, **owners}


CASES = [
    (ApiVersion.V2, v2({"app_guid": G}), True),
    (ApiVersion.V2, v2({"service_instance_guid": G}), True),
    (ApiVersion.V2, v2({"app_guid": OTHER}), False),
    (ApiVersion.V2, v2({"app_guid": None, "service_instance_guid": OTHER}), False),
    (ApiVersion.V2, v2({}), False),
    (ApiVersion.V3, v3(process={"guid": G}), True),
    (ApiVersion.V3, v3(service_instance={"guid": G}), True),
    (ApiVersion.V3, v3(process={"guid": OTHER}, task=None), False),
    (ApiVersion.V3, v3(process=None), False),
    (ApiVersion.V3, v3(process={"type": "web"}), False),
    (ApiVersion.V3, v3(), False),
]


@pytest.mark.parametrize(("version", "resource", "reseed"), CASES)
def test_producer_reseed_shape_v2_and_v3(
    version: ApiVersion, resource: dict[str, Any], reseed: bool
) -> None:
    """Event guid = process guid (app) or instance guid (service); anything else is not.
    The same from a page and from one event."""
    [from_page] = parse_page(version, orjson.dumps({"resources": [resource]}))
    from_event = parse_event(version, orjson.dumps(resource))
    assert (from_page.reseed_shaped, from_event.reseed_shaped) == (reseed, reseed)


def test_producer_reseed_shape_of_a_v2_entity_that_is_no_object() -> None:
    with pytest.raises(Exception, match="malformed v2 event"):
        parse_event(ApiVersion.V2, orjson.dumps(v2("broken")))


def test_producer_parse_event_reads_one_resource() -> None:
    v2_event = parse_event(
        ApiVersion.V2,
        b'{"metadata": {"guid": "%s", "created_at": "%s"}, "entity": {}}'
        % (G.encode(), STAMP.encode()),
    )
    v3_event = parse_event(
        ApiVersion.V3, b'{"guid": "%s", "created_at": "%s"}' % (G.encode(), STAMP.encode())
    )
    assert (v2_event.guid, v3_event.guid) == (G, G)
    assert v2_event.created_at == v3_event.created_at is not None
    assert orjson.loads(bytes(v3_event.resource)) == {"guid": G, "created_at": STAMP}
