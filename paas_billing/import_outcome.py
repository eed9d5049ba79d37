"""How the import of one table went: what the summary and the exit code are made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from paas_billing import import_record
from shared.states import EventKind


class TableStatus(StrEnum):
    """How the import of one table ended."""

    MISSING = "missing"  # the source has no such table
    EMPTY = "empty"  # the source table holds no rows
    LOCKED = "locked"  # another import of the same foundation's table is running
    FINISHED = "finished"  # every source row is accounted for
    STOPPED = "stopped"  # asked to stop; a rerun continues


@dataclass
class RunCounts:
    """What this run did (the record keeps the totals of every run)."""

    rows: int = 0
    imported: int = 0
    stored: int = 0
    seconds: float = 0.0

    @property
    def not_imported(self) -> int:
        return self.rows - self.imported - self.stored


@dataclass
class TableOutcome:
    """The import of one table, as the summary tells it."""

    kind: EventKind
    status: TableStatus
    record: import_record.ImportRecord | None = None
    source_rows: int = 0
    run: RunCounts = field(default_factory=RunCounts)
    left_out: list[import_record.LeftOutGroup] = field(default_factory=list)
    history_begins: datetime | None = None
