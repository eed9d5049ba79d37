"""View-models: an org's month and the ranking of every org, as the pages print them.

Pure: figures in, strings out. The bill's own figures (before VAT, VAT, including VAT) are
printed exactly as `GET /v1/bills` writes them; sums made here for a breakdown (by space,
by type, per resource, per day) are sums of the bill's unrounded lines, rounded half up to
two places as the bill rounds an org's figures, so a breakdown may differ from the bill by a
cent of rounding. Usage hours are the usage report's, to two places.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from reporter import bill_assembly, protocol
from shared import formula, pricing
from tenant_api.dashboard import warnings
from tenant_api.dashboard.figures import OrgMonth
from tenant_api.dashboard.months import Month

# Two decimal places, as the bill rounds an org's figures.
CENT = Decimal("0.01")
# Nothing, as a Decimal.
ZERO = Decimal(0)
# Rows in each "top" table.
TOP = 10
# What each resource type is called on the page.
TYPE_LABELS = {"app": "Apps", "task": "Tasks", "staging": "Staging", "service": "Services"}


@dataclass(frozen=True)
class Headline:
    """The bill's figures, exactly as `/v1/bills` writes them."""

    ex_vat: str
    vat: str
    inc_vat: str
    currency: str | None
    closed_at: str | None


@dataclass(frozen=True)
class Breakdown:
    """A row of the by-space or by-type table."""

    label: str
    cost: str
    memory_gb_hours: str
    hours: str


@dataclass(frozen=True)
class Resource:
    """A row of a top-by-cost table."""

    name: str
    guid: str
    space: str
    plan: str
    cost: str
    usage: str


@dataclass(frozen=True)
class Day:
    day: date
    cost: Decimal  # before VAT, unrounded
    shown: str  # rounded to cents
    future: bool


@dataclass(frozen=True)
class OrgPage:
    org_guid: str
    month: Month
    so_far: bool  # the month has not ended yet
    headline: Headline
    notices: list[warnings.Notice]
    spaces: list[Breakdown]
    types: list[Breakdown]
    top_apps: list[Resource]
    top_services: list[Resource]
    days: list[Day]
    days_total: str
    days_differ: bool  # the days do not add up to the bill's figure before VAT
    line_count: int


@dataclass(frozen=True)
class Ranked:
    rank: int
    org_guid: str | None
    ex_vat: str
    vat: str
    inc_vat: str
    share: str  # of the month's total including VAT, in per cent


@dataclass(frozen=True)
class Ranking:
    month: Month
    so_far: bool
    headline: Headline
    notices: list[warnings.Notice]
    orgs: list[Ranked]


