"""expected_usage: the contract's arithmetic over a hand-made truth."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from simulator.truth import Truth, expected_usage, totals, usage_key

TRUTH = Truth.model_validate(
    {
        "seed": 1,
        "history_start": "2026-01-01T00:00:00Z",
        "history_end": "2026-01-02T00:00:00Z",
        "processes": [
            {
                "guid": "p1",
                "type": "web",
                "app_guid": "a1",
                "app_name": "app",
                "space_guid": "s",
                "org_guid": "o",
                "spans": [
                    {
                        "start": "2026-01-01T00:00:00Z",
                        "end": "2026-01-01T02:00:00Z",
                        "instances": 2,
                        "memory_mb": 512,
                    },
                    {
                        "start": "2026-01-01T02:00:00Z",
                        "end": None,
                        "instances": 1,
                        "memory_mb": 1024,
                    },
                ],
            }
        ],
        "tasks": [
            {
                "guid": "t1",
                "name": "migrate",
                "app_guid": "a1",
                "space_guid": "s",
                "org_guid": "o",
                "start": "2026-01-01T01:00:00Z",
                "end": "2026-01-01T01:30:00Z",
                "instances": 1,
                "memory_mb": 256,
            }
        ],
        "staging": [
            {
                "app_guid": "a1",
                "space_guid": "s",
                "org_guid": "o",
                "start": "2026-01-01T03:00:00Z",
                "end": None,
                "instances": 1,
                "memory_mb": 1024,
            }
        ],
        "service_instances": [
            {
                "guid": "si",
                "name": "db",
                "type": "managed_service_instance",
                "space_guid": "s",
                "org_guid": "o",
                "spans": [
                    {
                        "start": "2026-01-01T00:00:00Z",
                        "end": "2026-01-01T06:00:00Z",
                        "plan_guid": "small",
                        "plan_name": "small",
                        "service_label": "postgres",
                    },
                    {
                        "start": "2026-01-01T06:00:00Z",
                        "end": "2026-01-01T12:00:00Z",
                        "plan_guid": "large",
                        "plan_name": "large",
                        "service_label": "postgres",
                    },
                ],
            },
            {
                "guid": "ups",
                "name": "creds",
                "type": "user_provided_service_instance",
                "space_guid": "s",
                "org_guid": "o",
                "spans": [
                    {
                        "start": "2026-01-01T00:00:00Z",
                        "end": None,
                        "plan_guid": None,
                        "plan_name": None,
                        "service_label": None,
                    }
                ],
            },
        ],
    }
)


def at(hour: int) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC)


def test_truth_expected_usage_clips_spans_to_the_window() -> None:
    usage = expected_usage(TRUTH, at(1), at(4))
    app = usage[usage_key("app", "p1")]
    # 1 h of 2 x 512 MB, then 2 h of 1 x 1024 MB.
    assert app["memory_gb_hours"] == pytest.approx(1.0 + 2.0)
    assert app["instance_hours"] == pytest.approx(2.0 + 2.0)
    task = usage[usage_key("task", "t1")]
    assert task["memory_gb_hours"] == pytest.approx(0.125)
    assert usage[usage_key("service", "si", "small")]["service_hours"] == pytest.approx(3.0)
    assert usage_key("staging", "a1") not in usage  # never finished: counts zero
    assert all(not k.startswith("service:ups") for k in usage)  # user-provided: left out


def test_truth_open_spans_run_to_the_history_end_and_windows_outside_are_empty() -> None:
    usage = expected_usage(TRUTH, at(0), datetime(2026, 1, 3, tzinfo=UTC))
    assert usage[usage_key("app", "p1")]["instance_hours"] == pytest.approx(4.0 + 22.0)
    assert usage[usage_key("service", "si", "large")]["service_hours"] == pytest.approx(6.0)
    assert totals(usage)["service_hours"] == pytest.approx(12.0)
    assert (
        expected_usage(TRUTH, datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 1, 6, tzinfo=UTC))
        == {}
    )
