"""Report warnings: the collection gaps (issue 5) whose period overlaps the window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reporter import protocol
from shared import db

# The warning code of a collection gap.
COLLECTION_GAP = "collection_gap"


def warnings(
    cursor: db.Cursor, queries: Mapping[str, str], params: Mapping[str, Any]
) -> list[protocol.ReportWarning]:
    """One warning per gap row overlapping [from, to); open ends (NULL) overlap everything."""
    cursor.execute(queries["collection_gaps"], params)
    return [_warning(*row) for row in cursor.fetchall()]


def _warning(
    foundation: str, kind: str, gap_from: datetime | None, gap_to: datetime | None, reason: str
) -> protocol.ReportWarning:
    start = gap_from.isoformat() if gap_from else "an unknown time"
    end = gap_to.isoformat() if gap_to else "an unknown time"
    message = (
        f"{kind} usage events of foundation {foundation} may be missing from {start} "
        f"to {end} ({reason}); usage in that period may be under-reported"
    )
    return protocol.ReportWarning(
        code=COLLECTION_GAP,
        message=message,
        foundation=foundation,
        kind=kind,
        from_=gap_from,
        to=gap_to,
    )
