"""Fuzz of the decoder path: any body either decodes to a storable row or is rejected with a
reason; nothing else ever escapes (which would wedge or crash the consumer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer import delivery, writer
from tests.support import consumer_events as ev

NOW = datetime(2026, 10, 2, tzinfo=UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "STARTED", "many", "9" * 40, "2026-10-01T00:00:00Z"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=30,
)
times = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat()),  # no offset
    st.text(max_size=30),
    json_values,
)
FIELDS = (
    "state",
    "previous_state",
    "instance_count",
    "memory_in_mb_per_instance",
    "previous_instance_count",
    "app_guid",
    "app_name",
    "service_instance_guid",
    "task_guid",
    "space_name",
)


def _check(body: bytes) -> None:
    result = delivery.decode(delivery.Delivery(1, "app", None, body))
    if isinstance(result, delivery.Rejected):
        assert result.reason and len(result.reason) <= delivery.MAX_REASON_LENGTH
        return
    event = result.event
    assert len(event.guid) == 36
    writer.copy_text([result])  # the row can be rendered for COPY


def _message_body(kind: str, version: str, mutate: dict[str, Any], created_at: Any) -> bytes:
    message = ev.as_dict(ev.message(1, kind=kind, api_version=version))
    resource = message["resource"]
    target = resource["entity"] if version == "v2" else resource
    target.update(mutate)
    if version == "v2":
        resource["metadata"]["created_at"] = created_at
    else:
        resource["created_at"] = created_at
    return json.dumps(message).encode()  # stdlib: writes ints of any size


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=200))
def test_consumer_fuzz_arbitrary_bytes_are_rejected_cleanly(body: bytes) -> None:
    _check(body)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values)
def test_consumer_fuzz_arbitrary_json_bodies_are_rejected_cleanly(value: Any) -> None:
    _check(json.dumps(value).encode())


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    kind=st.sampled_from(["app", "service"]),
    version=st.sampled_from(["v2", "v3"]),
    mutate=st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
    created_at=times,
    drop=st.lists(st.sampled_from(["metadata", "entity", "guid", "state", "app"]), max_size=2),
    sequence=st.one_of(st.integers(min_value=-5, max_value=2**70), json_values),
)
def test_consumer_fuzz_mutated_events_decode_or_are_rejected(
    kind: str, version: str, mutate: dict[str, Any], created_at: Any, drop: list[str], sequence: Any
) -> None:
    payload = json.loads(_message_body(kind, version, mutate, created_at))
    for key in drop:
        payload["resource"].pop(key, None)
    payload["sequence"] = sequence
    _check(json.dumps(payload).encode())


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(min_value=1, max_value=3000), invalid=st.binary(min_size=1, max_size=8))
def test_consumer_fuzz_deep_nesting_and_invalid_utf8(depth: int, invalid: bytes) -> None:
    _check(b"[" * depth + b"]" * depth)
    nested: Any = "x"
    for _ in range(min(depth, 200)):
        nested = {"a": nested}
    _check(_message_body("app", "v2", {"app_name": nested}, "2026-10-01T00:00:00Z"))
    deeper: Any = "x"
    for _ in range(300):  # orjson reads 1024 levels but writes only 255
        deeper = [deeper]
    _check(_message_body("app", "v2", {"app_name": deeper}, "2026-10-01T00:00:00Z"))
    body = _message_body("app", "v3", {}, "2026-10-01T00:00:00Z")
    _check(body.replace(b'"web"', b'"w' + invalid + b'"', 1))
