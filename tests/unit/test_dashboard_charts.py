"""The daily chart: SVG drawn on the server, labelled for screen readers, scaled to the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from tenant_api.dashboard import charts
from tenant_api.dashboard.views import Day

SVG = "{http://www.w3.org/2000/svg}"


def days(*costs: str, future: int = 0) -> list[Day]:
    found = [Day(date(2026, 10, n + 1), Decimal(c), c, False) for n, c in enumerate(costs)]
    start = len(found)
    found += [Day(date(2026, 10, start + n + 1), Decimal(0), "0.00", True) for n in range(future)]
    return found


def test_charts_daily_is_svg_with_a_title_a_description_and_a_bar_per_past_day() -> None:
    svg = str(charts.daily(days("1.00", "3.50", "0", future=2), "GBP", "t", "d"))
    drawn = ET.fromstring(svg)  # noqa: S314 (the test's own output)
    assert drawn.get("role") == "img" and drawn.get("aria-labelledby") == "t d"
    assert drawn.find(f"{SVG}title").text == "Cost per day before VAT, in GBP"  # type: ignore[union-attr]
    assert "02 October at 3.50 GBP" in (drawn.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    bars = drawn.findall(f"{SVG}rect")
    assert len(bars) == 3  # the future days have none
    heights = [float(bar.get("height", "0")) for bar in bars]
    assert heights[1] > heights[0] > heights[2] == 0.0
    assert bars[1].find(f"{SVG}title").text == "02 October: 3.50 GBP"  # type: ignore[union-attr]


def test_charts_escape_what_they_print() -> None:
    drawn = str(charts.daily(days("1"), "<b>", "t", "d"))
    assert "<b>" not in drawn and "&lt;b&gt;" in drawn


def test_charts_scale_tops_at_a_round_number_at_or_above_the_highest_day() -> None:
    assert charts.nice_top(Decimal("3.5")) == Decimal(4)
    assert charts.nice_top(Decimal("4.01")) == Decimal(8)
    assert charts.nice_top(Decimal("123")) == Decimal(200)
    assert charts.nice_top(Decimal("0.013")) == Decimal("0.02")
    assert charts.nice_top(Decimal(0)) == Decimal(4)
