"""Rows as the v2 and v3 APIs present them (CF API spec §3.4, §4.5, §4.6), field order kept."""

from __future__ import annotations

import functools
from typing import Any

from simulator.clock import iso
from simulator.rows import AppContext, AppRow, Malformed, ServiceRow

V2_APP_PATH = "/v2/app_usage_events/"
V2_SERVICE_PATH = "/v2/service_usage_events/"
V3_APP_PATH = "/v3/app_usage_events/"


def v2_app(row: AppRow) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "state": row.state,
        "previous_state": row.previous_state,
        "memory_in_mb_per_instance": row.memory,
        "previous_memory_in_mb_per_instance": row.previous_memory,
        "instance_count": row.instances,
        "previous_instance_count": row.previous_instances,
        **_v2_context(row.ctx),
        "task_name": row.task_name,
        "task_guid": row.task_guid,
    }
    if row.malformed:
        _break(entity, row.malformed)
    guid = row.guid
    return {
        "metadata": {"guid": guid, "url": V2_APP_PATH + guid, "created_at": iso(row.created)},
        "entity": entity,
    }


@functools.lru_cache(maxsize=1 << 18)
def _v2_context(c: AppContext) -> dict[str, Any]:
    """The entity keys an event shares with its process (cached; callers copy it)."""
    return {
        "app_guid": c.app_guid,
        "app_name": c.app_name,
        "space_guid": c.space_guid,
        "space_name": c.space_name,
        "org_guid": c.org_guid,
        "buildpack_guid": c.buildpack_guid,
        "buildpack_name": c.buildpack_name,
        "package_state": c.package_state,
        "previous_package_state": c.previous_package_state,
        "parent_app_guid": c.parent_app_guid,
        "parent_app_name": c.parent_app_name,
        "process_type": c.process_type,
    }


def v2_service(row: ServiceRow) -> dict[str, Any]:
    c = row.ctx
    entity: dict[str, Any] = {
        "state": row.state,
        "org_guid": c.org_guid,
        "space_guid": c.space_guid,
        "space_name": c.space_name,
        "service_instance_guid": c.instance_guid,
        "service_instance_name": c.instance_name,
        "service_instance_type": c.instance_type,
        "service_plan_guid": c.plan_guid,
        "service_plan_name": c.plan_name,
        "service_guid": c.service_guid,
        "service_label": c.service_label,
        "service_broker_name": c.broker_name,
        "service_broker_guid": c.broker_guid,
    }
    if row.malformed:
        _break(entity, row.malformed)
    return {
        "metadata": {
            "guid": row.guid,
            "url": V2_SERVICE_PATH + row.guid,
            "created_at": iso(row.created),
        },
        "entity": entity,
    }


def v3_app(row: AppRow, api_url: str) -> dict[str, Any]:
    created = iso(row.created)
    app, process, space, organization, buildpack = _v3_context(row.ctx)
    resource: dict[str, Any] = {
        "guid": row.guid,
        "created_at": created,
        "updated_at": created,
        "state": {"current": row.state, "previous": row.previous_state},
        "app": app,
        "process": process,
        "space": space,
        "organization": organization,
        "buildpack": buildpack,
        "task": {"guid": row.task_guid, "name": row.task_name},
        "memory_in_mb_per_instance": {"current": row.memory, "previous": row.previous_memory},
        "instance_count": {"current": row.instances, "previous": row.previous_instances},
        "links": {"self": {"href": api_url + V3_APP_PATH + row.guid}},
    }
    if row.malformed == Malformed.BAD_INSTANCE_COUNT:
        resource["instance_count"]["current"] = "many"
    elif row.malformed == Malformed.MISSING_STATE:
        del resource["state"]
    return resource


@functools.lru_cache(maxsize=1 << 18)
def _v3_context(c: AppContext) -> tuple[dict[str, Any], ...]:
    """The nested objects an event shares with its process (cached, shared, never mutated)."""
    return (
        {"guid": c.parent_app_guid, "name": c.parent_app_name},
        {"guid": c.app_guid or None, "type": c.process_type},
        {"guid": c.space_guid, "name": c.space_name},
        {"guid": c.org_guid},
        {"guid": c.buildpack_guid, "name": c.buildpack_name},
    )


def v3_service(row: ServiceRow, api_url: str) -> dict[str, Any]:
    c = row.ctx
    created = iso(row.created)
    resource: dict[str, Any] = {
        "guid": row.guid,
        "created_at": created,
        "updated_at": created,
        "state": row.state,
        "space": {"guid": c.space_guid, "name": c.space_name},
        "organization": {"guid": c.org_guid},
        "service_instance": {
            "guid": c.instance_guid,
            "name": c.instance_name,
            "type": c.instance_type,
        },
        "service_plan": {"guid": c.plan_guid, "name": c.plan_name},
        "service_offering": {"guid": c.service_guid, "name": c.service_label},
        "service_broker": {"guid": c.broker_guid, "name": c.broker_name},
        "links": {"self": {"href": f"{api_url}/v3/service_usage_events/{row.guid}"}},
    }
    if row.malformed == Malformed.BAD_INSTANCE_COUNT:
        resource["service_instance"]["type"] = 42
    elif row.malformed == Malformed.MISSING_STATE:
        del resource["state"]
    return resource


def _break(entity: dict[str, Any], kind: Malformed) -> None:
    if kind == Malformed.BAD_INSTANCE_COUNT:
        entity["instance_count"] = "many"
    elif kind == Malformed.MISSING_STATE:
        del entity["state"]
