"""The reply order key (migration 0015) sorts rows exactly as Python sorts their key tuples."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import db

# Characters that make orders differ: the key's own escape (U+0001, U+0002), a key that is a
# prefix of another, ASCII either side of the separator, and code points past the BMP, whose
# UTF-8 bytes must still sort as Python compares code points. PostgreSQL text holds no NUL.
_CHARS = st.sampled_from(["\x01", "\x02", "\x03", "a", "b", "-", "é", "\uffff", "😀"])
_KEY = st.text(_CHARS, max_size=4)
_NULLABLE = st.none() | _KEY
_ROWS = st.lists(st.tuples(_KEY, _NULLABLE, _NULLABLE, _KEY, _NULLABLE), min_size=2, max_size=30)


def _python_key(row: tuple[str | None, ...]) -> tuple[str, ...]:
    return tuple(value or "" for value in row)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_ROWS)
def test_reply_order_key_sorts_as_python_sorts_the_tuples(
    conn: db.Connection, rows: list[tuple[str | None, ...]]
) -> None:
    with db.transaction(conn) as cursor:
        cursor.execute(
            "SELECT a, b, c, d, e FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::text[]) AS r(a, b, c, d, e)"
            ' ORDER BY reply_order_key(a, b, c, d, e) COLLATE "C"',
            [list(column) for column in zip(*rows, strict=True)],
        )
        got = [_python_key(row) for row in cursor.fetchall()]
    assert got == sorted(_python_key(row) for row in rows)


def test_reply_order_key_of_four_keys_is_the_five_key_order_with_an_empty_fifth(
    conn: db.Connection,
) -> None:
    with db.transaction(conn) as cursor:
        cursor.execute(
            "SELECT reply_order_key('f', 'o', NULL, 'g') = reply_order_key('f', 'o', '', 'g', '')"
        )
        assert cursor.fetchone() == (True,)
