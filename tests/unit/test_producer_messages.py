"""The poller's messages are what the consumer reads back: the one schema, both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producer import page, poller
from producer.cursor import Cursor
from shared import events
from shared.messages import FOUNDATION_MAX_LENGTH
from shared.states import ApiVersion, EventKind
from tests.support import consumer_events as ev

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
STAMP = "2026-10-05T10:00:00Z"
TIMING = poller.Timing(timedelta(minutes=1), timedelta(seconds=3), timedelta(minutes=5))

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
guids = st.text(min_size=1, max_size=page.GUID_MAX_LENGTH)
extras = st.dictionaries(st.text(max_size=10), json_values, max_size=4)


def resource(version: ApiVersion, guid: str, extra: dict[str, Any]) -> dict[str, Any]:
    if version is ApiVersion.V2:
        return {"metadata": {"guid": guid, "created_at": STAMP}, "entity": extra}
    return {**extra, "guid": guid, "created_at": STAMP}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    foundation=st.text(min_size=1, max_size=FOUNDATION_MAX_LENGTH),
    kind=st.sampled_from(list(EventKind)),
    version=st.sampled_from(list(ApiVersion)),
    sequence=st.integers(min_value=0, max_value=2**62),
    listed=st.lists(st.tuples(guids, extras), max_size=4),
)
def test_producer_messages_are_what_the_schema_reads_back(
    foundation: str,
    kind: EventKind,
    version: ApiVersion,
    sequence: int,
    listed: list[tuple[str, dict[str, Any]]],
) -> None:
    """From a parsed page, settings-valid foundation and any cursor: every message numbers
    its event in order, and its body reads back as the same message with the page's
    resource, byte for byte."""
    resources = [resource(version, guid, extra) for guid, extra in listed]
    fetched = page.parse_page(version, orjson.dumps({"resources": resources}))
    plan = poller.plan(
        fetched,
        Cursor(after_guid=None, sequence=sequence),
        source=poller.Source(foundation, kind, version),
        now=NOW,
        fetch_limit=10,
        timing=TIMING,
    )
    assert plan.messages == [
        events.Message(foundation, kind, version, sequence + offset, event.guid, event.resource)
        for offset, event in enumerate(fetched, start=1)
    ]
    for message, original in zip(plan.messages, resources, strict=True):
        body = events.encode(message)
        assert ev.read(body) == message
        assert orjson.loads(body)["resource"] == orjson.loads(orjson.dumps(original))
