"""`paas-billing import` as an operator runs it: the real command, configured by environment.

Killed with SIGKILL halfway and run again, it stores every event once with the ids a clean
import gives; run while the simulator, a producer and consumers fill the same foundation, it
puts the older history before the live one, every event once, in order.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shared.states import EventKind
from tests.support import collector_history, collector_source, event_rows, importing, services
from tests.support.pipeline import Pipeline, api_guids, simulator
from tests.support.processes import python_module
from tests.support.wait import wait_until

pytestmark = pytest.mark.timeout(240)

OLD_START = datetime(2014, 1, 1, tzinfo=UTC)
OLD_END = datetime(2016, 1, 1, tzinfo=UTC)
PASSWORD = "s3cret-pw"


@pytest.fixture
def source_url(postgres_admin_url: str) -> Iterator[str]:
    with collector_source.collector_database(postgres_admin_url) as url:
        yield url


@pytest.fixture
def other_database(postgres_admin_url: str, template_database: str) -> Iterator[str]:
    with services.cloned_database(postgres_admin_url, template_database) as url:
        yield url


def _import(source: str, database_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`paas-billing import` run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "paas_billing", "import", source, *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _env(database_url: str | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AMQP_URL")}
    return {**base, "LOG_LEVEL": "INFO", **({"DATABASE_URL": database_url} if database_url else {})}


def _count(url: str, kind: EventKind) -> int:
    return int(importing.query(url, f"SELECT count(*) FROM {importing.TABLES[kind]}")[0][0])


def test_import_killed_halfway_and_run_again_stores_every_event_once_with_clean_ids(
    source_url: str, database_url: str, other_database: str
) -> None:
    old = collector_history.generate(OLD_START, OLD_END, 30_000, seed=3)
    live = collector_history.generate(
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), 200, seed=4
    )
    collector_source.fill(source_url, old)
    for url in (database_url, other_database):
        event_rows.insert(url, live)
    apps = len(live.apps) + len(old.apps)

    killed = python_module(
        "paas_billing", _env(database_url), "import", source_url, "--batch-size", "300"
    )
    try:
        wait_until(
            lambda: _count(database_url, EventKind.APP) >= len(live.apps) + len(old.apps) // 3,
            timeout=120,
            what="a third of the app events imported",
        )
        killed.kill()
    finally:
        killed.close()
    assert _count(database_url, EventKind.APP) < apps, "the import ended before it was killed"

    again = _import(source_url, database_url, "--batch-size", "300")
    clean = _import(source_url, other_database, "--batch-size", "1000")

    assert (again.returncode, clean.returncode) == (0, 0), again.stderr + clean.stderr
    for kind in EventKind:
        assert importing.stored(database_url, kind) == importing.stored(other_database, kind)
    records = importing.query(
        database_url, "SELECT kind, imported, already_stored, not_imported FROM event_imports"
    )
    assert sorted(records) == [
        ("app", len(old.apps), 0, 0),
        ("service", len(old.services), 0, 0),
    ]
    assert f"  {'imported':<16}{len(old.apps):>12,}" in again.stdout
    assert f"  {'not imported':<16}{0:>12,}" in again.stdout


def test_import_summary_and_exit_code_say_what_was_left_out(
    source_url: str, database_url: str
) -> None:
    """Exit 3 and the left-out rows named in the summary; a second run, the same."""
    history = event_rows.History()
    good = history.app(OLD_START, "STARTED", "default", process_guid="p".ljust(36, "0"))
    collector_source.fill(source_url, history)
    collector_source.write(
        source_url,
        "app_usage_events",
        [(2, "b".ljust(36, "0"), OLD_START, '{"instance_count": 1}')],
    )

    first = _import(source_url, database_url)
    second = _import(source_url, database_url)

    assert (first.returncode, second.returncode) == (3, 3), first.stderr
    for run in (first, second):
        assert "b".ljust(36, "0") in run.stdout
        assert "PostgreSQL refused the row" in run.stdout
        assert "service_usage_events: the source table is empty" in run.stdout
    assert importing.stored(database_url, EventKind.APP) == [(1, good.guid)]


@pytest.mark.parametrize(
    "source",
    [
        f"postgres://billing:{PASSWORD}@db.example:notaport/old",
        f"mysql://billing:{PASSWORD}@db.example/old",
        "not a url",
    ],
)
def test_import_malformed_source_url_exits_2_naming_it(source: str, database_url: str) -> None:
    result = _import(source, database_url)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SOURCE_DATABASE_URL" in lines[0], result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_import_without_database_url_exits_2_naming_it(source_url: str) -> None:
    result = _import(source_url, None)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DATABASE_URL" in lines[0], result.stderr


@pytest.mark.parametrize("first", ["pipeline", "import"])
def test_import_while_the_pipeline_runs_puts_the_older_history_first(
    source_url: str, database_url: str, amqp_url: str, first: str
) -> None:
    """Simulator, producer and consumers fill foundation `default` with live events the whole
    time; an older history imported meanwhile goes before them. Every simulator event the
    producer published and every imported event is stored once, in order, and the history
    begins at the oldest imported event. Started first, the import keeps the source's ids and
    holds the producer off until it is done; started second, it puts them at 0 and below."""
    old = collector_history.generate(OLD_START, OLD_END, 4000, seed=12)
    collector_source.fill(source_url, old)
    with (
        # No late commits: with COLLECTOR_RECORD_MIN_AGE=0s the producer may pass a late event
        # by design (what the min age is for), and this test is about the import.
        simulator(seed=13, events=3000, live_rate=200, late_commit_fraction=0) as sim,
        Pipeline(sim.url, database_url, amqp_url) as pipe,
    ):
        importer = python_module(
            "paas_billing", _env(database_url), "import", source_url, "--batch-size", "100"
        )
        try:
            if first == "import":
                # Paused after its first batch, holding the producer's lock: the producer
                # waits for it.
                wait_until(lambda: _count(database_url, EventKind.APP) > 0, what="an import")
                importer.signal(signal.SIGSTOP)
                pipe.start_consumers(2)
                producer = pipe.start_producer()
                wait_until(
                    lambda: "waiting_for_foundation_lock" in producer.logs(),
                    timeout=60,
                    what="the producer waiting for the import",
                )
            else:
                importer.signal(signal.SIGSTOP)
                pipe.start_consumers(2)
                producer = pipe.start_producer()
                wait_until(
                    lambda: _count(database_url, EventKind.APP) >= 500,
                    timeout=120,
                    what="the pipeline storing events",
                )
            importer.signal(signal.SIGCONT)
            assert importer.popen.wait(timeout=120) == 0, importer.logs()
            wait_until(
                lambda: _count(database_url, EventKind.APP) >= len(old.apps) + 500,
                timeout=120,
                what="live events stored after the import",
            )
            assert producer.stop() == 0
            for kind in EventKind:
                wait_until(
                    functools.partial(_all_published_stored, database_url, kind, old),
                    timeout=120,
                    what=f"every published {kind} event stored",
                )
            listed = api_guids(sim.url)
        except BaseException:
            print(pipe.logs(), importer.logs())
            raise
        finally:
            importer.close()
    # Whether a producer ran when the import began, as the import saw it.
    producer_ran = importing.query(database_url, "SELECT kind, producer FROM event_imports")
    if first == "pipeline":
        assert sorted(producer_ran) == [("app", True), ("service", True)]
    else:
        assert ("app", False) in producer_ran
    for kind, old_events in ((EventKind.APP, old.apps), (EventKind.SERVICE, old.services)):
        rows = importing.stored(database_url, kind)
        guids = [guid for _, guid in rows]
        imported = [e.guid for e in old_events]
        assert guids[: len(imported)] == imported
        live = guids[len(imported) :]
        assert live and live == listed[kind][: len(live)]
        ids = [i for i, _ in rows]
        if first == "pipeline":
            assert ids[len(imported)] == 1 and ids[len(imported) - 1] <= 0
        else:
            assert ids[: len(imported)] == [e.id for e in old_events]
        began = importing.query(
            database_url,
            "SELECT began_at FROM usage_history_beginnings() WHERE foundation = 'default' "
            "AND kind = %s",
            (kind.value,),
        )
        assert began == [(old_events[0].created_at,)]


def _all_published_stored(url: str, kind: EventKind, old: event_rows.History) -> bool:
    """Every id the producer handed out (after the imported block) is stored."""
    imported = len(old.apps) if kind is EventKind.APP else len(old.services)
    cursor = importing.query(
        url,
        "SELECT sequence FROM collector_cursors WHERE foundation = 'default' AND kind = %s",
        (kind.value,),
    )
    ids = [i for i, _ in importing.stored(url, kind)][imported:]
    return bool(cursor) and bool(ids) and ids == list(range(ids[0], cursor[0][0] + 1))
