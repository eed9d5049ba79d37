-- Queries of the consumer's writer. A batch none of whose guids is stored yet (the common
-- case) is copied straight into the event table, in a savepoint. When that is refused (a guid
-- is stored already, by an earlier delivery or another consumer), the batch is copied into a
-- per-session staging table instead, then moved into the event table in guid order (so
-- concurrent consumers lock unique keys in the same order), skipping guids already stored.

-- name: create_app_staging
CREATE TEMP TABLE IF NOT EXISTS app_usage_events_in (
    id numeric,
    guid text,
    created_at timestamptz,
    raw_message jsonb,
    foundation text,
    api_version text,
    state text,
    previous_state text,
    instance_count bigint,
    previous_instance_count bigint,
    memory_in_mb_per_instance bigint,
    previous_memory_in_mb_per_instance bigint,
    process_guid text,
    process_type text,
    app_name text,
    parent_app_guid text,
    parent_app_name text,
    space_guid text,
    space_name text,
    org_guid text,
    task_guid text,
    task_name text,
    buildpack_guid text,
    buildpack_name text
) ON COMMIT DELETE ROWS;

-- name: create_service_staging
CREATE TEMP TABLE IF NOT EXISTS service_usage_events_in (
    id numeric,
    guid text,
    created_at timestamptz,
    raw_message jsonb,
    foundation text,
    api_version text,
    state text,
    org_guid text,
    space_guid text,
    space_name text,
    service_instance_guid text,
    service_instance_name text,
    service_instance_type text,
    service_plan_guid text,
    service_plan_name text,
    service_guid text,
    service_label text,
    service_broker_guid text,
    service_broker_name text
) ON COMMIT DELETE ROWS;

-- name: copy_app
COPY app_usage_events_in (
    id, guid, created_at, raw_message, foundation, api_version, state, previous_state,
    instance_count, previous_instance_count, memory_in_mb_per_instance,
    previous_memory_in_mb_per_instance, process_guid, process_type, app_name,
    parent_app_guid, parent_app_name, space_guid, space_name, org_guid, task_guid,
    task_name, buildpack_guid, buildpack_name
) FROM STDIN

-- name: copy_app_new
COPY app_usage_events (
    id, guid, created_at, raw_message, foundation, api_version, state, previous_state,
    instance_count, previous_instance_count, memory_in_mb_per_instance,
    previous_memory_in_mb_per_instance, process_guid, process_type, app_name,
    parent_app_guid, parent_app_name, space_guid, space_name, org_guid, task_guid,
    task_name, buildpack_guid, buildpack_name
) FROM STDIN

-- name: copy_service
COPY service_usage_events_in (
    id, guid, created_at, raw_message, foundation, api_version, state, org_guid,
    space_guid, space_name, service_instance_guid, service_instance_name,
    service_instance_type, service_plan_guid, service_plan_name, service_guid,
    service_label, service_broker_guid, service_broker_name
) FROM STDIN

-- name: copy_service_new
COPY service_usage_events (
    id, guid, created_at, raw_message, foundation, api_version, state, org_guid,
    space_guid, space_name, service_instance_guid, service_instance_name,
    service_instance_type, service_plan_guid, service_plan_name, service_guid,
    service_label, service_broker_guid, service_broker_name
) FROM STDIN

-- name: savepoint
SAVEPOINT new_rows;

-- name: release_savepoint
RELEASE SAVEPOINT new_rows;

-- name: rollback_to_savepoint
ROLLBACK TO SAVEPOINT new_rows;

-- name: move_app
INSERT INTO app_usage_events (
    id, guid, created_at, raw_message, foundation, api_version, state, previous_state,
    instance_count, previous_instance_count, memory_in_mb_per_instance,
    previous_memory_in_mb_per_instance, process_guid, process_type, app_name,
    parent_app_guid, parent_app_name, space_guid, space_name, org_guid, task_guid,
    task_name, buildpack_guid, buildpack_name
)
SELECT
    id, guid, created_at, raw_message, foundation, api_version, state, previous_state,
    instance_count, previous_instance_count, memory_in_mb_per_instance,
    previous_memory_in_mb_per_instance, process_guid, process_type, app_name,
    parent_app_guid, parent_app_name, space_guid, space_name, org_guid, task_guid,
    task_name, buildpack_guid, buildpack_name
