"""Warnings for usage a bill priced 0 (CONTRACT: "a resource priced 0 for want of a plan").

The engine reports each part of a resource's usage it priced 0 (`billing.Unpriced`). Here they
become one warning per plan (and, for a failed formula, per component) and period: the parts
of all resources on that plan merged where they overlap or touch, with how many resources the
period concerns. A missing plan is one cause with one fix, however many resources it touches;
a warning per resource would bury the other warnings of a busy platform's bill.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from reporter import bill_protocol, billing, tariff
from shared import pricing


def warnings(unpriced: Iterable[billing.Unpriced]) -> list[bill_protocol.BillWarning]:
    """Merged warnings, in order of plan, component and time."""
    groups: dict[tuple[Any, ...], list[billing.Unpriced]] = {}
    for part in unpriced:
        key = (
            part.code,
            part.resource_type,
            part.service_plan_guid,
            part.plan_name,
            part.component,
        )
        groups.setdefault(key, []).append(part)
    found: list[bill_protocol.BillWarning] = []
    for key in sorted(groups, key=lambda k: tuple(v or "" for v in k)):
        parts = sorted(groups[key], key=lambda p: p.start)
        start, end, resources = parts[0].start, parts[0].end, {_resource(parts[0])}
        for part in parts[1:]:
            if part.start > end:
                found.append(_warning(parts[0], start, end, len(resources)))
                start, end, resources = part.start, part.end, set()
            end = max(end, part.end)
            resources.add(_resource(part))
        found.append(_warning(parts[0], start, end, len(resources)))
    return found


def _resource(part: billing.Unpriced) -> tuple[str, str]:
    return (part.foundation, part.resource_guid)


def _warning(
    part: billing.Unpriced, start: int, end: int, resources: int
) -> bill_protocol.BillWarning:
    begins, ends = tariff.moment(start), tariff.moment(end)
    period = f"from {pricing.moment_text(begins)} to {pricing.moment_text(ends)}"
    plan = pricing.describe_plan((part.resource_type, part.service_plan_guid))
    count = f"{resources} resource{'s' if resources != 1 else ''}"
    if part.code == billing.NO_PLAN:
        message = f"no plan in force for {plan} {period}: usage of {count} priced 0"
    else:
        message = (
            f"formula of component {part.component!r} of plan {part.plan_name!r} ({plan}) "
            f"failed ({part.reason}) {period}: that usage of {count} priced 0"
        )
    return bill_protocol.BillWarning(
        code=part.code,
        message=message,
        resource_type=part.resource_type,
        service_plan_guid=part.service_plan_guid,
        plan_name=part.plan_name,
        component=part.component,
        resources=resources,
        from_=begins,
        to=ends,
    )
