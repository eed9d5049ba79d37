"""The COPY text of a batch is every value escaped, whatever the values hold.

copy_text skips escaping for a line whose values hold no special character; the reference
here escapes every value always (the plain reading of PostgreSQL's COPY text format). Rows
with tabs, newlines, carriage returns, backslashes, a literal `\\N` and NULLs in their text
columns, in the raw JSON and in the foundation must come out the same.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer import writer
from consumer.delivery import Accepted, Delivery
from shared import events
from shared.states import ApiVersion, EventKind

ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
TEXT = st.text(alphabet=st.sampled_from(["a", "é", "\t", "\n", "\r", "\\", "N", " "]), max_size=6)
MAYBE_TEXT = st.none() | TEXT | st.just("\\N")
COUNT = st.integers(0, 2**31 - 1)


def reference(items: list[Accepted], columns: tuple[str, ...]) -> str:
    def text(value: Any) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, str):
            return "".join(ESCAPES.get(char, char) for char in value)
        return str(value)

    lines = []
    for item in items:
        event = item.event
        row = event.row
        values = [
            str(event.sequence),
            text(row.guid),
            row.created_at.isoformat(),
            text(event.raw_json),
            text(event.foundation),
            event.api_version.value,
            *(text(value) for value in operator.attrgetter(*columns)(row)),
        ]
        lines.append("\t".join(values) + "\n")
    return "".join(lines)


def valid_row(fields: dict[str, Any]) -> events.AppRow:
    return events.AppRow(**dict(events.AppEventRow.model_validate(fields)))


@st.composite
def app_items(draw: st.DrawFn) -> Accepted:
    row = valid_row(
        {
            "guid": draw(st.sampled_from(["a" * 36, "\\" * 36, "a\tb" + "c" * 33])),
            "created_at": "2026-10-05T10:00:00.123456+00:00",
            "state": draw(TEXT.filter(bool)),
            "instance_count": draw(COUNT),
            "memory_in_mb_per_instance": draw(COUNT),
            "previous_instance_count": draw(st.none() | COUNT),
            **{
                name: draw(MAYBE_TEXT)
                for name in ("previous_state", "process_guid", "app_name", "space_name")
            },
        }
    )
    raw_json = draw(st.sampled_from(['{"a": 1}', '{"a": "x\\\\ty"}', '{"b": "\\"q\\""}']))
    event = events.StoredEvent(
        kind=EventKind.APP,
        foundation=draw(st.sampled_from(["default", "f\toundation", "f\\n"])),
        api_version=ApiVersion.V3,
        sequence=draw(st.integers(1, 2**62)),
        row=row,
        raw_json=raw_json,
    )
    return Accepted(Delivery(1, "app", None, b""), event)


@settings(max_examples=500, deadline=None)
@given(st.lists(app_items(), max_size=5))
def test_copy_text_equals_escaping_every_value(items: list[Accepted]) -> None:
    text = writer.copy_text(items, writer.APP_COLUMNS).getvalue().decode()
    assert text == reference(items, writer.APP_COLUMNS)


def test_a_line_without_specials_is_taken_as_joined() -> None:
    """The common case (no value needs escaping) still ends each line and marks NULLs."""
    row = valid_row(
        {
            "guid": "a" * 36,
            "created_at": datetime(2026, 10, 5, tzinfo=UTC).isoformat(),
            "state": "STARTED",
            "instance_count": 2,
            "memory_in_mb_per_instance": 256,
        }
    )
    event = events.StoredEvent(EventKind.APP, "default", ApiVersion.V2, 7, row, "{}")
    item = Accepted(Delivery(1, "app", None, b""), event)
    line = writer.copy_text([item], ("state", "previous_state"))
    assert (
        line.getvalue().decode()
        == f"7\t{'a' * 36}\t2026-10-05T00:00:00+00:00\t{{}}\tdefault\tv2\tSTARTED\t\\N\n"
    )