def money(amount: Decimal) -> str:
    """Rounded half up to cents, as plain text (`12.35`, `-0.13`, `0.00`)."""
    return pricing.decimal_text(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def hours(value: float) -> str:
    return f"{value:.2f}"


def headline(body: bill_assembly.BillBody) -> Headline:
    totals, closed = body["totals"], body["closed"]
    return Headline(
        pricing.decimal_text(totals["ex_vat"]),
        pricing.decimal_text(totals["vat"]),
        pricing.decimal_text(totals["inc_vat"]),
        body["currency"],
        closed["closed_at"] if closed else None,
    )


def org_page(found: OrgMonth) -> OrgPage:
    lines = [line for org in found.bill["orgs"] for line in org["lines"]]
    rows = list(found.rows)
    days = _days(found)
    context = formula.new_context()
    total = Decimal(0)
    for day in days:
        total = context.add(total, day.cost)
    head = headline(found.bill)
    return OrgPage(
        org_guid=found.org_guid,
        month=found.month,
        so_far=found.now < found.month.end,
        headline=head,
        notices=warnings.notices(found.bill),
        spaces=_by(lines, rows, "space_guid", _space_label),
        types=_by(lines, rows, "resource_type", _type_label),
        top_apps=_top_apps(lines, rows),
        top_services=_top_services(lines, rows),
        days=days,
        days_total=money(total),
        days_differ=money(total) != head.ex_vat,
        line_count=len(lines),
    )


def ranking(body: bill_assembly.BillBody, month: Month, now: datetime) -> Ranking:
    orgs = sorted(body["orgs"], key=lambda o: (-o["inc_vat"], o["org_guid"] or "~"))
    total = body["totals"]["inc_vat"]
    ranked = [
        Ranked(
            rank,
            org["org_guid"],
            pricing.decimal_text(org["ex_vat"]),
            pricing.decimal_text(org["vat"]),
            pricing.decimal_text(org["inc_vat"]),
            f"{(org['inc_vat'] * 100 / total).quantize(Decimal('0.1'), ROUND_HALF_UP)}"
            if total
            else "0.0",
        )
        for rank, org in enumerate(orgs, 1)
    ]
    return Ranking(month, now < month.end, headline(body), warnings.notices(body), ranked)


def _days(found: OrgMonth) -> list[Day]:
    today = found.now.date()
    return [
        Day(day, cost, money(cost), day > today)
        for day, cost in zip(found.month.days(), found.daily, strict=True)
    ]


def _by(
    lines: list[bill_assembly.LineBody],
    rows: list[protocol.Row],
    field: str,
    label: Callable[[str, dict[str, str]], str],
) -> list[Breakdown]:
    """Cost (from the bill's lines) and usage (from the report's rows) per value of `field`
    (`space_guid` or `resource_type`), costliest first."""
    context = formula.new_context()
    cost: dict[str, Decimal] = {}
    memory: dict[str, list[float]] = {}
    spent: dict[str, list[float]] = {}
    names: dict[str, str] = {}
    for line in lines:
        k = _value(line, field)
        cost[k] = context.add(cost.get(k, ZERO), line["ex_vat"])
        if k not in names:
            names[k] = line["space_name"] or ""
    for row in rows:
        k = getattr(row, field) or ""
        memory.setdefault(k, []).append(row.memory_gb_hours)
        spent.setdefault(k, []).append(row.instance_hours)
        if not names.get(k):
            names[k] = getattr(row, "space_name", None) or ""
    keys = sorted(set(cost) | set(memory), key=lambda k: (-cost.get(k, ZERO), k))
    return [
        Breakdown(
            label(k, names),
            money(cost.get(k, ZERO)),
            hours(math.fsum(memory.get(k, []))),
            hours(math.fsum(spent.get(k, []))),
        )
        for k in keys
    ]


def _value(line: bill_assembly.LineBody, field: str) -> str:
    """A line's `space_guid` or `resource_type` ('' for none)."""
    found = line["space_guid"] if field == "space_guid" else line["resource_type"]
    return found or ""


def _space_label(key: str, names: dict[str, str]) -> str:
    return names.get(key) or key or "(no space known)"


def _type_label(key: str, _names: dict[str, str]) -> str:
    return TYPE_LABELS.get(key, key)


def _top_apps(lines: list[bill_assembly.LineBody], rows: list[protocol.Row]) -> list[Resource]:
    memory = {
        (row.foundation, row.resource_guid): row.memory_gb_hours
        for row in rows
        if row.resource_type == "app" and isinstance(row, protocol.AppRow)
    }
    return _top(
        [line for line in lines if line["resource_type"] == "app"],
        lambda line: (line["foundation"], line["resource_guid"]),
        lambda k: hours(memory.get(k, 0.0)),
    )


def _top_services(lines: list[bill_assembly.LineBody], rows: list[protocol.Row]) -> list[Resource]:
    spent = {
        (row.foundation, row.resource_guid, row.service_plan_guid): row.service_hours
        for row in rows
        if isinstance(row, protocol.ServiceRow)
    }
    return _top(
        [line for line in lines if line["resource_type"] == "service"],
        lambda line: (line["foundation"], line["resource_guid"], line["service_plan_guid"]),
        lambda k: hours(spent.get(k, 0.0)),
    )


def _top(lines: list[bill_assembly.LineBody], key: Any, usage: Any) -> list[Resource]:
    """The costliest resources (components summed), with the plans their lines name."""
    context = formula.new_context()
    cost: dict[Any, Decimal] = {}
    first: dict[Any, bill_assembly.LineBody] = {}
    plans: dict[Any, set[str]] = {}
    for line in lines:
        k = key(line)
        cost[k] = context.add(cost.get(k, Decimal(0)), line["ex_vat"])
        first.setdefault(k, line)
        plans.setdefault(k, set()).add(line["plan_name"])
    best = sorted(cost, key=lambda k: (-cost[k], first[k]["resource_name"] or "", k))[:TOP]
    return [
        Resource(
            first[k]["resource_name"] or "(no name known)",
            first[k]["resource_guid"],
            first[k]["space_name"] or first[k]["space_guid"] or "(no space known)",
            ", ".join(sorted(plans[k])),
            money(cost[k]),
            usage(k),
        )
        for k in best
    ]
