"""Page parsing decides every page as the models did, and names the field and the value.

The reference is the producer's decoders as they were before issue 18 (orjson and pydantic
models, tests/support/reference_decoders.py).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer import page
from shared import decoding, errors
from shared.states import ApiVersion
from tests.support import cf_resources as cf
from tests.support import reference_decoders as reference

STAMP = "2026-10-05T10:00:00Z"

# JSON values, with values the models coerce in lax mode among them.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["", STAMP, "2026-10-05T10:00:00", "yesterday"]),
    st.sampled_from(["3", 3.0, 3.5, True]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(["guid", "created_at", "x"]), scalars, max_size=2),
)
# A guid's, often at its length bounds (in characters, not bytes).
guids = st.one_of(
    st.sampled_from(["", "g", "g" * 255, "g" * 256, "é" * 255, "é" * 256, "😀" * 255, "😀" * 256]),
    values,
)
ENVELOPE_KEYS = ["resources", "total_results", "pagination", "next_url"]
RESOURCE_KEYS = ["guid", "created_at", "metadata", "entity", "state"]
METADATA_KEYS = ["guid", "created_at", "url"]
# Where a change lands: in the resources most often, the whole page seldom.
WHERE = ["resource"] * 4 + ["metadata"] * 4 + ["owner"] * 2 + ["envelope"] * 2 + ["item", "whole"]
# How a page is laid out: as orjson writes it, over lines, with spaces, or in ASCII (every
# other character a `\u` escape).
RENDERERS = {
    "ascii": lambda data: json.dumps(data, separators=(",", ":")).encode(),
    "compact": orjson.dumps,
    "lines": lambda data: json.dumps(data, indent=2, ensure_ascii=False).encode(),
    "tabs": lambda data: json.dumps(data, indent="\t", ensure_ascii=False).encode(),
    "spaces": lambda data: json.dumps(data, ensure_ascii=False).encode(),
}


def comparable(events: list[page.FetchedEvent]) -> list[tuple[object, ...]]:
    """Events with each resource as the JSON value it holds (bytes may differ in layout)."""
    return [
        (e.guid, e.created_at_text, json.loads(bytes(e.resource)), e.reseed_shaped) for e in events
    ]


def assert_decided_alike(version: ApiVersion, body: bytes, kind: str = "page") -> None:
    parse = page.parse_page if kind == "page" else page.parse_event
    try:
        mine: object = parse(version, body)
    except errors.CloudFoundryUnavailable as exc:
        mine = exc
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if kind == "page":
        theirs = reference.decide_page(version, body)
    else:
        theirs = reference.page_resource(version, data)
        if data is None:
            theirs = reference.Decided(False, None, "not JSON", frozenset({"event"}))
    if theirs.accepted:
        assert not isinstance(mine, Exception), (mine, theirs)
        found = mine if isinstance(mine, list) else [mine]
        expected = theirs.result if isinstance(theirs.result, list) else [theirs.result]
        assert comparable(found) == [
            (e.guid, e.created_at_text, e.resource, e.reseed_shaped) for e in expected
        ]
        assert [e.created_at for e in found] == [
            page.parse_time(e.created_at_text) for e in expected
        ]
        assert not any(layout in bytes(e.resource) for e in found for layout in (b"\n", b"\t"))
        return
    assert isinstance(mine, errors.CloudFoundryUnavailable), (mine, theirs)
    prefix = f"the API returned a malformed {version} {kind}: "
    assert str(mine).startswith(prefix), str(mine)
    field = str(mine)[len(prefix) :].split(": ", 1)[0]
    assert field in theirs.fields | {"page", "event", "not UTF-8", "not valid JSON"}, (
        str(mine),
        theirs.fields,
    )


def valid_page(version: ApiVersion, events: int) -> dict[str, Any]:
    if version is ApiVersion.V2:
        resources = [cf.v2_resource(cf.v2_app_entity()) for _ in range(events)]
        return {"total_results": events, "resources": resources}
    resources = [cf.v3_app_resource() for _ in range(events)]
    return {"pagination": {"total_results": events}, "resources": resources}


@st.composite
def mutated_pages(draw: st.DrawFn) -> tuple[ApiVersion, Any, bytes]:
    """A page the API could serve (v2 or v3, read as either), then a few fields changed."""
    shape = draw(st.sampled_from(list(ApiVersion)))
    data: Any = valid_page(shape, draw(st.integers(min_value=0, max_value=3)))
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        resources = data.get("resources") if isinstance(data, dict) else None
        where = draw(st.sampled_from(WHERE))
        if where == "whole":
            data = draw(values)
        elif where == "envelope" and isinstance(data, dict):
            mutate(draw, data, ENVELOPE_KEYS)
        elif isinstance(resources, list) and resources and where == "item":
            resources[draw(st.integers(0, len(resources) - 1))] = draw(values)
        elif isinstance(resources, list) and resources:
            target = draw(st.sampled_from(resources))
            if where == "owner" and isinstance(target, dict):
                make_owner(draw, target)
                continue
            if where == "metadata" and isinstance(target, dict):
                target = target.get("metadata")
            if isinstance(target, dict):
                mutate(draw, target, METADATA_KEYS if where == "metadata" else RESOURCE_KEYS)
    read_as = draw(st.sampled_from([shape, shape, shape, *ApiVersion]))
    return read_as, data, RENDERERS[draw(st.sampled_from(sorted(RENDERERS)))](data)


def make_owner(draw: st.DrawFn, resource: dict[str, Any]) -> None:
    """Give a resource an owner (v2 entity key, v3 object) whose guid is the event's, or
    is not, or is no string."""
    meta = resource.get("metadata")
    guid = meta.get("guid") if isinstance(meta, dict) else resource.get("guid")
    owner_guid = draw(st.sampled_from([guid, guid, "other", None, 5]))
    entity = resource.get("entity")
    if isinstance(entity, dict):
        entity[draw(st.sampled_from(["app_guid", "service_instance_guid"]))] = owner_guid
    key = draw(st.sampled_from(["process", "service_instance"]))
    resource[key] = draw(st.sampled_from([{"guid": owner_guid}, None, owner_guid, {}]))


def mutate(draw: st.DrawFn, target: dict[str, Any], keys: list[str]) -> None:
    key = draw(st.sampled_from(keys))
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(guids if key == "guid" else values)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated_pages())
def test_page_parse_decides_every_page_as_the_models_did(
    case: tuple[ApiVersion, Any, bytes],
) -> None:
    version, _, body = case
    assert_decided_alike(version, body)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated_pages())
def test_page_parse_event_decides_every_resource_as_the_models_did(
    case: tuple[ApiVersion, Any, bytes],
) -> None:
    version, data, _ = case
    resources = data.get("resources") if isinstance(data, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        assert_decided_alike(version, orjson.dumps(resource), "event")


@pytest.mark.parametrize("layout", sorted(RENDERERS))
@pytest.mark.parametrize("version", list(ApiVersion))
def test_page_parse_reads_the_apis_pages_without_lenient_reading(
    version: ApiVersion, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages the API serves take the schema's path alone, and each resource is published
    as orjson would write it, unless spaces alone lay it out or escapes stand for its
    characters."""
    data = valid_page(version, 3)
    data["resources"][1] = data["resources"][1] | {"note": 'café\t"quoted" \\ 1/2'}
    body = RENDERERS[layout](data)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a page the API serves was read leniently")

    monkeypatch.setattr(decoding, "decode", refuse)
    events = page.parse_page(version, body)
    if layout in ("spaces", "ascii"):  # kept as sent: the same JSON
        assert [json.loads(bytes(e.resource)) for e in events] == data["resources"]
    else:
        assert [bytes(e.resource) for e in events] == [orjson.dumps(r) for r in data["resources"]]
    assert all(event.created_at is not None for event in events)


