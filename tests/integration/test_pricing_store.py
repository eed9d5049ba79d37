"""The pricing store on a real database: applied files kept, the pricing in force replaced as
a whole, the same file twice a no-op, closed months protected."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import orjson
import psycopg2
import pytest
from psycopg2 import sql

from shared import db, errors, pricing, pricing_file, pricing_store
from tests.support.pricing_documents import sample


def apply(conn: db.Connection, document: dict[str, object]) -> pricing_store.Applied:
    content = orjson.dumps(document)
    return pricing_store.apply(conn, content, "prices.json", pricing_file.parse(content))


def in_force(conn: db.Connection) -> pricing_store.InForce | None:
    with db.transaction(conn) as cursor:
        return pricing_store.load(cursor)


def count(conn: db.Connection, table: str) -> int:
    with db.transaction(conn) as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def close_month(conn: db.Connection, month: date) -> None:
    """What `bills close` records (the lines do not matter to the pricing rule)."""
    with db.transaction(conn) as cursor:
        cursor.execute(
            "INSERT INTO closed_months (month, generated_at, currency) VALUES (%s, now(), 'GBP')",
            (month,),
        )


def test_pricing_store_nothing_in_force_before_an_apply(conn: db.Connection) -> None:
    assert in_force(conn) is None


def test_pricing_store_keeps_the_file_and_loads_what_was_applied(conn: db.Connection) -> None:
    applied = apply(conn, sample())
    loaded = in_force(conn)
    assert applied.changed and loaded is not None
    assert loaded.pricing == pricing_file.parse(orjson.dumps(sample()))
    assert str(loaded.pricing.currency_rates[0].rate) == "0.8"
    assert (loaded.file_id, loaded.sha256, loaded.file_name) == (
        applied.file_id,
        pricing_store.sha256(orjson.dumps(sample())),
        "prices.json",
    )
    with db.transaction(conn) as cursor:
        cursor.execute("SELECT content, pricing FROM pricing_files")
        content, document = cursor.fetchone() or (None, None)
    assert content == orjson.dumps(sample()).decode()
    assert document == pricing.to_document(loaded.pricing)


def test_pricing_store_keeps_every_digit_of_a_decimal(conn: db.Connection) -> None:
    document = sample()
    document["currency_rates"][0]["rate"] = "0.1000000000000000000000000000000001"
    document["plans"][1]["storage_in_mb"] = "102400.000001"
    apply(conn, document)
    loaded = in_force(conn)
    assert loaded is not None
    assert str(loaded.pricing.currency_rates[0].rate) == "0.1000000000000000000000000000000001"
    assert str(loaded.pricing.plans[1].storage_in_mb) == "102400.000001"


def test_pricing_store_same_file_twice_changes_nothing(conn: db.Connection) -> None:
    first = apply(conn, sample())
    second = apply(conn, sample())
    assert not second.changed
    assert second.file_id == first.file_id
    assert count(conn, "pricing_files") == 1


def test_pricing_store_a_new_file_replaces_the_pricing_as_a_whole(conn: db.Connection) -> None:
    apply(conn, sample())
    document = sample()
    del document["plans"][1]
    document["vat_rates"] = document["vat_rates"][:1]
    applied = apply(conn, document)
    loaded = in_force(conn)
    assert loaded is not None and loaded.file_id == applied.file_id
    assert [plan.key for plan in loaded.pricing.plans] == [("app", None)]
    assert [rate.code for rate in loaded.pricing.vat_rates] == ["standard"]
    assert count(conn, "pricing_files") == 2
    assert count(conn, "pricing_components") == 1
    apply(conn, sample())  # back to the first file: a change, kept as a third application
    assert count(conn, "pricing_files") == 3


def test_pricing_store_refuses_a_change_in_a_closed_month_and_changes_nothing(
    conn: db.Connection,
) -> None:
    first = apply(conn, sample())
    close_month(conn, date(2026, 9, 1))
    document = sample()
    document["plans"][0]["components"][0]["formula"] = "$time_in_seconds * 0.02"
    with pytest.raises(errors.InvalidPricing) as refused:
        apply(conn, document)
    [problem] = refused.value.problems
    assert "plan app version 'app' (in force there from 2026-09-01T00:00:00Z): " in problem
    assert "component 'compute' formula" in problem
    assert "closed month 2026-09" in problem
    loaded = in_force(conn)
    assert loaded is not None and loaded.file_id == first.file_id
    assert count(conn, "pricing_files") == 1


def test_pricing_store_allows_new_versions_after_the_closed_months(conn: db.Connection) -> None:
    apply(conn, sample())
    close_month(conn, date(2026, 9, 1))
    document = sample()
    later = copy.deepcopy(document["plans"][0])
    later["valid_from"] = "2026-10-01"
    later["components"][0]["formula"] = "$time_in_seconds * 0.02"
    document["plans"].append(later)
    assert apply(conn, document).changed
    loaded = in_force(conn)
    assert loaded is not None
    assert [p.valid_from for p in loaded.pricing.plans if p.key == ("app", None)] == [
        datetime(2017, 1, 1, tzinfo=UTC),
        datetime(2026, 10, 1, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE closed_months SET currency = 'EUR'",
        "DELETE FROM closed_months",
        "TRUNCATE closed_bill_lines",
        "DELETE FROM closed_bill_warnings",
    ],
)
def test_pricing_store_a_closed_months_bill_never_changes(
    conn: db.Connection, statement: str
) -> None:
    close_month(conn, date(2026, 9, 1))
    with pytest.raises(errors.DatabaseError, match="never changes"), db.transaction(conn) as cursor:
        cursor.execute(statement)


def test_pricing_store_closed_months_are_first_days(conn: db.Connection) -> None:
    with pytest.raises(errors.DatabaseError, match="closed_months_first_day"):
        close_month(conn, date(2026, 9, 2))


def test_pricing_store_one_pricing_in_force(database_url: str) -> None:
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cursor, pytest.raises(psycopg2.errors.CheckViolation):
            cursor.execute(
                "INSERT INTO pricing_in_force (singleton, file_id, currency) "
                "VALUES (false, 1, 'GBP')"
            )
    finally:
        conn.close()


def test_pricing_store_the_demo_applies_its_sample_pricing_once(
    conn: db.Connection, database_url: str
) -> None:
    from paas_billing import demo

    assert demo.apply_pricing(database_url).changed
    assert not demo.apply_pricing(database_url).changed
    loaded = in_force(conn)
    assert loaded is not None and loaded.file_name == "demo_pricing.json"
