"""One hand-computed case per contract rule, against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2
import pytest

from reporter import protocol, usage
from shared import db
from tests.support.event_rows import USER_PROVIDED, History, insert

T0 = datetime(2026, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
LATER = T0 + 365 * DAY  # "now" long after every window
P1, P2 = "p" * 36, "q" * 36
TASK = "t" * 36
APP = "a" * 36
INST = "i" * 36


def proc(guid: str = P1, **kw: Any) -> dict[str, Any]:
    base = {"process_guid": guid, "process_type": "web", "app_name": "shop"}
    base.update(parent_app_guid=APP, org_guid="org-a", space_guid="space-a")
    return {**base, **kw}


OTHER = "o" * 36


def history_begins(h: History, at: datetime) -> None:
    """Events of other resources at `at` that use nothing: the history begins there."""
    h.app(at, "BUILDPACK_SET", **proc(OTHER))
    h.service(at, "CREATED", OTHER, service_instance_type=USER_PROVIDED)


def run(
    conn: db.Connection,
    url: str,
    history: History,
    start: datetime = T0,
    end: datetime = T0 + DAY,
    now: datetime = LATER,
    **kw: Any,
) -> protocol.Report:
    insert(url, history)
    return usage.compute(conn, protocol.ReportRequest(from_=start, to=end, **kw), now)


def only(report: protocol.Report) -> Any:
    assert len(report.rows) == 1, report.rows
    return report.rows[0]


def test_report_scale_mid_window(conn: db.Connection, database_url: str) -> None:
    """2x512 MB for 6 h then 4x512 MB for 18 h: 84 instance-hours, 42 GB-hours."""
    h = History()
    h.app(T0 - DAY, "STARTED", instance_count=2, memory_in_mb_per_instance=512, **proc())
    h.app(T0 + 6 * HOUR, "STARTED", instance_count=4, memory_in_mb_per_instance=512, **proc())
    row = only(run(conn, database_url, h))
    assert row.instance_hours == pytest.approx(2 * 6 + 4 * 18, rel=1e-12)
    assert row.memory_gb_hours == pytest.approx((2 * 6 + 4 * 18) * 0.5, rel=1e-12)
    assert (row.resource_type, row.process_type, row.parent_app_guid) == ("app", "web", APP)


def test_report_stop_before_window_counts_nothing(conn: db.Connection, database_url: str) -> None:
    """A process stopped before `from` has no row."""
    h = History()
    h.app(T0 - 3 * DAY, "STARTED", **proc())
    h.app(T0 - 2 * DAY, "STOPPED", **proc())
    assert run(conn, database_url, h).rows == ()


def test_report_window_inside_one_run(conn: db.Connection, database_url: str) -> None:
    """A run from before to after the window counts the whole window, 1 GB x 2 h."""
    h = History()
    h.app(T0 - DAY, "STARTED", memory_in_mb_per_instance=1024, **proc())
    h.app(T0 + 2 * DAY, "STOPPED", **proc())
    row = only(run(conn, database_url, h, T0 + HOUR, T0 + 3 * HOUR))
    assert (row.instance_hours, row.memory_gb_hours) == (2.0, 2.0)


def test_report_carried_in_usage(conn: db.Connection, database_url: str) -> None:
    """Before the first STARTED/STOPPED event the previous_* state runs; counts fall back."""
    h = History()
    history_begins(h, T0 - DAY)
    h.app(
        T0 + 10 * HOUR,
        "STOPPED",
        previous_state="STARTED",
        previous_instance_count=3,
        previous_memory_in_mb_per_instance=None,
        instance_count=1,
        memory_in_mb_per_instance=2048,
        **proc(),
    )
    row = only(run(conn, database_url, h))
    assert row.instance_hours == pytest.approx(30.0)
    assert row.memory_gb_hours == pytest.approx(3 * 2 * 10)


def test_report_carried_in_needs_a_running_previous_state(
    conn: db.Connection, database_url: str
) -> None:
    """previous_state STOPPED carries nothing in; WAS_RUNNING as previous_state does."""
    h = History()
    history_begins(h, T0 - DAY)
    h.app(T0 + HOUR, "STARTED", previous_state="STOPPED", **proc(P1))
    h.app(T0 + HOUR, "STOPPED", previous_state="WAS_RUNNING", **proc(P2))
    report = run(conn, database_url, h)
    hours = {r.resource_guid: r.instance_hours for r in report.rows}  # type: ignore[union-attr]
    assert hours == {P1: pytest.approx(23.0), P2: pytest.approx(1.0)}


def test_report_same_second_events_follow_api_order(conn: db.Connection, database_url: str) -> None:
    """STARTED then STOPPED in the same second: the stop (later id) wins; no usage after."""
    h = History()
    h.app(T0 + HOUR, "STARTED", **proc())
    h.app(T0 + HOUR, "STOPPED", **proc())
    h.app(T0 + 2 * HOUR, "STARTED", instance_count=2, **proc())
    h.app(T0 + 2 * HOUR, "STARTED", instance_count=1, **proc())
    row = only(run(conn, database_url, h))
    assert row.instance_hours == pytest.approx(22.0)


def test_report_task_running_at_to(conn: db.Connection, database_url: str) -> None:
    """A task still running counts until `to`; with `to` in the future only until now."""
    h = History()
    h.app(T0 + 20 * HOUR, "TASK_STARTED", task_guid=TASK, task_name="migrate",
          memory_in_mb_per_instance=256, parent_app_guid=APP, org_guid="org-a")  # fmt: skip
    row = only(run(conn, database_url, h))
    assert (row.resource_type, row.resource_name, row.instance_hours) == ("task", "migrate", 4.0)
    assert row.memory_gb_hours == pytest.approx(1.0)
    early = usage.compute(conn, protocol.ReportRequest(from_=T0, to=T0 + DAY), now=T0 + 21 * HOUR)
    assert only(early).instance_hours == pytest.approx(1.0)


def test_report_task_stop_without_start_ran_from_window_start(
    conn: db.Connection, database_url: str
) -> None:
    """An orphan TASK_STOPPED ran from before the history: counts from `from` (the history
    began before it)."""
    h = History()
    history_begins(h, T0 - DAY)
    h.app(T0 + 5 * HOUR, "TASK_STOPPED", task_guid=TASK, memory_in_mb_per_instance=1024)
    assert only(run(conn, database_url, h)).instance_hours == pytest.approx(5.0)


def test_report_staging_fifo_and_orphans(conn: db.Connection, database_url: str) -> None:
    """Orphan stop 0; start 1h->stop 3h pairs (2h); a start that never stops counts 0."""
    h = History()
    kw = {"parent_app_guid": APP, "parent_app_name": "shop", "memory_in_mb_per_instance": 1024}
    h.app(T0, "STAGING_STOPPED", **kw)
    h.app(T0 + HOUR, "STAGING_STARTED", **kw)
    h.app(T0 + 2 * HOUR, "STAGING_STARTED", **kw)
    h.app(T0 + 3 * HOUR, "STAGING_STOPPED", **kw)
    row = only(run(conn, database_url, h))
    assert (row.resource_type, row.resource_guid, row.instance_hours) == ("staging", APP, 2.0)
    assert row.memory_gb_hours == pytest.approx(2.0)


def test_report_service_plan_change_starts_new_row(conn: db.Connection, database_url: str) -> None:
    """CREATED small 2h, UPDATED to large 4h, DELETED: two rows, 2 and 4 service hours."""
    h = History()
    h.service(T0 + HOUR, "CREATED", INST, service_plan_guid="small", service_plan_name="S")
    h.service(T0 + 3 * HOUR, "UPDATED", INST, service_plan_guid="large", service_plan_name="L")
    h.service(T0 + 7 * HOUR, "DELETED", INST, service_plan_guid="large", service_plan_name="L")
    report = run(conn, database_url, h)
    got = {(r.service_plan_name, r.service_hours, r.memory_gb_hours) for r in report.rows}  # type: ignore[union-attr]
    assert got == {("S", 2.0, 0.0), ("L", 4.0, 0.0)}
    # The contract: totals.instance_hours sums app, task and staging rows only.
    assert report.totals.service_hours == 6.0 and report.totals.instance_hours == 0.0


def test_report_service_first_event_updated_existed_before(
    conn: db.Connection, database_url: str
) -> None:
    """A first event UPDATED means the instance existed before, on that event's plan."""
    h = History()
    history_begins(h, T0 - DAY)
    h.service(T0 + 2 * HOUR, "DELETED", INST, service_plan_guid="small")
    row = only(run(conn, database_url, h))
    assert (row.service_plan_guid, row.instance_hours) == ("small", 2.0)


