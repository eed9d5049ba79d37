"""Calendar months (UTC), as the dashboard shows them and bills close them: `?month=2026-10`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shared import errors

# `YYYY-MM`, as an `<input type="month">` sends it.
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Months a page may show (a bill's window must be a time PostgreSQL and Python both hold).
FIRST_YEAR, LAST_YEAR = 2000, 9998


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, moment: datetime) -> Month:
        utc = moment.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def parse(cls, text: str | None, now: datetime) -> Month:
        """`YYYY-MM` up to this month, or this month when absent or blank; InvalidRequest
        naming `month` otherwise."""
        if text is None or not text.strip():
            return cls.of(now)
        found = _MONTH.match(text.strip())
        if found is None or not 1 <= int(found[2]) <= 12:
            raise errors.InvalidRequest(
                f"month must be a year and month such as 2026-10; got {text[:40]!r}", "month"
            )
        year = int(found[1])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise errors.InvalidRequest(
                f"month must be between {FIRST_YEAR} and {LAST_YEAR}; got {text[:40]!r}", "month"
            )
        month = cls(year, int(found[2]))
        if month > cls.of(now):
            raise errors.InvalidRequest(
                f"month {month.key} has not begun yet; this month is {cls.of(now).key}", "month"
            )
        return month

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first moment of the next month (the window is [start, end))."""
        return self.next().start

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def days(self) -> list[date]:
        first = self.start.date()
        return [first + timedelta(days=n) for n in range((self.end - self.start).days)]

    @property
    def key(self) -> str:
        """`2026-10`."""
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """`October 2026`."""
        return self.start.strftime("%B %Y")
