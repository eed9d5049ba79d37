"""Closed months (CONTRACT "Closing a month"): what was billed must stay what was billed.

A month is closed by storing every org's bill of it (`bills close YYYY-MM`). Afterwards a
pricing file may add versions and rates before or after it, but `changes` finds every price,
rate or plan version in force during a closed month that a new pricing would change, add or
remove, each named with the month, so that `pricing apply` refuses the file.

What counts is what was in force during the month: a version whose `valid_from` moves from one
moment before the month to another before it changes nothing the month used; a new version
beginning after the month changes nothing either; one beginning inside it does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple, TypeVar

from shared import pricing

# A month as `bills close` takes it.
_MONTH = re.compile(r"(\d{4})-(\d{2})")

T = TypeVar("T")


class ClosedMonth(NamedTuple):
    """A month (its first day) and when it was closed."""

    month: date
    closed_at: datetime


def parse_month(text: str) -> date:
    """The first day of a `YYYY-MM` month; ValueError naming the text otherwise."""
    match = _MONTH.fullmatch(text)
    if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a month such as 2026-10")
    return date(int(match.group(1)), int(match.group(2)), 1)


def bounds(month: date) -> tuple[datetime, datetime]:
    """[first moment, first moment of the next month) in UTC."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=UTC)


def month_text(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def changes(old: pricing.Pricing, new: pricing.Pricing, closed: Sequence[ClosedMonth]) -> list[str]:
    """One line per thing in force during a closed month that `new` would change."""
    found: list[str] = []
    for month in closed:
        start, end = bounds(month.month)
        if old.currency != new.currency:
            changed = [f"currency {old.currency} would become {new.currency}"]
        else:
            changed = _rate_changes(
                "currency_rates", old.currency_rates, new.currency_rates, start, end
            )
            changed += _rate_changes("vat_rates", old.vat_rates, new.vat_rates, start, end)
            changed += _plan_changes(old, new, start, end)
        during = (
            f"in force during closed month {month_text(month.month)} "
            f"(closed at {pricing.moment_text(month.closed_at)})"
        )
        found += [f"{line}; {during}" for line in changed]
    return found


def _in_force(
    entries: Sequence[T], start: datetime, end: datetime, valid_from: list[datetime]
) -> list[tuple[datetime, T]]:
    """The entries (sorted by valid_from) that hold some time in [start, end), each with the
    moment from which it holds there."""
    held: list[tuple[datetime, T]] = []
    for index, entry in enumerate(entries):
        until = valid_from[index + 1] if index + 1 < len(entries) else None
        if valid_from[index] < end and (until is None or until > start):
            held.append((max(valid_from[index], start), entry))
    return held


def _rate_changes(
    field: str,
    old: tuple[pricing.Rate, ...],
    new: tuple[pricing.Rate, ...],
    start: datetime,
    end: datetime,
) -> list[str]:
    found: list[str] = []
    for code in sorted({rate.code for rate in old} | {rate.code for rate in new}):
        before = _rates_held(old, code, start, end)
        after = _rates_held(new, code, start, end)
        if before != after:
            found.append(
                f"{field} {code!r}: {_show_rates(before)} would become {_show_rates(after)}"
            )
    return found


def _rates_held(
    rates: tuple[pricing.Rate, ...], code: str, start: datetime, end: datetime
) -> list[tuple[datetime, object]]:
    mine = [rate for rate in rates if rate.code == code]
    return [
        (since, rate.rate)
        for since, rate in _in_force(mine, start, end, [r.valid_from for r in mine])
    ]


def _show_rates(held: list[tuple[datetime, object]]) -> str:
    if not held:
        return "no rate"
    return "; ".join(f"{rate} from {pricing.moment_text(since)}" for since, rate in held)


def _plan_changes(
    old: pricing.Pricing, new: pricing.Pricing, start: datetime, end: datetime
) -> list[str]:
    found: list[str] = []
    old_versions, new_versions = old.versions(), new.versions()
    for key in sorted(set(old_versions) | set(new_versions), key=lambda k: (k[0], k[1] or "")):
        before = _versions_held(old_versions.get(key, []), start, end)
        after = _versions_held(new_versions.get(key, []), start, end)
        if before == after:
            continue
        plan = pricing.describe_plan(key)
        if not after:
            found.append(f"plan {plan}: {_show_versions(before)} would be removed")
        elif not before:
            found.append(f"plan {plan}: {_show_versions(after)} would be added")
        elif [since for since, _ in before] != [since for since, _ in after]:
            found.append(
                f"plan {plan}: {_show_versions(before)} would become {_show_versions(after)}"
            )
        else:
            for (since, was), (_, becomes) in zip(before, after, strict=True):
                found += [
                    f"plan {plan} version {was.name!r} (in force there from "
                    f"{pricing.moment_text(since)}): {change}"
                    for change in _version_changes(was, becomes)
                ]
    return found


def _versions_held(
    versions: list[pricing.PlanVersion], start: datetime, end: datetime
) -> list[tuple[datetime, pricing.PlanVersion]]:
    """The versions held in the month, compared without their valid_from (the moment they
    hold from within the month stands for it)."""
    held = _in_force(versions, start, end, [v.valid_from for v in versions])
    return [(since, version.model_copy(update={"valid_from": start})) for since, version in held]


def _show_versions(held: list[tuple[datetime, pricing.PlanVersion]]) -> str:
    return "; ".join(
        f"version {version.name!r} from {pricing.moment_text(since)}" for since, version in held
    )


def _version_changes(was: pricing.PlanVersion, becomes: pricing.PlanVersion) -> list[str]:
    found: list[str] = []
    for field in ("name", *pricing.SERVICE_VARIABLE_DEFAULTS):
        if getattr(was, field) != getattr(becomes, field):
            found.append(f"{field} {getattr(was, field)} would become {getattr(becomes, field)}")
    before = {component.name: component for component in was.components}
    after = {component.name: component for component in becomes.components}
    for name in sorted(set(before) | set(after)):
        if name not in after:
            found.append(f"component {name!r} would be removed")
        elif name not in before:
            found.append(f"component {name!r} would be added")
        else:
            for field in ("formula", "currency", "vat"):
                a, b = getattr(before[name], field), getattr(after[name], field)
                if a != b:
                    found.append(f"component {name!r} {field} {a!r} would become {b!r}")
    return found