def test_report_carried_in_usage_counts_from_the_history_beginning(
    conn: db.Connection, database_url: str
) -> None:
    """Nothing is known before the oldest event of the foundation's table: a process, a task
    and an instance that existed before their first event count from there, and the window
    that begins earlier says so."""
    h = History()
    history_begins(h, T0 + 4 * HOUR)
    h.app(T0 + 10 * HOUR, "STOPPED", previous_state="STARTED", instance_count=1, **proc())
    h.app(T0 + 7 * HOUR, "TASK_STOPPED", task_guid=TASK, memory_in_mb_per_instance=1024)
    h.service(T0 + 12 * HOUR, "DELETED", INST, service_plan_guid="small")
    report = run(conn, database_url, h)
    hours = {r.resource_type: r.instance_hours for r in report.rows}
    assert hours == {"app": 6.0, "task": 3.0, "service": 8.0}
    warnings = {(w.code, w.kind): (w.from_, w.to) for w in report.warnings}
    assert warnings == {
        ("before_history", "app"): (T0, T0 + 4 * HOUR),
        ("before_history", "service"): (T0, T0 + 4 * HOUR),
    }


def test_report_leaves_out_user_provided(conn: db.Connection, database_url: str) -> None:
    h = History()
    h.service(T0, "CREATED", INST, service_instance_type=USER_PROVIDED)
    assert run(conn, database_url, h).rows == ()


