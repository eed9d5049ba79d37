"""Render the resilience measurements as the Markdown table of docs/reliability.md.

RESILIENCE_RESULTS=/tmp/r.jsonl python -m pytest tests/resilience
RESILIENCE_RESULTS=/tmp/r.jsonl python -m tests.resilience.table
"""

from __future__ import annotations

import json
from typing import Any

from tests.resilience.scenario import results_path

HEADER = (
    "| fault | duration | events | lost | duplicates | recovery (measured) | outcome |\n"
    "| --- | --- | --- | --- | --- | --- | --- |"
)


def recovery(row: dict[str, Any]) -> str:
    parts = []
    if "resumed_after_s" in row:
        parts.append(f"ingestion resumed {row['resumed_after_s']} s after restore")
    if "all_stored_after_s" in row:
        parts.append(f"all stored {row['all_stored_after_s']} s after restore")
    if "answered_after_s" in row:
        parts.append(f"correct report {row['answered_after_s']} s after restore")
    if "all_published_after_s" in row:
        parts.append(f"all published {row['all_published_after_s']} s after reads resumed")
    if "exited_0_after_s" in row:
        parts.append(f"exit 0 {row['exited_0_after_s']} s after SIGTERM/resume")
    return "; ".join(parts)


def outcome(row: dict[str, Any]) -> str:
    parts = [row[key] for key in ("first_reply", "report") if key in row]
    if "producer_rss_mib" in row:
        parts.append(f"producer RSS {row['producer_rss_mib']} MiB")
        parts.append(
            f"cursor {row['cursor_during_pause']} <= queue {row['queue_during_pause']} in pause"
        )
    return "; ".join(parts)


def render(rows: list[dict[str, Any]]) -> str:
    lines = [HEADER]
    for row in rows:
        seconds = row.get("seconds")
        duration = f"{seconds} s" if seconds else "-"
        lines.append(
            f"| {row['fault']} | {duration} | {row.get('events', '-')} | {row['lost']} "
            f"| {row.get('duplicates', '-')} | {recovery(row)} | {outcome(row)} |"
        )
    return "\n".join(lines)


def main() -> None:
    text = results_path().read_text(encoding="utf-8")
    print(render([json.loads(line) for line in text.splitlines() if line.strip()]))


if __name__ == "__main__":
    main()
