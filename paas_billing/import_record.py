"""The import record (`event_imports`, migration 0013) and the rows an import left out.

The record fixes where an import's events go on its first run and keeps its progress and
counts, written in the same transaction as each batch, so a rerun continues where the last
committed batch ended, with the same numbering and classification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from paas_billing import import_placement
from shared import db
from shared.states import EventKind

# How many guids the summary lists per reason.
FIRST_GUIDS = 5


class LeftOut(StrEnum):
    """Why a source row was not imported (the reason codes of event_import_left_out)."""

    MISSING_GUID = "missing_guid"
    MISSING_CREATED_AT = "missing_created_at"
    MISSING_RAW_MESSAGE = "missing_raw_message"
    REFUSED = "refused"
    INSIDE_HISTORY = "inside_history"
    AFTER_HISTORY = "after_history"
    PRODUCER_STARTED = "producer_started"
    BEYOND_BLOCK = "beyond_block"
    CONFLICT = "conflict"
    ID_TAKEN = "id_taken"


# What each reason means, for people.
EXPLANATIONS: dict[LeftOut, str] = {
    LeftOut.MISSING_GUID: "the source row has no guid",
    LeftOut.MISSING_CREATED_AT: "the source row has no created_at",
    LeftOut.MISSING_RAW_MESSAGE: "the source row has no raw_message",
    LeftOut.REFUSED: "PostgreSQL refused the row",
    LeftOut.INSIDE_HISTORY: "created inside the stored history, where its place in API order "
    "among the stored events is unknown",
    LeftOut.AFTER_HISTORY: "newer than the stored history, whose following ids a producer of "
    "this foundation numbers",
    LeftOut.PRODUCER_STARTED: "wants ids above the stored events, but a producer of this "
    "foundation has numbered events since the import began",
    LeftOut.BEYOND_BLOCK: "added to the source after the import began: the ids after the "
    "block below the stored history are taken",
    LeftOut.CONFLICT: "its guid is stored already with other facts",
    LeftOut.ID_TAKEN: "its id is held by another event",
}


@dataclass(frozen=True)
class ImportRecord:
    """One row of event_imports."""

    import_id: int
    foundation: str
    kind: EventKind
    source_first_guid: str
    source_name: str
    source_min_id: int
    source_max_id: int
    stored: import_placement.StoredHistory
    producer: bool
    placement: import_placement.Placement
    done_source_id: int | None
    imported: int
    already_stored: int
    not_imported: int
    lowest_id: int | None
    highest_id: int | None
    started_at: datetime
    finished_at: datetime | None

    @property
    def accounted(self) -> int:
        """Source rows read so far, each imported, found stored, or not imported."""
        return self.imported + self.already_stored + self.not_imported


@dataclass(frozen=True)
class LeftOutGroup:
    """The rows left out for one reason: how many, the first guids, the first particulars."""

    reason: LeftOut
    count: int
    first_guids: list[str]
    detail: str | None

    def explanation(self) -> str:
        return EXPLANATIONS[self.reason]


def load(
    cursor: db.Cursor, queries: dict[str, str], foundation: str, kind: EventKind, first_guid: str
) -> ImportRecord | None:
    """The record of this import, or None before its first run."""
    cursor.execute(
        queries["load_import"],
        {"foundation": foundation, "kind": kind.value, "source_first_guid": first_guid},
    )
    row = cursor.fetchone()
    if row is None:
        return None
    return ImportRecord(
        import_id=row[0],
        foundation=row[1],
        kind=EventKind(row[2]),
        source_first_guid=row[3],
        source_name=row[4],
        source_min_id=row[5],
        source_max_id=row[6],
        stored=import_placement.StoredHistory(row[7], row[8], row[9], row[10]),
        producer=row[11],
        placement=import_placement.Placement(row[12], row[13], row[14]),
        done_source_id=row[15],
        imported=row[16],
        already_stored=row[17],
        not_imported=row[18],
        lowest_id=row[19],
        highest_id=row[20],
        started_at=row[21],
        finished_at=row[22],
    )


def create(cursor: db.Cursor, queries: dict[str, str], **fields: Any) -> None:
    """Insert the record of an import's first run (the query's named fields)."""
    cursor.execute(queries["create_import"], fields)


def left_out(cursor: db.Cursor, queries: dict[str, str], import_id: int) -> list[LeftOutGroup]:
    """What the import left out, per reason, in the order the reasons first occurred."""
    cursor.execute(queries["left_out_summary"], {"import_id": import_id, "first": FIRST_GUIDS})
    return [
        LeftOutGroup(LeftOut(reason), int(count), list(guids), detail)
        for reason, count, guids, detail in cursor.fetchall()
    ]
