"""The producer recognises a purge-and-reseed row, whose cursor a later purge can re-emit."""

from __future__ import annotations

from producer.page import FetchedEvent, is_reseed_shaped, parse_event
from shared.states import ApiVersion

G = "0c8e3b9a-1111-4a5e-9d3c-6b1f0e2a7c41"
OTHER = "5d2f7a1c-2222-4b6e-8c4d-7a2e1f3b8d52"


def event(resource: dict[str, object]) -> FetchedEvent:
    return FetchedEvent(G, None, None, resource)


def test_producer_reseed_shape_v2_and_v3() -> None:
    """Event guid = process guid (app) or instance guid (service); anything else is not."""
    assert is_reseed_shaped(ApiVersion.V2, event({"entity": {"app_guid": G}}))
    assert is_reseed_shaped(ApiVersion.V2, event({"entity": {"service_instance_guid": G}}))
    assert not is_reseed_shaped(ApiVersion.V2, event({"entity": {"app_guid": OTHER}}))
    assert not is_reseed_shaped(ApiVersion.V2, event({"entity": "broken"}))
    assert is_reseed_shaped(ApiVersion.V3, event({"process": {"guid": G}}))
    assert is_reseed_shaped(ApiVersion.V3, event({"service_instance": {"guid": G}}))
    assert not is_reseed_shaped(ApiVersion.V3, event({"process": {"guid": OTHER}, "task": None}))
    assert not is_reseed_shaped(ApiVersion.V3, event({"process": None}))


def test_producer_parse_event_reads_one_resource() -> None:
    v2 = parse_event(
        ApiVersion.V2,
        b'{"metadata": {"guid": "%s", "created_at": "2026-10-01T00:00:00Z"}, "entity": {}}'
        % G.encode(),
    )
    v3 = parse_event(
        ApiVersion.V3, b'{"guid": "%s", "created_at": "2026-10-01T00:00:00Z"}' % G.encode()
    )
    assert (v2.guid, v3.guid) == (G, G)
    assert v2.created_at == v3.created_at is not None
