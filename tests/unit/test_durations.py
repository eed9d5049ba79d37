"""Go-style durations, as COLLECTOR_* variables take them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared import durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1m", timedelta(minutes=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
        ("0", timedelta(0)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5h", timedelta(minutes=90)),
        ("2h45m30s", timedelta(hours=2, minutes=45, seconds=30)),
    ],
)
def test_durations_parse_accepts_go_syntax(text: str, expected: timedelta) -> None:
    assert durations.parse(text) == expected


@pytest.mark.parametrize("text", ["", "5", "1x", "m", "1m 30s", "abc", "1h-30m"])
def test_durations_parse_rejects_malformed_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        durations.parse(text)


@pytest.mark.parametrize("text", ["90s", "1h30m0s", "0s", "45m0s"])
def test_durations_format_go_round_trips(text: str) -> None:
    assert durations.parse(durations.format_go(durations.parse(text))) == durations.parse(text)
