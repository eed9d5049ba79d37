"""The daily cost chart, drawn on the server as SVG: no script, nothing fetched.

A bar per day of the month (days still to come are left empty), a labelled scale, a `<title>`
and `<desc>` for screen readers and a `<title>` per bar (the browser's tooltip). Amounts
come in as Decimals; only the bars' geometry is computed in floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

from tenant_api.dashboard.views import Day

# The drawing's size in SVG units (it scales to the page's width).
WIDTH, HEIGHT = 720, 260
# Room for the scale on the left and the day numbers below.
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28
# Steps of the scale: 1, 2 or 5 times a power of ten.
STEPS = (Decimal(1), Decimal(2), Decimal(5))
# Horizontal lines of the scale, at most.
TICKS = 4


def daily(days: Sequence[Day], currency: str | None, title_id: str, desc_id: str) -> Markup:
    """The chart of the days' costs before VAT, `aria-labelledby` the given ids."""
    top = nice_top(max((day.cost for day in days), default=Decimal(0)))
    step = top / TICKS
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    unit = f" {currency}" if currency else ""
    in_currency = f", in {currency}" if currency else ""
    costliest = max(days, key=lambda d: d.cost, default=None)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">Cost per day before VAT{escape(in_currency)}</title>',
        f'<desc id="{desc_id}">{escape(_describe(days, costliest, unit))}</desc>',
    ]
    for tick in range(TICKS + 1):
        value = step * tick
        y = TOP + plot_h - float(value / top) * plot_h
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="scale" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_scale_text(value))}</text>"
        )
    for index, day in enumerate(days):
        x = LEFT + index * slot
        number = day.day.day
        if number == 1 or number % 5 == 0:
            parts.append(
                f'<text class="day" x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{number}</text>'
            )
        if day.future:
            continue
        height = float(day.cost / top) * plot_h if day.cost > 0 else 0.0
        parts.append(
            f'<rect class="bar" x="{x + slot * 0.15:.1f}" y="{TOP + plot_h - height:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{day.day:%d %B}: {escape(day.shown + unit)}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def nice_top(highest: Decimal) -> Decimal:
    """The scale's top: the least 1, 2 or 5 x 10^k, times TICKS, at or above `highest`."""
    if highest <= 0:
        return Decimal(TICKS)
    exponent = (highest / TICKS).adjusted()
    while True:
        for step in STEPS:
            candidate = step.scaleb(exponent) * TICKS
            if candidate >= highest:
                return candidate
        exponent += 1


def _scale_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def _describe(days: Sequence[Day], costliest: Day | None, unit: str) -> str:
    shown = [day for day in days if not day.future]
    if costliest is None or not shown:
        return "No days of this month have passed yet."
    return (
        f"{len(shown)} days shown; the costliest was {costliest.day:%d %B} at "
        f"{costliest.shown}{unit}. The table below the chart lists every day."
    )
