"""Page parsing reads plainly valid pages without orjson and the models, and decides as they do."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from producer import page
from shared import errors
from shared.states import ApiVersion
from tests.support import cf_resources as cf

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


def model_events(version: ApiVersion, data: Any) -> list[page.FetchedEvent]:
    """The page's events as orjson and the models alone decide them."""
    if version is ApiVersion.V2:
        return [model_v2(r) for r in page.V2Page.model_validate(data).resources]
    return [model_v3(r) for r in page.V3Page.model_validate(data).resources]


def model_v2(raw: dict[str, Any]) -> page.FetchedEvent:
    meta = page.V2Resource.model_validate(raw).metadata
    entity = raw["entity"]
    reseed = meta.guid in (entity.get("app_guid"), entity.get("service_instance_guid"))
    created = page.parse_time(meta.created_at)
    return page.FetchedEvent(meta.guid, created, meta.created_at, orjson.dumps(raw), reseed)


def model_v3(raw: dict[str, Any]) -> page.FetchedEvent:
    head = page.V3Resource.model_validate(raw)
    owners = [raw.get("process"), raw.get("service_instance")]
    reseed = any(isinstance(o, dict) and o.get("guid") == head.guid for o in owners)
    created = page.parse_time(head.created_at)
    return page.FetchedEvent(head.guid, created, head.created_at, orjson.dumps(raw), reseed)


def comparable(result: tuple[str, object]) -> tuple[str, object]:
    """Events with each resource as the JSON value it holds (bytes may differ in layout)."""
    kind, value = result
    if kind != "events":
        return result
    assert isinstance(value, list)
    return kind, [event._replace(resource=json.loads(event.resource)) for event in value]


def outcome(parse: Any, *args: Any) -> tuple[str, object]:
    try:
        return "events", parse(*args)
    except (errors.CloudFoundryUnavailable, ValidationError) as exc:
        return "refused", str(exc).splitlines()[0]


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
def test_page_parse_decides_every_page_as_the_models_do(
    case: tuple[ApiVersion, Any, bytes],
) -> None:
    version, _, body = case
    mine = outcome(page.parse_page, version, body)
    theirs = outcome(model_events, version, orjson.loads(body))
    if theirs[0] == "refused":
        assert mine == ("refused", f"the API returned a malformed {version} page: {theirs[1]}")
    else:
        assert comparable(mine) == comparable(theirs)
        events = mine[1]
        assert isinstance(events, list)
        assert not any(layout in e.resource for e in events for layout in (b"\n", b"\t"))


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated_pages())
def test_page_parse_event_decides_every_resource_as_the_models_do(
    case: tuple[ApiVersion, Any, bytes],
) -> None:
    version, data, _ = case
    resources = data.get("resources") if isinstance(data, dict) else None
    for resource in resources if isinstance(resources, list) else []:
        body = orjson.dumps(resource)
        mine = outcome(page.parse_event, version, body)
        if not isinstance(resource, dict):
            assert mine[0] == "refused"
            continue
        model = model_v2 if version is ApiVersion.V2 else model_v3
        theirs = outcome(model, orjson.loads(body))
        if theirs[0] == "refused":
            assert mine == ("refused", f"the API returned a malformed {version} event: {theirs[1]}")
        else:
            assert mine == ("events", theirs[1])


@pytest.mark.parametrize("layout", sorted(RENDERERS))
@pytest.mark.parametrize("version", list(ApiVersion))
def test_page_parse_reads_the_apis_pages_without_orjson_or_the_models(
    version: ApiVersion, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages the API serves take the fast path (else the tests above prove little), and
    each resource is published as orjson would write it, unless spaces alone lay it out or
    escapes stand for its characters."""
    data = valid_page(version, 3)
    data["resources"][1] = data["resources"][1] | {"note": 'café\t"quoted" \\ 1/2'}
    expected = model_events(version, data)
    body = RENDERERS[layout](data)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a plainly valid page went through orjson or a model")

    for model in (page.V2Page, page.V3Page, page.V2Resource, page.V3Resource):
        monkeypatch.setattr(model, "model_validate", refuse)
    monkeypatch.setattr(page.orjson, "loads", refuse)
    events = page.parse_page(version, body)
    if layout in ("spaces", "ascii"):  # kept as sent: the same JSON
        assert comparable(("events", events)) == comparable(("events", expected))
    else:
        assert events == expected
    assert all(event.created_at is not None for event in events)


def test_page_parse_forwards_a_number_orjson_refuses_in_a_field_it_does_not_read() -> None:
    """1e999 is valid JSON but no float: orjson refused the whole page (and the stream
    stalled on it). Read plainly, the resource is forwarded as sent; the consumer decides it."""
    resource = orjson.dumps(cf.v3_app_resource())[:-1] + b',"odd":1e999}'
    body = b'{"resources":[%s]}' % resource
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    events = page.parse_page(ApiVersion.V3, body)
    assert [event.resource for event in events] == [resource]


def test_page_parse_refuses_a_lone_surrogate_anywhere_as_orjson_does() -> None:
    resource = orjson.dumps(cf.v3_app_resource())[:-1] + b',"odd":"\\ud800"}'
    with pytest.raises(errors.CloudFoundryUnavailable, match="malformed v3 page: no low"):
        page.parse_page(ApiVersion.V3, b'{"resources":[%s]}' % resource)


def test_page_parse_refuses_a_page_that_is_not_utf8() -> None:
    body = orjson.dumps(valid_page(ApiVersion.V3, 1)).replace(b"my-app", b"my-\xff")
    with pytest.raises(errors.CloudFoundryUnavailable, match="malformed v3 page"):
        page.parse_page(ApiVersion.V3, body)


@pytest.mark.parametrize("total", ["3", 3.0, True, "three", 3.5, [3]])
def test_page_parse_leaves_lax_coercions_to_the_model(total: object) -> None:
    data = valid_page(ApiVersion.V2, 2) | {"total_results": total}
    body = orjson.dumps(data)
    mine = outcome(page.parse_page, ApiVersion.V2, body)
    theirs = outcome(model_events, ApiVersion.V2, orjson.loads(body))
    assert mine[0] == theirs[0]
    if theirs[0] == "events":
        assert mine == theirs
