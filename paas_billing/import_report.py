"""What `paas-billing import` prints: a progress line while it runs, a summary at the end.

The summary is for reconciling: per table, the source rows, and what became of each (imported,
already stored, not imported with the reasons and the first guids), which add up to the source
rows read; the ids the imported events were given; where the history now begins.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from paas_billing import import_record
from paas_billing.import_outcome import RunCounts, TableOutcome, TableStatus

# Seconds between two progress lines when the output is not a terminal.
PLAIN_INTERVAL_SECONDS = 10.0


class Progress:
    """Rewritten in place on a terminal; otherwise a line now and then."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout
        self._tty = self._out.isatty()
        self._last_plain = 0.0
        self._shown = False

    def update(self, table: str, done: int, total: int, run: RunCounts) -> None:
        percent = f" ({min(done / total, 1.0):.0%})" if total else ""
        rate = run.rows / run.seconds if run.seconds > 0 else 0.0
        line = (
            f"{table}: {done:,} of {total:,} source rows{percent}, "
            f"{run.imported:,} imported this run, {rate:,.0f} rows/s"
        )
        if self._tty:
            self._out.write(f"\r\x1b[K{line}")
            self._out.flush()
            self._shown = True
        elif time.monotonic() - self._last_plain >= PLAIN_INTERVAL_SECONDS:
            self._out.write(line + "\n")
            self._out.flush()
            self._last_plain = time.monotonic()

    def done(self) -> None:
        if self._tty and self._shown:
            self._out.write("\n")
            self._out.flush()
        self._shown = False
        self._last_plain = 0.0


def summary(outcomes: list[TableOutcome], foundation: str, source: str) -> str:
    lines = [f"import from {source} into foundation {foundation}"]
    for outcome in outcomes:
        lines += ["", *_table(outcome)]
    return "\n".join(lines) + "\n"


def _table(outcome: TableOutcome) -> list[str]:
    name = f"{outcome.kind.value}_usage_events"
    if outcome.status is TableStatus.MISSING:
        return [f"{name}: not in the source; skipped"]
    if outcome.status is TableStatus.EMPTY:
        return [f"{name}: the source table is empty; nothing to import"]
    if outcome.status is TableStatus.LOCKED:
        return [f"{name}: another import into this foundation's table is running; skipped"]
    record = outcome.record
    assert record is not None
    lines = [
        name,
        _row(
            "source rows",
            outcome.source_rows,
            f"source ids {record.source_min_id:,}..{record.source_max_id:,} when the import began",
        ),
        _row("imported", record.imported, _ids(record)),
        _row("already stored", record.already_stored, "same guid, same facts"),
        _row("not imported", record.not_imported, ""),
    ]
    for group in outcome.left_out:
        lines.append(f"    {group.count:>12,}  {_explain(group, record)}")
        lines.append(f"    {'':>12}  first: {', '.join(group.first_guids)}")
    unread = outcome.source_rows - record.accounted
    if unread > 0:
        lines.append(_row("not yet read", unread, "run the same command again to continue"))
    elif unread < 0:
        lines.append(_row("read, now gone", -unread, "the source holds fewer rows than were read"))
    began = outcome.history_begins.isoformat() if outcome.history_begins else "no events"
    lines.append(f"  {'history begins':<16}{began}")
    run = outcome.run
    lines.append(
        f"  {'this run':<16}{run.rows:,} rows read: {run.imported:,} imported, "
        f"{run.stored:,} already stored, {run.not_imported:,} not imported, "
        f"{run.seconds:,.1f} s"
        + ("" if outcome.status is TableStatus.FINISHED else "; stopped before the end")
    )
    return lines


def _row(label: str, count: int, note: str) -> str:
    return f"  {label:<16}{count:>12,}  {note}".rstrip()


def _ids(record: import_record.ImportRecord) -> str:
    if record.lowest_id is None or record.highest_id is None:
        return ""
    placement = record.placement
    where = [f"ids {record.lowest_id:,}..{record.highest_id:,}"]
    if record.stored.empty:
        where.append(f"source id {_offset(placement.before_offset)}")
    else:
        where.append(f"source id {_offset(placement.before_offset)} before the stored history")
        if placement.after_offset is not None:
            where.append(f"source id {_offset(placement.after_offset)} after it")
    return "; ".join(where)


def _offset(offset: int) -> str:
    return "as it was" if offset == 0 else f"{'+' if offset > 0 else '-'} {abs(offset):,}"


def _explain(group: import_record.LeftOutGroup, record: import_record.ImportRecord) -> str:
    text = group.explanation()
    if group.reason in (import_record.LeftOut.INSIDE_HISTORY, import_record.LeftOut.AFTER_HISTORY):
        oldest, newest = record.stored.oldest_at, record.stored.newest_at
        if oldest and newest:
            text += f" (stored history {oldest.isoformat()} to {newest.isoformat()})"
    if group.detail:
        text += f": {group.detail}"
    return text
