"""Go-style durations (`90s`, `1m`, `1h30m`, `0s`), as the original collector took them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer

# One `<number><unit>` term of a Go duration; units as Go's time.ParseDuration knows them.
_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
# Seconds per unit.
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse(text: str) -> timedelta:
    """Parse a Go duration such as `1h30m` or `0s`; raise ValueError naming the text."""
    value = text.strip()
    if value == "0":
        return timedelta(0)
    if not value:
        raise ValueError("empty duration: use a value such as 90s, 1m or 1h30m")
    sign = -1.0 if value.startswith("-") else 1.0
    body = value.lstrip("+-")
    seconds = 0.0
    position = 0
    for match in _TERM.finditer(body):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(body) or position == 0:
        raise ValueError(f"invalid duration {text!r}: use a value such as 90s, 1m or 1h30m")
    return timedelta(seconds=sign * seconds)


def format_go(value: timedelta) -> str:
    """Render a duration the way Go prints whole seconds (`1h30m0s`, `90s` -> `1m30s`)."""
    total = int(value.total_seconds())
    if total == 0:
        return "0s"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return ("-" if total < 0 else "") + text + f"{seconds}s"


def _coerce(value: object) -> object:
    if isinstance(value, str):
        return parse(value)
    return value


# A pydantic field type that accepts Go-style duration strings.
Duration = Annotated[
    timedelta, BeforeValidator(_coerce), PlainSerializer(format_go, return_type=str)
]


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("must not be negative: use a value such as 0s, 90s or 1m")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be more than 0s: use a value such as 90s or 1m")
    return value


# A duration of 0s or more (a wait, a backoff, a cache lifetime): the type of every such
# variable in every process, so that `-1s` is refused the same way everywhere.
NonNegativeDuration = Annotated[Duration, AfterValidator(_not_negative)]
# A duration of more than 0s (a timeout).
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
