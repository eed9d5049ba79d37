"""Bills price exactly the usage the report counts: with prices of one per GB-hour and one per
service hour, and no VAT, every bill line equals its resource's row of the usage report, and
every bill adds up (CONTRACT "What a bill prices": segments exactly as the usage arithmetic
counts it)."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporter import bill, bill_assembly, bill_protocol, protocol, usage
from shared import db, pricing_file, pricing_store
from tests.integration.test_report_properties import PLANS, T0, histories, windows
from tests.support import event_rows

PER_GB_HOUR = "$number_of_nodes * $memory_in_mb * $time_in_seconds / 1024 / 3600"
PER_HOUR = "$time_in_seconds / 3600"


def _plan(resource_type: str, formula: str, plan_guid: str | None = None) -> dict[str, object]:
    plan: dict[str, object] = {
        "resource_type": resource_type,
        "name": f"{resource_type} {plan_guid or ''}".strip(),
        "valid_from": "2020-01-01",
        "components": [{"name": "usage", "vat": "none", "formula": formula}],
    }
    if plan_guid:
        plan["service_plan_guid"] = plan_guid
    return plan


UNIT_PRICES = orjson.dumps(
    {
        "currency": "GBP",
        "vat_rates": [{"code": "none", "valid_from": "2020-01-01", "rate": "0"}],
        "plans": [
            _plan("app", PER_GB_HOUR),
            _plan("task", PER_GB_HOUR),
            _plan("staging", PER_GB_HOUR),
            *(_plan("service", PER_HOUR, guid) for guid in PLANS),
        ],
    }
)


def _clear(conn: db.Connection) -> None:
    with db.transaction(conn) as cursor:
        cursor.execute("TRUNCATE app_usage_events, service_usage_events")


@settings(
    deadline=None, max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(), window=windows, org_filter=st.sampled_from((None, "org-a")))
def test_bill_lines_equal_the_usage_report_at_unit_prices(
    database_url: str,
    conn: db.Connection,
    history: event_rows.History,
    window: tuple[int, int, int, int],
    org_filter: str | None,
) -> None:
    _clear(conn)
    event_rows.insert(database_url, history)
    pricing_store.apply(conn, UNIT_PRICES, "unit.json", pricing_file.parse(UNIT_PRICES))
    start = T0 + timedelta(hours=window[0], seconds=window[3])
    end = start + timedelta(hours=window[1])
    now = T0 + timedelta(hours=window[2], microseconds=250_000)
    orgs = (org_filter,) if org_filter else None
    report = usage.compute(conn, protocol.ReportRequest(from_=start, to=end, org_guids=orgs), now)
    request = bill_protocol.BillRequest(from_=start, to=end, org_guids=orgs)
    body = orjson.loads(bill_assembly.reply_body(bill.compute(conn, request, now)))["bill"]
    helper = db.connect(database_url)
    try:  # the names read on a helper connection while the engine prices: the same bill
        beside = bill.compute(conn, request, now, helpers=[helper])
    finally:
        helper.close()
    assert orjson.loads(bill_assembly.reply_body(beside))["bill"] == body
    expected: dict[tuple[str, str, str, str | None], float] = {}
    for row in report.rows:
        plan = row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None
        hours = row.service_hours if row.resource_type == "service" else row.memory_gb_hours
        if hours:
            expected[(row.resource_type, row.foundation, row.resource_guid, plan)] = hours
    got = {
        (
            line["resource_type"],
            line["foundation"],
            line["resource_guid"],
            line["service_plan_guid"],
        ): line
        for org in body["orgs"]
        for line in org["lines"]
    }
    assert set(got) == set(expected)
    for key, hours in expected.items():
        assert math.isclose(float(Decimal(got[key]["ex_vat"])), hours, rel_tol=1e-9, abs_tol=1e-9)
        assert got[key]["vat"] == "0" and got[key]["component"] == "usage"
    _assert_adds_up(body)


def _assert_adds_up(body: dict[str, object]) -> None:
    """Org figures are their lines' sums rounded half up to cents; totals sum the orgs."""
    cent = Decimal("0.01")
    totals = {"ex_vat": Decimal(0), "vat": Decimal(0)}
    for org in body["orgs"]:  # type: ignore[attr-defined]
        for figure in ("ex_vat", "vat"):
            exact = sum((Decimal(line[figure]) for line in org["lines"]), Decimal(0))
            assert Decimal(org[figure]) == exact.quantize(cent, rounding=ROUND_HALF_UP)
            totals[figure] += Decimal(org[figure])
        assert Decimal(org["inc_vat"]) == Decimal(org["ex_vat"]) + Decimal(org["vat"])
    bill_totals = body["totals"]  # type: ignore[index]
    assert Decimal(bill_totals["ex_vat"]) == totals["ex_vat"]
    assert Decimal(bill_totals["vat"]) == totals["vat"]
    assert Decimal(bill_totals["inc_vat"]) == totals["ex_vat"] + totals["vat"]
