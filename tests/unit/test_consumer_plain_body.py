"""The plain-body decoder takes only what the models accept, and makes the same event of it."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer import delivery, plain_body
from shared import events, messages
from tests.support import consumer_events as ev

KINDS_AND_VERSIONS = [("app", "v2"), ("app", "v3"), ("service", "v2"), ("service", "v3")]

TIMES = [
    "2026-10-01T12:00:00Z",
    "2026-10-01T12:00:00.5Z",
    "2026-10-01T12:00:00.123456+05:30",
    "2026-10-01T12:00:00.1234567Z",
    "2026-10-01t12:00:00z",
    "2026-10-01 12:00:00Z",
    "2026-10-01T12:00:00",
    "2026-10-01T12:00:00+0530",
    "2026-10-01T12:00:00-00:00",
    "2026-10-01T12:00:00+24:00",
    "2026-10-01T12:00:60Z",
    "2026-10-01T24:00:00Z",
    "2009-12-31T23:59:59Z",
    "2026-10-03T00:00:01Z",
    "2100-01-01T00:00:00Z",
    "2026-10-01T12:00:00,5Z",
    "٢٠٢٦-10-01T12:00:00Z",
]
# JSON values, with values the models coerce in lax mode, and bounds, among them.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([-1, 0, 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64 - 1]),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([3.0, 3.5, -0.0]),
    st.sampled_from(["", "x", "3", "STARTED", "x" * 36, "é" * 36, "x" * 64, "x" * 65]),
    st.sampled_from(["x" * 255, "é" * 256, "x" * 4096, "x" * 4097]),
    st.sampled_from(["\x00", "a\\ub", "tab\there", "line\nbreak", "😀"]),
    st.sampled_from(TIMES),
    st.text(max_size=6),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=2),
    st.dictionaries(st.sampled_from(["current", "previous", "guid", "name", "x"]), scalars),
)
ENVELOPE_KEYS = [
    "schema_version",
    "foundation",
    "kind",
    "api_version",
    "sequence",
    "guid",
    "resource",
    "x",
]
V2_METADATA_KEYS = ["guid", "created_at", "url"]
V2_ENTITY_KEYS = [
    *events.V2AppEntity.model_fields,
    *events.V2ServiceEntity.model_fields,
    "package_state",
    "x",
]
V3_KEYS = [
    "guid",
    "created_at",
    "state",
    "app",
    "process",
    "space",
    "organization",
    "task",
    "buildpack",
    "memory_in_mb_per_instance",
    "instance_count",
    "service_instance",
    "service_plan",
    "service_offering",
    "service_broker",
    "x",
]
NESTED_KEYS = ["current", "previous", "guid", "name", "type", "x"]


def base(kind: str, version: str) -> dict[str, Any]:
    return ev.message(4, kind=kind, api_version=version).model_dump(mode="json")


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A message as the producer publishes it, then a few fields changed, then rendered."""
    data = base(*draw(st.sampled_from(KINDS_AND_VERSIONS)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        resource = data.get("resource")
        where = draw(st.sampled_from(["envelope", "resource", "resource", "nested", "nested"]))
        target: Any = data
        keys = ENVELOPE_KEYS
        if where != "envelope" and isinstance(resource, dict):
            if "entity" in resource:
                part = draw(st.sampled_from(["metadata", "entity", "entity"]))
                target = resource.get(part)
                keys = V2_METADATA_KEYS if part == "metadata" else V2_ENTITY_KEYS
            else:
                target, keys = resource, V3_KEYS
                nested = [value for value in resource.values() if isinstance(value, dict)]
                if where == "nested" and nested:
                    target, keys = draw(st.sampled_from(nested)), NESTED_KEYS
        if isinstance(target, dict):
            key = draw(st.sampled_from(keys))
            if draw(st.integers(0, 3)) == 0:
                target.pop(key, None)
            else:
                target[key] = draw(values)
    if draw(st.integers(0, 4)) == 0:
        return json.dumps(data).encode()  # \u escapes and spaces, as other publishers write
    return orjson.dumps(data)


def by_models(body: bytes) -> delivery.Accepted | delivery.Rejected:
    return delivery.decode_with_models(delivery.Delivery(1, "app", None, body))


@settings(max_examples=2500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(bodies())
def test_plain_body_takes_only_what_the_models_accept_and_makes_the_same_event(
    body: bytes,
) -> None:
    mine = plain_body.decode(body)
    if mine is None:
        return
    theirs = by_models(body)
    assert isinstance(theirs, delivery.Accepted), theirs
    assert mine._replace(raw_json="") == theirs.event._replace(raw_json="")
    # The same types and the same rendering of the time, which COPY writes.
    assert [type(v) for v in mine] == [type(v) for v in theirs.event]
    assert mine.created_at.isoformat() == theirs.event.created_at.isoformat()
    # The raw message: the body's own bytes, the same JSON value as the models' rendering.
    assert orjson.loads(mine.raw_json) == orjson.loads(theirs.event.raw_json)


@pytest.mark.parametrize(("kind", "version"), KINDS_AND_VERSIONS)
def test_plain_body_decodes_what_the_producer_publishes_without_the_models(
    kind: str, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every body the producer publishes takes this path (else the test above proves little)."""
    body = orjson.dumps(base(kind, version))
    expected = by_models(body)

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a plain body went through a model")

    models = (
        messages.UsageEventMessage,
        events.V2Metadata,
        events.V2AppEntity,
        events.V2ServiceEntity,
        events.V3AppResource,
        events.V3ServiceResource,
    )
    for model in models:
        monkeypatch.setattr(model, "model_validate", refuse)
    decided = delivery.decode(delivery.Delivery(1, kind, None, body))
    assert isinstance(expected, delivery.Accepted)
    assert isinstance(decided, delivery.Accepted)
    assert decided.event == expected.event


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("instance_count", "3"),
        ("instance_count", 3.0),
        ("instance_count", 2**31),
        ("state", ""),
        ("previous_state", 5),
        ("app_guid", 0),
    ],
)
def test_plain_body_leaves_what_it_does_not_take_to_the_models(change: str, value: Any) -> None:
    """Coercions, bounds and falsy oddities: not plain, so the models decide (and name why)."""
    data = base("app", "v2")
    data["resource"]["entity"][change] = value
    body = orjson.dumps(data)
    assert plain_body.decode(body) is None
    decided = delivery.decode(delivery.Delivery(1, "app", None, body))
    assert decided == by_models(body)


@pytest.mark.parametrize(
    "change", [{"sequence": "5"}, {"sequence": 5.0}, {"sequence": True}, {"schema_version": True}]
)
def test_plain_body_leaves_lax_envelopes_to_the_model(change: dict[str, Any]) -> None:
    """The message model coerces these in lax mode: valid, but not plain."""
    body = orjson.dumps(base("app", "v3") | change)
    assert plain_body.decode(body) is None
    decided = delivery.decode(delivery.Delivery(1, "app", None, body))
    assert decided == by_models(body)


# Edges the random changes above reach seldom: (kind, version, path, value).
EDGES = [
    ("app", "v2", ("entity", "app_guid"), ""),
    ("app", "v2", ("entity", "app_name"), ""),
    ("app", "v2", ("entity", "app_name"), None),
    ("app", "v3", ("process", "guid"), ""),
    ("app", "v3", ("process",), None),
    ("app", "v3", ("app",), None),
    ("app", "v3", ("state", "previous"), None),
    ("app", "v3", ("instance_count", "previous"), 2**31 - 1),
    ("app", "v3", ("created_at",), "2026-10-01T12:00:00.1234567Z"),
    ("app", "v3", ("created_at",), "2026-10-01T12:00:00.999999-00:00"),
    ("app", "v3", ("created_at",), "2026-10-03T00:00:00Z"),
    ("app", "v3", ("created_at",), "2026-10-03T00:00:01Z"),
    ("app", "v2", ("metadata", "created_at"), "2009-12-31T23:59:59Z"),
    ("service", "v2", ("entity", "service_instance_guid"), ""),
    ("service", "v3", ("service_instance", "guid"), ""),
    ("service", "v3", ("service_plan",), None),
    ("service", "v3", ("state",), "x" * 64),
    ("service", "v3", ("state",), "x" * 65),
    ("app", "v2", ("entity", "org_guid"), "x" * 255),
    ("app", "v2", ("entity", "org_guid"), "x" * 256),
    ("app", "v3", ("organization", "guid"), "é" * 256),
    ("app", "v3", ("buildpack", "name"), "x" * 4096),
    ("app", "v3", ("buildpack", "name"), "x" * 4097),
    ("app", "v3", ("app", "name"), "x" * 256),
    ("service", "v2", ("entity", "service_instance_guid"), "x" * 256),
    ("service", "v3", ("service_plan", "guid"), "x" * 256),
    ("app", "v3", ("space", "name"), "x" * 70_000),
]


@pytest.mark.parametrize(("kind", "version", "path", "value"), EDGES)
def test_plain_body_decides_edges_as_the_models_do(
    kind: str, version: str, path: tuple[str, ...], value: Any
) -> None:
    data = base(kind, version)
    target = data["resource"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    body = orjson.dumps(data)
    mine = plain_body.decode(body)
    theirs = by_models(body)
    if mine is not None:
        assert isinstance(theirs, delivery.Accepted)
        assert mine == theirs.event
    assert delivery.decode(delivery.Delivery(1, "app", None, body)) == theirs


def test_plain_body_structs_mirror_the_models() -> None:
    """The two decoders take the same fields: a field added to one is added to the other."""
    pairs = [
        (plain_body._V2AppEntity, events.V2AppEntity),
        (plain_body._V2ServiceEntity, events.V2ServiceEntity),
        (plain_body._V3App, events.V3AppResource),
        (plain_body._V3Service, events.V3ServiceResource),
    ]
    for struct, model in pairs:
        assert set(struct.__struct_fields__) == set(model.model_fields), struct
