"""The API's `/v1/usage` body is the `report` object the reporter sends over the queue."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from reporter import client
from shared import db, pricing_file, pricing_store
from tests.support import api, event_rows, pricing_documents, processes
from tests.support.api import DAY, ORG_A, ORG_B
from tests.support.wait import wait_until


def rich_history() -> event_rows.History:
    """Processes scaling and stopping, a task, staging and a managed service, in two orgs."""
    events = api.history()
    t = DAY + timedelta(hours=3)
    web = "w" * 36
    where = {"org_guid": ORG_A, "space_guid": api.SPACE_A}
    events.app(
        t,
        "STARTED",
        process_guid=web,
        app_name="web",
        instance_count=2,
        memory_in_mb_per_instance=512,
        process_type="web",
        **where,
    )
    events.app(
        t + timedelta(hours=2),
        "STARTED",
        process_guid=web,
        app_name="web",
        instance_count=4,
        memory_in_mb_per_instance=512,
        process_type="web",
        **where,
    )
    events.app(t + timedelta(hours=5), "STOPPED", process_guid=web, app_name="web", **where)
    events.app(
        t,
        "TASK_STARTED",
        task_guid="t" * 36,
        task_name="migrate",
        memory_in_mb_per_instance=256,
        **where,
    )
    events.app(
        t + timedelta(minutes=30),
        "TASK_STOPPED",
        task_guid="t" * 36,
        task_name="migrate",
        memory_in_mb_per_instance=256,
        **where,
    )
    events.app(t, "STAGING_STARTED", parent_app_guid=web, **where)
    events.app(t + timedelta(minutes=4), "STAGING_STOPPED", parent_app_guid=web, **where)
    events.service(
        t,
        "CREATED",
        "s" * 36,
        service_plan_guid="plan-small",
        service_plan_name="small",
        service_label="postgres",
        service_instance_name="db",
        org_guid=ORG_B,
        space_guid=api.SPACE_B,
    )
    return events  # fmt: skip


def without_generated_at(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_api_usage_bodies_equal_the_reporters_replies(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    event_rows.insert(database_url, rich_history())
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    with (
        processes.running(processes.python_module("reporter", env)) as reporter,
        api.stack(database_url, tmp_path) as stack,
    ):
        wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter listening")
        admin, billing = stack.token("admin"), stack.token("billing")
        cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
            (admin, {}, {}),
            (admin, {"group_by": "space"}, {"group_by": "space"}),
            (admin, {"group_by": "org", "org_guid": ORG_B},
             {"group_by": "org", "org_guids": [ORG_B]}),
            (billing, {"org_guid": ORG_A}, {"org_guids": [ORG_A]}),
            (billing, {"org_guid": ORG_A, "space_guid": api.SPACE_A},
             {"org_guids": [ORG_A], "space_guids": [api.SPACE_A]}),
            (admin, {"foundation": "f1", "to": "2026-10-01T06:30:00+01:00"},
             {"foundations": ["f1"], "to": "2026-10-01T06:30:00+01:00"}),
        ]  # fmt: skip
        for token, params, body in cases:
            over_http = stack.usage(token, **params)
            assert over_http.status_code == 200, over_http.text
            reply = client.call(amqp_url, orjson.dumps({**api.WINDOW, **body}), timeout=30)
            assert reply is not None and reply["status"] == "ok", reply
            assert without_generated_at(over_http.json()) == without_generated_at(reply["report"])
            assert over_http.json()["rows"], params


def test_api_bill_bodies_equal_the_reporters_replies(
    database_url: str, amqp_url: str, tmp_path: Path
) -> None:
    event_rows.insert(database_url, rich_history())
    pricing = orjson.dumps(pricing_documents.sample())
    conn = db.connect(database_url)
    try:
        pricing_store.apply(conn, pricing, "sample.json", pricing_file.parse(pricing))
    finally:
        conn.close()
    env = {"DATABASE_URL": database_url, "AMQP_URL": amqp_url}
    with (
        processes.running(processes.python_module("reporter", env)) as reporter,
        api.stack(database_url, tmp_path) as stack,
    ):
        wait_until(lambda: "reporter_listening" in reporter.logs(), what="reporter listening")
        admin, billing = stack.token("admin"), stack.token("billing")
        cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
            (admin, {}, {}),
            (billing, {"org_guid": ORG_A}, {"org_guids": [ORG_A]}),
            (admin, {"org_guid": ORG_B, "space_guid": api.SPACE_B},
             {"org_guids": [ORG_B], "space_guids": [api.SPACE_B]}),
        ]  # fmt: skip
        for token, params, body in cases:
            over_http = stack.bills(token, **params)
            assert over_http.status_code == 200, over_http.text
            request = orjson.dumps({"type": "bill", **api.WINDOW, **body})
            reply = client.call(amqp_url, request, timeout=30)
            assert reply is not None and reply["status"] == "ok", reply
            assert without_generated_at(over_http.json()) == without_generated_at(reply["bill"])
            assert over_http.json()["orgs"], params
