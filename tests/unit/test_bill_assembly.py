"""From priced lines to a bill: attribution, filters, rounding half up, totals that add up;
and the merged warnings of usage priced 0."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from reporter import bill_assembly, bill_protocol, bill_warnings, billing, tariff
from tests.support.billing_cases import PRICED_PLAN, T0, at


def priced(*amounts: tuple[str, str, str]) -> billing.Priced:
    """One line per (guid, ex_vat, vat), on resources app-<guid>."""
    return billing.Priced(
        {
            billing.LineKey("app", "default", guid, None, "compute"): billing.Line(
                Decimal(ex_vat), Decimal(vat), "app", "standard"
            )
            for guid, ex_vat, vat in amounts
        },
        [],
    )


def assemble(
    found: billing.Priced,
    who: dict[bill_assembly.ResourceKey, bill_assembly.Attribution],
    filters: bill_assembly.Filters | None = None,
) -> bill_protocol.Bill:
    """The bill's reply body, read back through the schema (and held to it)."""
    body = bill_assembly.reply_body(
        bill_assembly.assemble(
            bill_assembly.attribute(found, who, filters or bill_assembly.Filters()),
            start=T0,
            end=at(days=31),
            generated_at=at(days=31),
            currency="GBP",
        )
    )
    reply = bill_protocol.BillReply.model_validate_json(body)
    assert bill_protocol.to_body(reply) == body
    return reply.bill


def _owner(org: str | None, space: str = "s") -> bill_assembly.Attribution:
    return bill_assembly.Attribution(org, space, f"name-{org}")


@pytest.mark.parametrize(
    ("ex_vat", "rounded"),
    [
        ("0.125", "0.13"),
        ("0.124999999", "0.12"),
        ("0.135", "0.14"),
        ("-0.125", "-0.13"),
        ("2.675", "2.68"),
        ("0.005", "0.01"),
        ("0.0049999999999999999999", "0.00"),
    ],
)
def test_bill_assembly_rounds_org_figures_half_up(ex_vat: str, rounded: str) -> None:
    bill = assemble(priced(("a", ex_vat, "0")), {("app", "default", "a", None): _owner("o")})
    [org] = bill.orgs
    assert str(org.ex_vat) == rounded
    assert org.inc_vat == org.ex_vat + org.vat


def test_bill_assembly_totals_sum_the_orgs_rounded_figures() -> None:
    found = priced(("a", "0.005", "0.001"), ("b", "0.005", "0.001"))
    who = {
        ("app", "default", "a", None): _owner("org-1"),
        ("app", "default", "b", None): _owner("org-2"),
    }
    bill = assemble(found, who)
    assert [str(org.ex_vat) for org in bill.orgs] == ["0.01", "0.01"]
    assert str(bill.totals.ex_vat) == "0.02"  # not round(0.010) of the lines' sum
    assert str(bill.totals.vat) == "0.00"
    assert bill.totals.inc_vat == Decimal("0.02")


def test_bill_assembly_lines_carry_the_owner_and_names() -> None:
    bill = assemble(priced(("a", "1", "0.2")), {("app", "default", "a", None): _owner("o", "sp")})
    [org] = bill.orgs
    [line] = org.lines
    assert (org.org_guid, line.space_guid, line.resource_name) == ("o", "sp", "name-o")
    assert (line.plan_name, line.vat_code, line.ex_vat, line.vat) == (
        "app",
        "standard",
        Decimal(1),
        Decimal("0.2"),
    )


def test_bill_assembly_an_unknown_owner_is_an_org_of_its_own_last() -> None:
    bill = assemble(
        priced(("a", "1", "0"), ("b", "2", "0")), {("app", "default", "b", None): _owner("z")}
    )
    assert [org.org_guid for org in bill.orgs] == ["z", None]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        (bill_assembly.Filters(org_guids=("org-1",)), ["a"]),
        (bill_assembly.Filters(space_guids=("s2",)), ["b"]),
        (bill_assembly.Filters(foundations=("other",)), []),
        (bill_assembly.Filters(org_guids=("org-1", "org-2"), space_guids=("s1",)), ["a"]),
    ],
)
def test_bill_assembly_filters_on_the_owner(
    filters: bill_assembly.Filters, kept: list[str]
) -> None:
    who = {
        ("app", "default", "a", None): _owner("org-1", "s1"),
        ("app", "default", "b", None): _owner("org-2", "s2"),
    }
    bill = assemble(priced(("a", "1", "0"), ("b", "2", "0")), who, filters)
    assert [line.resource_guid for org in bill.orgs for line in org.lines] == kept