FROM app_usage_events_in
ORDER BY guid
ON CONFLICT (guid) DO NOTHING;

-- name: move_service
INSERT INTO service_usage_events (
    id, guid, created_at, raw_message, foundation, api_version, state, org_guid,
    space_guid, space_name, service_instance_guid, service_instance_name,
    service_instance_type, service_plan_guid, service_plan_name, service_guid,
    service_label, service_broker_guid, service_broker_name
)
SELECT
    id, guid, created_at, raw_message, foundation, api_version, state, org_guid,
    space_guid, space_name, service_instance_guid, service_instance_name,
    service_instance_type, service_plan_guid, service_plan_name, service_guid,
    service_label, service_broker_guid, service_broker_name
FROM service_usage_events_in
ORDER BY guid
ON CONFLICT (guid) DO NOTHING;

-- name: ping
SELECT 1;

-- name: move_app_reseeds
-- A purge-and-reseed row (guid = process guid) whose guid is already stored with another
-- created_at (an earlier purge's row) comes from a later purge: store it under a guid
-- derived from guid and created_at, keeping the API's in api_guid. Runs after move_app, in
-- its own snapshot, so a row that a concurrent consumer committed meanwhile is seen; a
-- redelivery derives the same guid and is skipped.
INSERT INTO app_usage_events (
    id, guid, api_guid, created_at, raw_message, foundation, api_version, state,
    previous_state, instance_count, previous_instance_count, memory_in_mb_per_instance,
    previous_memory_in_mb_per_instance, process_guid, process_type, app_name,
    parent_app_guid, parent_app_name, space_guid, space_name, org_guid, task_guid,
    task_name, buildpack_guid, buildpack_name
)
SELECT
    s.id,
    md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text AS derived,
    s.guid, s.created_at, s.raw_message, s.foundation, s.api_version, s.state,
    s.previous_state, s.instance_count, s.previous_instance_count,
    s.memory_in_mb_per_instance, s.previous_memory_in_mb_per_instance, s.process_guid,
    s.process_type, s.app_name, s.parent_app_guid, s.parent_app_name, s.space_guid,
    s.space_name, s.org_guid, s.task_guid, s.task_name, s.buildpack_guid, s.buildpack_name
FROM app_usage_events_in s
JOIN app_usage_events e ON e.guid = s.guid
WHERE s.guid = s.process_guid AND e.created_at <> s.created_at
ORDER BY derived
ON CONFLICT (guid) DO NOTHING;

-- name: move_service_reseeds
-- As move_app_reseeds, for reseed rows whose guid is the service instance guid.
INSERT INTO service_usage_events (
    id, guid, api_guid, created_at, raw_message, foundation, api_version, state, org_guid,
    space_guid, space_name, service_instance_guid, service_instance_name,
    service_instance_type, service_plan_guid, service_plan_name, service_guid,
    service_label, service_broker_guid, service_broker_name
)
SELECT
    s.id,
    md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text AS derived,
    s.guid, s.created_at, s.raw_message, s.foundation, s.api_version, s.state, s.org_guid,
    s.space_guid, s.space_name, s.service_instance_guid, s.service_instance_name,
    s.service_instance_type, s.service_plan_guid, s.service_plan_name, s.service_guid,
    s.service_label, s.service_broker_guid, s.service_broker_name
FROM service_usage_events_in s
JOIN service_usage_events e ON e.guid = s.guid
WHERE s.guid = s.service_instance_guid AND e.created_at <> s.created_at
ORDER BY derived
ON CONFLICT (guid) DO NOTHING;
