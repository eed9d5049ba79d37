"""Query strings into requests: one decoder per `/v1` route, errors naming the parameter.

Times, windows and `group_by` are checked by the reporters' own rules (`reporter.protocol`),
so a request means the same over HTTP as over the queue. Unknown parameters are refused
rather than ignored: a mistyped filter (`org_guids=`) must not quietly widen a report.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from reporter import bill_protocol, protocol
from shared import errors

# Longest guid accepted in a filter (CONTRACT "HTTP API").
MAX_GUID_LENGTH = 255
# Most values one repeatable parameter may carry.
MAX_VALUES = protocol.MAX_FILTER_ITEMS
# Parameters of GET /v1/usage: the singles, then the repeatable filters (-> request field).
USAGE_SINGLES = ("from", "to", "group_by")
USAGE_FILTERS = {"org_guid": "org_guids", "space_guid": "space_guids", "foundation": "foundations"}
# Parameters of GET /v1/bills: the window and the same repeatable filters.
BILL_SINGLES = ("from", "to")


@dataclass(frozen=True)
class Params:
    """The query string as (name, value) pairs in order, repeats kept."""

    pairs: tuple[tuple[str, str], ...]

    def names(self) -> set[str]:
        return {name for name, _ in self.pairs}

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]

    def one(self, name: str) -> str | None:
        values = self.all(name)
        if len(values) > 1:
            raise errors.InvalidRequest(f"{name} is given {len(values)} times; give it once", name)
        return values[0] if values else None


def usage(params: Params) -> protocol.ReportRequest:
    """`GET /v1/usage`: from, to (RFC 3339 with offset), group_by, repeatable filters."""
    refuse_unknown(params, (*USAGE_SINGLES, *USAGE_FILTERS))
    singles = {name: params.one(name) for name in USAGE_SINGLES}
    start, end = _window(singles)
    group_by = singles["group_by"]
    if group_by is None:
        group_by = protocol.GroupBy.RESOURCE.value
    if group_by not in set(protocol.GroupBy):
        raise errors.InvalidRequest(
            f"group_by must be one of resource, space, org; got {_show(group_by)}", "group_by"
        )
    filters = {field: guids(params, name) for name, field in USAGE_FILTERS.items()}
    return protocol.ReportRequest(
        from_=start, to=end, group_by=protocol.GroupBy(group_by), **filters
    )


def bills(params: Params) -> bill_protocol.BillRequest:
    """`GET /v1/bills`: from, to (RFC 3339 with offset), repeatable filters."""
    refuse_unknown(params, (*BILL_SINGLES, *USAGE_FILTERS))
    singles = {name: params.one(name) for name in BILL_SINGLES}
    start, end = _window(singles)
    filters = {field: guids(params, name) for name, field in USAGE_FILTERS.items()}
    return bill_protocol.BillRequest(from_=start, to=end, **filters)


def nothing(params: Params) -> None:
    """A route that takes no parameters: any one is refused, naming it."""
    refuse_unknown(params, ())


def refuse_unknown(params: Params, known: Collection[str]) -> None:
    for name in sorted(params.names() - set(known)):
        takes = f"takes {', '.join(known)}" if known else "takes no parameters"
        raise errors.InvalidRequest(
            f"unknown parameter {_show(name)}; this endpoint {takes}", _printable(name)
        )


def guids(params: Params, name: str) -> tuple[str, ...] | None:
    """A repeatable filter: each value 1 to 255 printable characters; None when absent."""
    values = params.all(name)
    if len(values) > MAX_VALUES:
        raise errors.InvalidRequest(
            f"{name} is given {len(values)} times; at most {MAX_VALUES}", name
        )
    for value in values:
        if not 0 < len(value) <= MAX_GUID_LENGTH:
            raise errors.InvalidRequest(
                f"{name} must be 1 to {MAX_GUID_LENGTH} characters; got {len(value)}", name
            )
        if not value.isprintable():
            raise errors.InvalidRequest(f"{name} holds a control character: {_show(value)}", name)
    return tuple(dict.fromkeys(values)) or None


def _window(singles: dict[str, str | None]) -> tuple[datetime, datetime]:
    start = _time(singles, "from")
    end = _time(singles, "to")
    if start >= end:
        raise errors.InvalidRequest(
            f"from ({singles['from']}) must be earlier than to ({singles['to']})", "from"
        )
    return start, end


def _time(singles: dict[str, str | None], name: str) -> datetime:
    value = singles[name]
    try:
        return protocol.parse_time({name: value}, name)
    except errors.InvalidRequest as exc:
        if value is None or " " not in value:
            raise
        hint = "; a + in a query string stands for a space: write it %2B, or give the time in Z"
        raise errors.InvalidRequest(str(exc) + hint, name) from None


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:100]


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
