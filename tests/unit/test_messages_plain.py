"""The consumer's shortcut past the message model: plain only where the model agrees."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared import events
from shared.messages import PlainMessage, UsageEventMessage, plain
from tests.support import consumer_events as ev

NOW = datetime(2026, 10, 2, tzinfo=UTC)
FIELDS = ("foundation", "kind", "api_version", "sequence", "guid", "resource")

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.sampled_from(["app", "service", "v2", "v3", "APP", "V3", "1", "7", " app", "app\x00", ""]),
    st.sampled_from(["f" * 64, "f" * 65, "é" * 64, "é" * 65]),  # the foundation's bound
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
keys = st.sampled_from([*FIELDS, "schema_version", "extra", "Kind"])


def _published(kind: str, version: str) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(ev.message(3, kind=kind, api_version=version).to_body())
    return parsed


@pytest.mark.parametrize("kind", ["app", "service"])
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_messages_plain_takes_every_message_the_project_publishes(kind: str, version: str) -> None:
    payload = _published(kind, version)
    message = plain(payload)
    assert isinstance(message, PlainMessage)
    assert tuple(message) == tuple(
        getattr(UsageEventMessage.model_validate(payload), name) for name in FIELDS
    )


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    kind=st.sampled_from(["app", "service"]),
    version=st.sampled_from(["v2", "v3"]),
    changes=st.dictionaries(keys, values, max_size=3),
    dropped=st.lists(keys, max_size=2),
)
def test_messages_plain_only_where_the_model_accepts_the_same_values(
    kind: str, version: str, changes: dict[str, Any], dropped: list[str]
) -> None:
    payload = _published(kind, version)
    payload.update(changes)
    for key in dropped:
        payload.pop(key, None)
    message = plain(payload)
    try:
        model = UsageEventMessage.model_validate(payload)
    except ValidationError:
        assert message is None
        return
    if message is not None:
        assert tuple(message) == tuple(getattr(model, name) for name in FIELDS)
        assert [type(a) for a in message] == [type(getattr(model, n)) for n in FIELDS]


@pytest.mark.parametrize("kind", ["app", "service"])
@pytest.mark.parametrize("version", ["v2", "v3"])
def test_messages_plain_decodes_to_the_same_event_as_the_model(kind: str, version: str) -> None:
    payload = _published(kind, version)
    message = plain(payload)
    assert message is not None
    via_model = events.decode(UsageEventMessage.model_validate(payload), NOW)
    assert events.decode(message, NOW) == via_model


@pytest.mark.parametrize(
    "change",
    [
        {"sequence": "5"},  # the model coerces in lax mode: not plain, still valid
        {"sequence": 5.0},
        {"schema_version": True},
        {"sequence": True},
    ],
)
def test_messages_plain_leaves_lax_coercions_to_the_model(change: dict[str, Any]) -> None:
    payload = _published("app", "v3")
    payload.update(change)
    assert plain(payload) is None
