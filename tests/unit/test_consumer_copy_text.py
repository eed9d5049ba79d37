"""The COPY text of a batch is every value escaped, whatever the values hold.

copy_text skips escaping for a line whose values hold no special character; the reference
here escapes every value always (the plain reading of PostgreSQL's COPY text format). Rows
with tabs, newlines, carriage returns, backslashes and a literal `\\N` in the guid, the raw
JSON and the foundation must come out the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from consumer import writer
from consumer.delivery import Accepted, Delivery
from shared import events
from shared.states import ApiVersion, EventKind

ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
TEXT_36 = "x" * 34


def reference(items: list[Accepted]) -> str:
    def text(value: str) -> str:
        return "".join(ESCAPES.get(char, char) for char in value)

    lines = []
    for item in items:
        event = item.event
        values = [
            str(event.sequence),
            text(event.guid),
            event.created_at.isoformat(),
            text(event.raw_json),
            text(event.foundation),
        ]
        lines.append("\t".join(values) + "\n")
    return "".join(lines)


@st.composite
def app_items(draw: st.DrawFn) -> Accepted:
    raw_json = draw(
        st.sampled_from(['{"a": 1}', '{"a": "x\\\\ty"}', '{"b": "\\"q\\""}', '{"n": "\\\\N"}'])
    )
    event = events.StoredEvent(
        kind=EventKind.APP,
        foundation=draw(st.sampled_from(["default", "f\toundation", "f\\n", "\\N"])),
        api_version=ApiVersion.V3,
        sequence=draw(st.integers(1, 2**62)),
        guid=draw(st.sampled_from(["a" * 36, "\\" * 36, "a\tb" + "c" * 33, "é\r" + TEXT_36])),
        created_at=datetime(2026, 10, 5, 10, 0, 0, 123456, tzinfo=UTC),
        raw_json=raw_json,
    )
    return Accepted(Delivery(1, "app", None, b""), event)


@settings(max_examples=500, deadline=None)
@given(st.lists(app_items(), max_size=5))
def test_copy_text_equals_escaping_every_value(items: list[Accepted]) -> None:
    text = writer.copy_text(items).getvalue().decode()
    assert text == reference(items)


def test_a_line_without_specials_is_taken_as_joined() -> None:
    """The common case (no value needs escaping) still ends each line."""
    when = datetime(2026, 10, 5, tzinfo=UTC)
    event = events.StoredEvent(EventKind.APP, "default", ApiVersion.V2, 7, "a" * 36, when, "{}")
    item = Accepted(Delivery(1, "app", None, b""), event)
    line = writer.copy_text([item])
    assert line.getvalue().decode() == f"7\t{'a' * 36}\t2026-10-05T00:00:00+00:00\t{{}}\tdefault\n"
