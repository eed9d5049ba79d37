"""A closed month's bill on a real database: stored once, answered with the request's filters
applied to what was stored, compared with the month computed now."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from reporter import bill_assembly, bill_protocol, closed_bills
from shared import db

OCTOBER = date(2026, 10, 1)
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def line(
    guid: str, ex_vat: str, space: str = "s1", foundation: str = "f1"
) -> bill_assembly.LineBody:
    return {
        "resource_type": "app",
        "resource_guid": guid,
        "resource_name": f"name-{guid}",
        "foundation": foundation,
        "space_guid": space,
        "space_name": f"space-{space}",
        "service_plan_guid": None,
        "plan_name": "app",
        "component": "compute",
        "vat_code": "standard",
        "ex_vat": Decimal(ex_vat),
        "vat": Decimal(ex_vat) * Decimal("0.2"),
    }


def answered(stored: closed_bills.Stored, asked: bill_protocol.BillRequest) -> bill_protocol.Bill:
    body = bill_assembly.reply_body(closed_bills.answer(stored, asked, differs_now=False))
    return bill_protocol.BillReply.model_validate_json(body).bill


LINES: list[bill_assembly.OrgLine] = [
    ("org-1", line("a", "1.004")),
    ("org-1", line("b", "2.0000000000001", space="s2")),
    ("org-2", line("c", "0.125", foundation="f2")),
]
GAP = bill_protocol.BillWarning(code="collection_gap", message="gap", foundation="f2")
NO_PLAN = bill_protocol.BillWarning(code="no_plan", message="no plan", resource_type="task")


def store(conn: db.Connection) -> datetime | None:
    with db.transaction(conn) as cursor:
        return closed_bills.store(
            cursor,
            OCTOBER,
            generated_at=END + timedelta(hours=2),
            currency="GBP",
            pricing_file_id=None,
            lines=LINES,
            warnings=[
                closed_bills.ScopedWarning(None, "f2", GAP),
                closed_bills.ScopedWarning("org-1", None, NO_PLAN),
            ],
        )


def request(**filters: tuple[str, ...]) -> bill_protocol.BillRequest:
    return bill_protocol.BillRequest(from_=START, to=END, **filters)


def load(conn: db.Connection, asked: bill_protocol.BillRequest) -> closed_bills.Stored | None:
    with db.transaction(conn) as cursor:
        return closed_bills.load(cursor, OCTOBER, asked)


def test_closed_bills_stored_once_and_answered_exactly(conn: db.Connection) -> None:
    closed_at = store(conn)
    assert closed_at is not None
    assert store(conn) is None  # closing a closed month changes nothing
    stored = load(conn, request())
    assert stored is not None
    assert sorted(stored.lines, key=lambda pair: pair[1]["resource_guid"]) == LINES
    assert stored.warnings == [GAP, NO_PLAN]
    bill = answered(stored, request())
    assert bill.closed == bill_protocol.Closed(closed_at=closed_at, differs_now=False)
    assert [(o.org_guid, str(o.ex_vat), str(o.vat)) for o in bill.orgs] == [
        ("org-1", "3.00", "0.60"),
        ("org-2", "0.13", "0.03"),
    ]
    assert str(bill.totals.inc_vat) == "3.76"
    assert bill.generated_at == END + timedelta(hours=2)


@pytest.mark.parametrize(
    ("filters", "guids", "codes"),
    [
        ({"org_guids": ("org-1",)}, ["a", "b"], ["collection_gap", "no_plan"]),
        ({"org_guids": ("org-2",)}, ["c"], ["collection_gap"]),
        ({"space_guids": ("s2",)}, ["b"], ["collection_gap", "no_plan"]),
        ({"foundations": ("f1",)}, ["a", "b"], ["no_plan"]),
        ({"org_guids": ("org-3",)}, [], ["collection_gap"]),
    ],
)
def test_closed_bills_filters_apply_to_what_was_stored(
    conn: db.Connection, filters: dict[str, tuple[str, ...]], guids: list[str], codes: list[str]
) -> None:
    store(conn)
    stored = load(conn, request(**filters))
    assert stored is not None
    assert sorted(line["resource_guid"] for _, line in stored.lines) == guids
    assert [warning.code for warning in stored.warnings] == codes
    bill = answered(stored, request(**filters))
    assert sum(org.ex_vat for org in bill.orgs) == bill.totals.ex_vat


def test_closed_bills_an_open_month_has_nothing_stored(conn: db.Connection) -> None:
    assert load(conn, request()) is None


def test_closed_bills_differs_now_compares_lines_by_value() -> None:
    same: list[bill_assembly.OrgLine] = [(org, {**line}) for org, line in LINES]
    assert not closed_bills.differs(LINES, list(reversed(same)))
    padded: list[bill_assembly.OrgLine] = [
        (org, {**line, "ex_vat": Decimal(f"{line['ex_vat']}00")}) for org, line in LINES
    ]
    assert not closed_bills.differs(LINES, padded)
    assert closed_bills.differs(LINES, LINES[:2])
    assert closed_bills.differs(LINES, [*LINES[:2], ("org-2", line("c", "0.126", foundation="f2"))])
    assert closed_bills.differs(LINES, [("org-9", LINES[0][1]), *LINES[1:]])


def test_closed_bills_month_of_a_request() -> None:
    assert closed_bills.month_of(START, END) == OCTOBER
    plus_two = timezone(timedelta(hours=2))
    assert closed_bills.month_of(START.astimezone(plus_two), END.astimezone(plus_two)) == OCTOBER
    assert closed_bills.month_of(START, END - timedelta(microseconds=1)) is None
    assert closed_bills.month_of(START + timedelta(days=1), END) is None
    assert closed_bills.month_of(
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
