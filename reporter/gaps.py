"""Report warnings: the collection gaps (issue 5) whose period overlaps the window, and a
window that begins before the history does (issue 15)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reporter import protocol
from shared import db

# The warning code of a collection gap.
COLLECTION_GAP = "collection_gap"
# The warning code of a window that begins before the history of a foundation's table.
BEFORE_HISTORY = "before_history"


def warnings(
    cursor: db.Cursor, queries: Mapping[str, str], params: Mapping[str, Any]
) -> list[protocol.ReportWarning]:
    """One warning per gap row overlapping [from, to) (open ends, NULL, overlap everything),
    then one per foundation and table whose history begins after `from`."""
    cursor.execute(queries["collection_gaps"], params)
    found = [_warning(*row) for row in cursor.fetchall()]
    cursor.execute(queries["history_beginnings"], params)
    for foundation, kind, began_at in cursor.fetchall():
        if params["from"] < began_at:
            found.append(_before_history(foundation, kind, params["from"], params["to"], began_at))
    return found


def _before_history(
    foundation: str, kind: str, start: datetime, end: datetime, began_at: datetime
) -> protocol.ReportWarning:
    message = (
        f"the window begins before the history: the oldest {kind} usage event of foundation "
        f"{foundation} is from {began_at.isoformat()}; nothing is known, and no usage is "
        "reported, before then"
    )
    return protocol.ReportWarning(
        code=BEFORE_HISTORY,
        message=message,
        foundation=foundation,
        kind=kind,
        from_=start,
        to=min(end, began_at),
    )


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
