"""CF usage-event resources shaped like the API's (v2 and v3), for tests."""

from __future__ import annotations

import uuid
from typing import Any


def guid() -> str:
    return str(uuid.uuid4())


def v2_app_entity(**overrides: Any) -> dict[str, Any]:
    """A v2 process event entity in the presenter's key order (spec §3.4)."""
    process = overrides.pop("app_guid", guid())
    entity: dict[str, Any] = {
        "state": "STARTED",
        "previous_state": "STOPPED",
        "memory_in_mb_per_instance": 512,
        "previous_memory_in_mb_per_instance": 512,
        "instance_count": 2,
        "previous_instance_count": 2,
        "app_guid": process,
        "app_name": "my-app",
        "space_guid": guid(),
        "space_name": "dev",
        "org_guid": guid(),
        "buildpack_guid": None,
        "buildpack_name": None,
        "package_state": "STAGED",
        "previous_package_state": "UNKNOWN",
        "parent_app_guid": process,
        "parent_app_name": "my-app",
        "process_type": "web",
        "task_name": None,
        "task_guid": None,
    }
    entity.update(overrides)
    return entity


def v2_resource(
    entity: dict[str, Any],
    kind: str = "app",
    created_at: str = "2026-10-05T10:00:00Z",
    event_guid: str | None = None,
) -> dict[str, Any]:
    event_guid = event_guid or guid()
    return {
        "metadata": {
            "guid": event_guid,
            "url": f"/v2/{kind}_usage_events/{event_guid}",
            "created_at": created_at,
        },
        "entity": entity,
    }


def v2_service_entity(**overrides: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "state": "CREATED",
        "org_guid": guid(),
        "space_guid": guid(),
        "space_name": "dev",
        "service_instance_guid": guid(),
        "service_instance_name": "my-db",
        "service_instance_type": "managed_service_instance",
        "service_plan_guid": guid(),
        "service_plan_name": "small",
        "service_guid": guid(),
        "service_label": "postgres",
        "service_broker_name": "pg-broker",
        "service_broker_guid": guid(),
    }
    entity.update(overrides)
    return entity


def v3_app_resource(created_at: str = "2026-10-05T10:00:00Z", **overrides: Any) -> dict[str, Any]:
    event_guid = overrides.pop("guid", guid())
    process = guid()
    resource: dict[str, Any] = {
        "guid": event_guid,
        "created_at": created_at,
        "updated_at": created_at,
        "state": {"current": "STARTED", "previous": "STOPPED"},
        "app": {"guid": process, "name": "my-app"},
        "process": {"guid": process, "type": "web"},
        "space": {"guid": guid(), "name": "dev"},
        "organization": {"guid": guid()},
        "buildpack": {"guid": guid(), "name": "ruby_buildpack"},
        "task": {"guid": None, "name": None},
        "memory_in_mb_per_instance": {"current": 512, "previous": 256},
        "instance_count": {"current": 10, "previous": 5},
        "links": {"self": {"href": f"https://api.example.org/v3/app_usage_events/{event_guid}"}},
    }
    resource.update(overrides)
    return resource


def v3_service_resource(
    created_at: str = "2026-10-05T10:00:00Z", **overrides: Any
) -> dict[str, Any]:
    event_guid = overrides.pop("guid", guid())
    resource: dict[str, Any] = {
        "guid": event_guid,
        "created_at": created_at,
        "updated_at": created_at,
        "state": "CREATED",
        "space": {"guid": guid(), "name": "dev"},
        "organization": {"guid": guid()},
        "service_instance": {"guid": guid(), "name": "my-db", "type": "managed_service_instance"},
        "service_plan": {"guid": guid(), "name": "small"},
        "service_offering": {"guid": guid(), "name": "postgres"},
        "service_broker": {"guid": guid(), "name": "pg-broker"},
        "links": {
            "self": {"href": f"https://api.example.org/v3/service_usage_events/{event_guid}"}
        },
    }
    resource.update(overrides)
    return resource