def test_bill_assembly_an_empty_bill_adds_up_to_zero() -> None:
    bill = assemble(priced(), {})
    assert bill.orgs == ()
    assert [str(bill.totals.ex_vat), str(bill.totals.vat), str(bill.totals.inc_vat)] == ["0.00"] * 3


def _part(guid: str, start: int, end: int, **extra: object) -> billing.Unpriced:
    return billing.Unpriced(
        billing.NO_PLAN,
        "app",
        None,
        "default",
        guid,
        start,
        end,
        **extra,  # type: ignore[arg-type]
    )


def test_bill_warnings_merge_touching_and_overlapping_parts_across_resources() -> None:
    hour = 3600 * 10**6
    base = tariff.microseconds(T0)
    found = bill_warnings.warnings(
        [
            _part("a", base, base + hour),
            _part("b", base + hour, base + 2 * hour),  # touches a's
            _part("a", base + hour // 2, base + hour),  # inside a's
            _part("c", base + 5 * hour, base + 6 * hour),  # a period of its own
        ]
    )
    assert [(w.from_, w.to, w.resources) for w in found] == [
        (T0, at(hours=2), 2),
        (at(hours=5), at(hours=6), 1),
    ]
    assert found[0].message == (
        "no plan in force for app from 2026-10-01T00:00:00Z to 2026-10-01T02:00:00Z: "
        "usage of 2 resources priced 0"
    )


def test_bill_warnings_one_per_service_plan_and_per_failed_component() -> None:
    base = tariff.microseconds(T0)
    service = billing.Unpriced(billing.NO_PLAN, "service", PRICED_PLAN, "f", "db", base, base + 1)
    failed = billing.Unpriced(
        billing.FORMULA_FAILED,
        "app",
        None,
        "f",
        "a",
        base,
        base + 1,
        "app v2",
        "fee",
        "DivisionByZero",
    )
    found = bill_warnings.warnings([service, failed, _part("a", base, base + 1)])
    assert [(w.code, w.resource_type, w.service_plan_guid) for w in found] == [
        ("formula_failed", "app", None),
        ("no_plan", "app", None),
        ("no_plan", "service", PRICED_PLAN),
    ]
    assert "component 'fee' of plan 'app v2' (app) failed (DivisionByZero)" in found[0].message
    assert f"no plan in force for service plan {PRICED_PLAN}" in found[2].message


def test_bill_assembly_reply_body_is_what_the_schema_writes() -> None:
    """Every field the models have, in their order, amounts as strings, times as pydantic
    writes them (offsets kept, UTC as Z)."""
    plus_two = timezone(timedelta(hours=2))
    warning = bill_protocol.BillWarning(code="no_plan", message="m", resource_type="app")
    closed = bill_protocol.Closed(closed_at=at(days=32, microseconds=5), differs_now=True)
    body = bill_assembly.reply_body(
        bill_assembly.assemble(
            bill_assembly.attribute(
                priced(("a", "0.0000000123", "1E+2")),
                {("app", "default", "a", None): bill_assembly.Attribution("o", "s", "n", "sn")},
                bill_assembly.Filters(),
            ),
            start=T0.astimezone(plus_two),
            end=at(days=31),
            generated_at=at(days=31, microseconds=1),
            currency="GBP",
            warnings=[warning],
            closed=closed,
        )
    )
    reply = bill_protocol.BillReply.model_validate_json(body)
    assert bill_protocol.to_body(reply) == body
    data = orjson.loads(body)["bill"]
    assert data["from"] == "2026-10-01T02:00:00+02:00"
    assert data["orgs"][0]["lines"][0]["ex_vat"] == "0.0000000123"
    assert data["orgs"][0]["lines"][0]["vat"] == "100"
    assert data["closed"] == {"closed_at": "2026-11-02T00:00:00.000005Z", "differs_now": True}


def test_bill_assembly_before_any_pricing_the_currency_is_null() -> None:
    body = bill_assembly.reply_body(
        bill_assembly.assemble([], start=T0, end=at(days=1), generated_at=at(days=1), currency=None)
    )
    assert bill_protocol.BillReply.model_validate_json(body).bill.currency is None
