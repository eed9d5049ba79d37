"""Property: the reporter's SQL arithmetic equals the plain-Python reference of the contract."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import psycopg2
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reporter import protocol, usage
from shared import db
from tests.support import event_rows, reference_report

T0 = datetime(2026, 10, 1, tzinfo=UTC)
FOUNDATIONS = ("f1", "f2")
ORGS = ("org-a", "org-b")
PROCESS_STATES = ("STARTED", "STOPPED", "WAS_RUNNING", "BUILDPACK_SET", "FUTURE_STATE")
PREVIOUS_STATES = (None, "STARTED", "STOPPED", "WAS_RUNNING", "PENDING")
MEMORIES = (0, 64, 256, 1024, 4096)
PLANS = ("plan-small", "plan-large")


def _guid(prefix: str, n: int) -> str:
    return f"{prefix}-{n:04d}".ljust(36, "0")


counts = st.integers(0, 5)
maybe_counts = st.none() | counts
memories = st.sampled_from(MEMORIES)
maybe_memories = st.none() | memories


@st.composite
def process_event(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(0, 2))
    return {
        "state": draw(st.sampled_from(PROCESS_STATES)),
        "previous_state": draw(st.sampled_from(PREVIOUS_STATES)),
        "instance_count": draw(counts),
        "previous_instance_count": draw(maybe_counts),
        "memory_in_mb_per_instance": draw(memories),
        "previous_memory_in_mb_per_instance": draw(maybe_memories),
        "process_guid": _guid("proc", n),
        "process_type": "web" if n else "worker",
        "app_name": draw(st.sampled_from(("shop", "shop-renamed"))),
        "parent_app_guid": _guid("app", n),
        "parent_app_name": "shop",
    }


@st.composite
def task_event(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(0, 2))
    return {
        "state": draw(st.sampled_from(("TASK_STARTED", "TASK_STOPPED"))),
        "previous_state": "PENDING",
        "instance_count": 1,
        "memory_in_mb_per_instance": draw(memories),
        "task_guid": _guid("task", n),
        "task_name": f"task-{n}",
        "parent_app_guid": _guid("app", n),
        "app_name": "",
    }


@st.composite
def staging_event(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.sampled_from((0, 0, 0, 1)))
    return {
        "state": draw(st.sampled_from(("STAGING_STARTED", "STAGING_STOPPED"))),
        "previous_state": "STAGING",
        "instance_count": 1,
        "memory_in_mb_per_instance": 1024,
        "parent_app_guid": _guid("app", n),
        "parent_app_name": draw(st.sampled_from(("shop", "shop-2"))),
    }


@st.composite
def service_event(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(0, 2))
    plan = draw(st.sampled_from(PLANS))
    return {
        "state": draw(st.sampled_from(("CREATED", "UPDATED", "DELETED", "ODD"))),
        "service_instance": _guid("inst", n),
        "service_instance_type": event_rows.USER_PROVIDED if n == 2 else event_rows.MANAGED,
        "service_instance_name": draw(st.sampled_from(("db", "db-renamed"))),
        "service_plan_guid": plan,
        "service_plan_name": plan.upper(),
        "service_label": "postgres",
    }


@st.composite
def histories(draw: st.DrawFn) -> event_rows.History:
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from((*FOUNDATIONS, "f1")),
                st.integers(-48, 240),  # hours from T0: a small range gives same-second events
                st.sampled_from((0, 0, 1, 500_000)),  # microseconds
                st.one_of(
                    process_event(),
                    process_event(),
                    task_event(),
                    staging_event(),
                    staging_event(),
                    service_event(),
                    service_event(),
                ),
            ),
            min_size=3,
            max_size=40,
        )
    )
    # Org and space never change for a CF resource (the reporter relies on it): each app
    # (its processes, tasks and staging) and each service instance gets one org per foundation.
    owners = [
        (f, _guid(kind, n)) for f in FOUNDATIONS for kind in ("app", "inst") for n in range(3)
    ]
    org_of = draw(st.fixed_dictionaries({owner: st.sampled_from(ORGS) for owner in owners}))
    history = event_rows.History()
    times = sorted(T0 + timedelta(hours=h, microseconds=us) for _, h, us, _ in specs)
    for (foundation, _, _, spec), created_at in zip(specs, times, strict=True):
        org = org_of[(foundation, str(spec.get("service_instance") or spec["parent_app_guid"]))]
        where = {"org_guid": org, "space_guid": f"{org}-space", "space_name": "dev"}
        if "service_instance" in spec:
            fields = {k: v for k, v in spec.items() if k not in ("state", "service_instance")}
            history.service(
                created_at,
                str(spec["state"]),
                str(spec["service_instance"]),
                foundation,
                **fields,
                **where,
            )
        else:
            fields = {k: v for k, v in spec.items() if k != "state"}
            history.app(created_at, str(spec["state"]), foundation, **fields, **where)
    return history


windows = st.tuples(
    st.integers(-72, 200),
    st.integers(1, 200),
    st.integers(-24, 300) | st.just(10_000),  # now: often long after every event
    st.sampled_from((0, 1)),
)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _clear(conn: db.Connection) -> None:
    with db.transaction(conn) as cursor:
        cursor.execute("TRUNCATE app_usage_events, service_usage_events")


@settings(
    deadline=None, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories(), window=windows, org_filter=st.sampled_from((None, "org-a")))
def test_report_matches_reference(
    database_url: str,
    conn: db.Connection,
    history: event_rows.History,
    window: tuple[int, int, int, int],
    org_filter: str | None,
) -> None:
    """Every row and the totals equal the contract reference to 1e-9, filters included."""
    _clear(conn)
    event_rows.insert(database_url, history)
    start = T0 + timedelta(hours=window[0], seconds=window[3])
    end = start + timedelta(hours=window[1])
    now = T0 + timedelta(hours=window[2], microseconds=250_000)
    request = protocol.ReportRequest(
        from_=start, to=end, org_guids=(org_filter,) if org_filter else None
    )
    report = usage.compute(conn, request, now)

    expected = {
        k: r
        for k, r in reference_report.report(history, start, end, now).items()
        if org_filter is None or r.org_guid == org_filter
    }
    got = {}
    for row in report.rows:
        assert isinstance(row, protocol.AppRow | protocol.ServiceRow)
        plan = row.service_plan_guid if isinstance(row, protocol.ServiceRow) else None
        got[(row.resource_type, row.foundation, row.resource_guid, plan)] = row
    assert set(got) == set(expected)
    event(f"rows: {min(len(got), 5)}")
    event(f"types: {sorted({k[0] for k in got})}")
    for key, ref in expected.items():
        row = got[key]
        assert _close(row.memory_gb_hours, float(ref.memory_gb_hours)), key
        assert _close(row.instance_hours, float(ref.instance_hours)), key
        assert (row.resource_name, row.org_guid, row.space_guid) == (
            ref.resource_name,
            ref.org_guid,
            ref.space_guid,
        ), key
        if isinstance(row, protocol.ServiceRow):
            assert row.service_hours == row.instance_hours
            assert (row.service_plan_name, row.service_label) == (ref.plan_name, ref.service_label)
    for column in ("memory_gb_hours", "instance_hours", "service_hours"):
        # The contract: totals.instance_hours sums app, task and staging rows only.
        counted = [
            r for r in report.rows if column != "instance_hours" or r.resource_type != "service"
        ]
        total = math.fsum(getattr(r, column) for r in counted)
        assert _close(getattr(report.totals, column), total)


def _beginning(history: event_rows.History) -> datetime:
    """The earliest history beginning over every foundation and table."""
    return min(e.created_at for e in [*history.apps, *history.services])


@settings(
    deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=histories(),
    back=st.integers(1, 24 * 365 * 5),
    further=st.integers(1, 24 * 365),
    length=st.integers(1, 300),
)
def test_report_moving_the_start_before_the_history_changes_only_the_warnings(
    database_url: str,
    conn: db.Connection,
    history: event_rows.History,
    back: int,
    further: int,
    length: int,
) -> None:
    """No usage is reported before the history begins: a window that starts before it, and one
    that starts further back still, give the same rows and totals; each says where the history
    of every foundation's table begins; a window that ends before it is empty."""
    _clear(conn)
    event_rows.insert(database_url, history)
    began = _beginning(history)
    start = began - timedelta(hours=back)
    end = began + timedelta(hours=length)
    now = began + timedelta(days=400)
    near = usage.compute(conn, protocol.ReportRequest(from_=start, to=end), now)
    far_start = start - timedelta(hours=further)
    far = usage.compute(conn, protocol.ReportRequest(from_=far_start, to=end), now)
    assert far.rows == near.rows and far.totals == near.totals
    before = [w for w in near.warnings if w.code == "before_history"]
    tables = {(e.foundation, "app") for e in history.apps}
    tables |= {(e.foundation, "service") for e in history.services}
    assert {(w.foundation, w.kind) for w in before} == tables
    assert all(w.from_ == start and w.to is not None and w.to > start for w in before)
    empty = usage.compute(conn, protocol.ReportRequest(from_=far_start, to=began), now)
    assert empty.rows == () and empty.totals == protocol.Totals(
        memory_gb_hours=0.0, instance_hours=0.0, service_hours=0.0
    )
    inside = usage.compute(conn, protocol.ReportRequest(from_=began, to=end), now)
    assert inside.rows == near.rows
    assert not [w for w in inside.warnings if w.code == "before_history" and w.to == began]


def test_report_properties_database_is_reachable(database_url: str) -> None:
    """The fixture database answers (guards against a silently skipped property run)."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM app_usage_events")
        assert cursor.fetchone() == (0,)