def test_report_ignores_unknown_states(conn: db.Connection, database_url: str) -> None:
    """BUILDPACK_SET and unknown states change nothing but may rename the row."""
    h = History()
    h.app(T0, "STARTED", **proc())
    h.app(T0 + HOUR, "SOMETHING_NEW", instance_count=9, **proc(app_name="renamed"))
    h.app(T0 + 2 * HOUR, "BUILDPACK_SET", instance_count=9, **proc(app_name="renamed"))
    h.app(T0 + 4 * HOUR, "STOPPED", **proc())
    h.service(T0, "MIGRATED", INST, service_plan_guid="x")
    row = only(run(conn, database_url, h, end=T0 + 3 * HOUR))
    assert (row.instance_hours, row.resource_name) == (3.0, "renamed")


def test_report_was_running_counts_as_started(conn: db.Connection, database_url: str) -> None:
    h = History()
    h.app(T0 - DAY, "WAS_RUNNING", instance_count=2, **proc())
    assert only(run(conn, database_url, h)).instance_hours == pytest.approx(48.0)


def _two_orgs() -> History:
    h = History()
    h.app(T0, "STARTED", **proc(P1, org_guid="org-a", space_guid="s1"))
    h.app(T0, "STARTED", **proc(P2, org_guid="org-a", space_guid="s2"))
    h.app(T0, "STARTED", **proc("r" * 36, org_guid="org-b", space_guid="s3"), foundation="f2")
    h.service(T0, "CREATED", INST, org_guid="org-b", space_guid="s3", foundation="f2")
    return h


def test_report_group_by_space_and_org(conn: db.Connection, database_url: str) -> None:
    insert(database_url, _two_orgs())
    window = {"from_": T0, "to": T0 + DAY}
    by_org = usage.compute(conn, protocol.ReportRequest(group_by="org", **window), LATER)
    got = {(r.resource_type, r.org_guid, r.instance_hours) for r in by_org.rows}
    assert got == {("app", "org-a", 48.0), ("app", "org-b", 24.0), ("service", "org-b", 24.0)}
    assert all(not hasattr(r, "space_guid") for r in by_org.rows)
    by_space = usage.compute(conn, protocol.ReportRequest(group_by="space", **window), LATER)
    assert [(r.resource_type, r.space_guid) for r in by_space.rows] == [  # type: ignore[union-attr]
        ("app", "s1"),
        ("app", "s2"),
        ("app", "s3"),
        ("service", "s3"),
    ]
    assert by_space.totals == by_org.totals


@pytest.mark.parametrize(
    ("filters", "guids"),
    [
        ({"org_guids": ("org-b",)}, {"r" * 36, INST}),
        ({"space_guids": ("s1", "s2")}, {P1, P2}),
        ({"foundations": ("f1",)}, {P1, P2}),
        ({"org_guids": ("org-a",), "space_guids": ("s2",)}, {P2}),
    ],
)
def test_report_filters(
    conn: db.Connection, database_url: str, filters: dict[str, Any], guids: set[str]
) -> None:
    report = run(conn, database_url, _two_orgs(), **filters)
    assert {r.resource_guid for r in report.rows} == guids  # type: ignore[union-attr]


def test_report_gap_warnings(conn: db.Connection, database_url: str) -> None:
    """Gaps overlapping the window warn, open ends included; others do not."""
    with psycopg2.connect(database_url) as c, c.cursor() as cursor:
        cursor.execute(
            "INSERT INTO collection_gaps (foundation, kind, lost_guid, gap_from, gap_to, reason)"
            " VALUES ('f1','app','x',%(a)s,%(b)s,'pruned'),"
            " ('f1','service','y',NULL,%(c)s,'purged'),"
            " ('f2','app','z',%(d)s,NULL,'pruned'), ('f1','app','w',%(e)s,%(d)s,'old')",
            {"a": T0 + HOUR, "b": T0 + 2 * HOUR, "c": T0 + HOUR, "d": T0, "e": T0 - DAY},
        )
    report = run(conn, database_url, History())
    got = [(w.foundation, w.kind, w.from_, w.to) for w in report.warnings]
    assert got == [
        ("f1", "app", T0 + HOUR, T0 + 2 * HOUR),
        ("f1", "service", None, T0 + HOUR),
        ("f2", "app", T0, None),
    ]
    assert {w.code for w in report.warnings} == {"collection_gap"}
    body = protocol.to_body(protocol.OkReply(report=report))
    assert b'"from":null' in body and b'"code":"collection_gap"' in body
