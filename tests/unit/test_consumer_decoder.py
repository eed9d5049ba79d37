"""The consumer's one decoder decides every body as the models did, and names field and value.

The reference is the decoders as they were before issue 18 (orjson and pydantic models,
tests/support/reference_decoders.py): the same bodies are accepted, with the same events,
and the same refused, with a reason that names one of the fields the models named.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer import decoder, delivery
from shared import decoding, errors, events
from tests.support import consumer_events as ev
from tests.support import reference_decoders as reference

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
    *events.V2AppEntity.__struct_fields__,
    *events.V2ServiceEntity.__struct_fields__,
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
    return ev.as_dict(ev.message(4, kind=kind, api_version=version))


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


def decide(body: bytes) -> reference.Decided:
    """What the decoder makes of a body, in the reference's terms."""
    try:
        event = decoder.decode(body)
    except errors.InvalidEvent as exc:
        return reference.Decided(False, None, str(exc), frozenset())
    return reference.Decided(True, event, "", frozenset())


def assert_decided_alike(body: bytes) -> reference.Decided:
    mine, theirs = decide(body), reference.decide_body(body)
    assert mine.accepted == theirs.accepted, (mine, theirs)
    if mine.accepted:
        assert mine.result._replace(raw_json="") == theirs.result._replace(raw_json="")
        # The same types and the same rendering of the time, which COPY writes.
        assert [type(v) for v in mine.result] == [type(v) for v in theirs.result]
        assert mine.result.created_at.isoformat() == theirs.result.created_at.isoformat()
        # The raw message: the body's own bytes, the same JSON value as the models' render.
        assert orjson.loads(mine.result.raw_json) == orjson.loads(theirs.result.raw_json)
    elif "NUL" in theirs.fields:
        assert mine.reason.endswith(": contains a NUL character"), mine.reason
    else:
        field = mine.reason.split(": ", 1)[0]
        assert field in theirs.fields, (mine.reason, theirs.fields, theirs.reason)
    return mine


@settings(max_examples=2500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(bodies())
def test_decoder_decides_every_body_as_the_models_did(body: bytes) -> None:
    assert_decided_alike(body)


@pytest.mark.parametrize(("kind", "version"), KINDS_AND_VERSIONS)
def test_decoder_reads_what_the_producer_publishes_without_lenient_reading(
    kind: str, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every body the producer publishes takes the schema's path alone (pydantic's lax
    readings are for other publishers' bodies)."""
    body = events.encode(ev.message(4, kind=kind, api_version=version))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a body the producer publishes was read leniently")

    monkeypatch.setattr(decoding, "decode", refuse)
    monkeypatch.setattr(decoding, "aware_time", refuse)
    decided = delivery.decode(delivery.Delivery(1, kind, None, body))
    assert isinstance(decided, delivery.Accepted)
    assert decided.event == assert_decided_alike(body).result


@pytest.mark.parametrize(
    "change",
    [
        {"sequence": "5"},
        {"sequence": " 5 "},
        {"sequence": 5.0},
        {"sequence": True},
        {"schema_version": True},
        {"schema_version": 1.0},
        {"sequence": "5", "schema_version": True},
        {"sequence": 5.5},
        {"sequence": "five"},
        {"sequence": False},
        {"schema_version": "1"},
        {"schema_version": 2},
    ],
)
def test_decoder_reads_envelope_integers_as_pydantics_lax_mode_did(change: dict[str, Any]) -> None:
    body = orjson.dumps(ev.as_dict(ev.message(4, api_version="v3")) | change)
    decided = assert_decided_alike(body)
    if not decided.accepted:
        assert decided.reason.split(":")[0] in change
        assert repr(next(iter(change.values()))) in decided.reason or len(change) > 1


@pytest.mark.parametrize("text", TIMES)
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_decoder_reads_times_as_the_models_did(text: str, version: str) -> None:
    data = ev.as_dict(ev.message(4, api_version=version))
    where = data["resource"]["metadata"] if version == "v2" else data["resource"]
    where["created_at"] = text
    assert_decided_alike(orjson.dumps(data))


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
def test_decoder_decides_edges_as_the_models_did(
    kind: str, version: str, path: tuple[str, ...], value: Any
) -> None:
    data = base(kind, version)
    target = data["resource"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert_decided_alike(orjson.dumps(data))
    assert_decided_alike(json.dumps(data).encode())  # escapes and spaces, as others write


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("entity", "instance_count"), "many", "instance_count: Expected `int` (got 'many')"),
        (
            ("entity", "memory_in_mb_per_instance"),
            10**12,
            "memory_in_mb_per_instance: Expected `int` <= 2147483647 (got 1000000000000)",
        ),
        (("entity", "org_guid"), "o" * 300, "org_guid: Expected `str` of length <= 255 (got 'ooo"),
        (("entity", "state"), None, "state: Expected `str` (got None)"),
        (("entity", "app_name"), "we\x00b", "app_name: contains a NUL character"),
        (("metadata", "created_at"), "yesterday", "metadata.created_at: Input should be"),
        (("metadata", "guid"), "x" * 37, "metadata.guid: Expected `str` of length <= 36 (got 'xxx"),
    ],
)
def test_decoder_reasons_name_the_field_and_the_value(
    path: tuple[str, str], value: Any, reason: str
) -> None:
    data = base("app", "v2")
    data["resource"][path[0]][path[1]] = value
    with pytest.raises(errors.InvalidEvent) as refused:
        decoder.decode(orjson.dumps(data))
    assert str(refused.value).startswith(reason), str(refused.value)


def test_decoder_structs_cover_the_reference_models() -> None:
    """The schema takes the fields the models took: none was lost on the way."""
    pairs = [
        (events.V2AppEntity, reference.V2AppEntity),
        (events.V2ServiceEntity, reference.V2ServiceEntity),
        (events.V3AppResource, reference.V3AppResource),
        (events.V3ServiceResource, reference.V3ServiceResource),
        (events.Message, reference.UsageEventMessage),
    ]
    for struct, model in pairs:
        assert set(struct.__struct_fields__) == set(model.model_fields), struct