def test_page_parse_forwards_a_number_orjson_refuses_in_a_field_it_does_not_read() -> None:
    """1e999 is valid JSON but no float: orjson refused the whole page (and the stream
    stalled on it). Its resource is forwarded as sent; the consumer decides it."""
    resource = orjson.dumps(cf.v3_app_resource())[:-1] + b',"odd":1e999}'
    body = b'{"resources":[%s]}' % resource
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    events = page.parse_page(ApiVersion.V3, body)
    assert [bytes(event.resource) for event in events] == [resource]


def test_page_parse_refuses_a_lone_surrogate_anywhere_as_orjson_does() -> None:
    resource = orjson.dumps(cf.v3_app_resource())[:-1] + b',"odd":"\\ud800"}'
    with pytest.raises(errors.CloudFoundryUnavailable, match="malformed v3 page: page: not valid"):
        page.parse_page(ApiVersion.V3, b'{"resources":[%s]}' % resource)


def test_page_parse_refuses_a_page_that_is_not_utf8() -> None:
    body = orjson.dumps(valid_page(ApiVersion.V3, 1)).replace(b"my-app", b"my-\xff")
    with pytest.raises(errors.CloudFoundryUnavailable, match="malformed v3 page"):
        page.parse_page(ApiVersion.V3, body)


@pytest.mark.parametrize("total", ["3", 3.0, True, "three", 3.5, [3]])
def test_page_parse_reads_total_results_as_pydantics_lax_mode_did(total: object) -> None:
    data = valid_page(ApiVersion.V2, 2) | {"total_results": total}
    assert_decided_alike(ApiVersion.V2, orjson.dumps(data))
