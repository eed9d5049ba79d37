"""The dashboard's view-models: figures exactly as the bill writes them, breakdowns from the
bill's lines, warnings in words, the CSV of the lines."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from reporter import bill_assembly, bill_protocol, protocol
from tenant_api.dashboard import lines_csv, views, warnings
from tenant_api.dashboard.figures import OrgMonth
from tenant_api.dashboard.months import Month

OCTOBER = Month(2026, 10)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
ORG = "org-1"


def line(guid: str, kind: str, ex_vat: str, **kw: Any) -> bill_assembly.OrgLine:
    body: bill_assembly.LineBody = {
        "resource_type": kind, "resource_guid": guid, "resource_name": kw.get("name", guid),
        "foundation": "f1", "space_guid": kw.get("space", "s1"),
        "space_name": kw.get("space_name", "shop"), "service_plan_guid": kw.get("plan_guid"),
        "plan_name": kw.get("plan", "app"), "component": kw.get("component", "compute"),
        "vat_code": "standard", "ex_vat": Decimal(ex_vat), "vat": Decimal(ex_vat) / 5,
    }  # fmt: skip
    return ORG, body


def bill(*lines: bill_assembly.OrgLine, **kw: Any) -> bill_assembly.BillBody:
    return bill_assembly.assemble(
        lines, start=OCTOBER.start, end=OCTOBER.end, generated_at=NOW, currency="GBP", **kw
    )


def usage_row(guid: str, memory: float, space: str = "s1") -> protocol.AppRow:
    return protocol.AppRow(
        resource_type="app", resource_guid=guid, resource_name=guid, foundation="f1",
        org_guid=ORG, space_guid=space, space_name="shop", parent_app_guid=None,
        process_type="web", memory_gb_hours=memory, instance_hours=memory,
        service_hours=0.0,
    )  # fmt: skip


def org_month(body: bill_assembly.BillBody, daily: list[Decimal] | None = None) -> OrgMonth:
    rows = (usage_row("a1", 10.0), usage_row("a2", 2.5))
    days = daily if daily is not None else [Decimal(0)] * 31
    return OrgMonth(ORG, OCTOBER, NOW, body, rows, days)


def test_views_headline_is_the_bills_text_exactly() -> None:
    body = bill(line("a1", "app", "1.005"), line("a2", "app", "0.0001"))
    page = views.org_page(org_month(body))
    assert (page.headline.ex_vat, page.headline.vat, page.headline.inc_vat) == (
        "1.01", "0.20", "1.21"
    )  # fmt: skip
    assert page.headline.currency == "GBP" and page.headline.closed_at is None


def test_views_top_apps_sum_components_and_name_their_plans() -> None:
    body = bill(
        line("a1", "app", "1", component="compute"),
        line("a1", "app", "2", component="storage", plan="app large"),
        line("a2", "app", "5"),
        line("db", "service", "4", plan="postgres small", plan_guid="p1"),
    )
    page = views.org_page(org_month(body))
    assert [(r.guid, r.cost, r.plan) for r in page.top_apps] == [
        ("a2", "5.00", "app"), ("a1", "3.00", "app, app large")
    ]  # fmt: skip
    assert page.top_apps[1].usage == "10.00"  # memory GB-hours from the usage report
    assert [(r.guid, r.plan) for r in page.top_services] == [("db", "postgres small")]


def test_views_breakdowns_round_half_up_the_sums_of_unrounded_lines() -> None:
    body = bill(line("a1", "app", "0.005", space="s1"), line("a2", "app", "0.004", space="s2"))
    page = views.org_page(org_month(body))
    assert [s.cost for s in page.spaces] == ["0.01", "0.00"]  # 0.005 -> 0.01, 0.004 -> 0.00
    assert page.headline.ex_vat == "0.01"  # the bill rounds the sum: 0.009 -> 0.01
    assert [t.label for t in page.types] == ["Apps"]


def test_views_days_say_when_they_do_not_add_up_to_the_bill() -> None:
    body = bill(line("a1", "app", "2"))
    even = views.org_page(org_month(body, [Decimal(1), Decimal(1)] + [Decimal(0)] * 29))
    assert even.days_total == "2.00" and not even.days_differ
    more = views.org_page(org_month(body, [Decimal("1.5"), Decimal(1)] + [Decimal(0)] * 29))
    assert more.days_differ


def test_views_future_days_of_the_current_month_are_marked() -> None:
    found = org_month(bill())
    found = OrgMonth(ORG, OCTOBER, datetime(2026, 10, 10, 12, tzinfo=UTC), found.bill,
                     found.rows, found.daily)  # fmt: skip
    page = views.org_page(found)
    assert page.so_far
    assert [d.day.day for d in page.days if not d.future] == list(range(1, 11))


def test_views_ranking_orders_by_total_and_shares_add_up() -> None:
    body = bill_assembly.assemble(
        [("o1", line("a", "app", "1")[1]), ("o2", line("b", "app", "3")[1])],
        start=OCTOBER.start, end=OCTOBER.end, generated_at=NOW, currency="GBP",
    )  # fmt: skip
    ranking = views.ranking(body, OCTOBER, NOW)
    assert [(r.rank, r.org_guid, r.inc_vat, r.share) for r in ranking.orgs] == [
        (1, "o2", "3.60", "75.0"), (2, "o1", "1.20", "25.0")
    ]  # fmt: skip


def test_warnings_name_gaps_missing_plans_and_a_changed_closed_month() -> None:
    gap = bill_protocol.BillWarning(
        code="collection_gap", message="app usage events may be missing"
    )
    body = bill(line("a1", "app", "1"), warnings=[gap], closed=bill_protocol.Closed(
        closed_at=NOW, differs_now=True))  # fmt: skip
    found = warnings.notices(body)
    assert [n.code for n in found] == ["collection_gap", "differs_now"]
    assert found[0].message == "App usage events may be missing."
    assert warnings.notices(bill(line("a1", "app", "1"))) == []


def test_csv_has_the_bills_columns_and_unrounded_amounts_and_defuses_formulas() -> None:
    body = bill(line("a1", "app", "0.0000001", name="=HYPERLINK(1)"), line("a2", "app", "-1.5"))
    rows = list(csv.DictReader(io.StringIO(lines_csv.render(body))))
    assert [r["ex_vat"] for r in rows] == ["0.0000001", "-1.5"]
    assert rows[0]["resource_name"] == "'=HYPERLINK(1)"
    assert rows[0]["org_guid"] == ORG and rows[0]["service_plan_guid"] == ""
