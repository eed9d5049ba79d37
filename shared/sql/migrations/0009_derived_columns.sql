-- The contract's four columns suffice (issue 15): every column beyond id, guid, created_at and
-- raw_message has a default or is derived in the database from raw_message, for v2 entities
-- and v3 resources alike. This is the one place that maps a raw message to columns; the
-- consumer copies id, guid, created_at, raw_message and foundation only.
--
-- A v3 resource carries its own guid; a v2 entity never does (its guid is in the metadata).
-- Stored generated columns, not a trigger: benchmarks/derived_columns.py measured both.
-- The derived columns are dropped and added again (PostgreSQL 15 cannot turn a column into a
-- generated one), which rewrites both tables once; the indexes on them are built again below.

CREATE FUNCTION usage_event_api_version(raw jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN raw ? 'guid' THEN 'v3' ELSE 'v2' END;

ALTER TABLE app_usage_events
    DROP COLUMN api_version,
    DROP COLUMN state,
    DROP COLUMN previous_state,
    DROP COLUMN instance_count,
    DROP COLUMN previous_instance_count,
    DROP COLUMN memory_in_mb_per_instance,
    DROP COLUMN previous_memory_in_mb_per_instance,
    DROP COLUMN process_guid,
    DROP COLUMN process_type,
    DROP COLUMN app_name,
    DROP COLUMN parent_app_guid,
    DROP COLUMN parent_app_name,
    DROP COLUMN space_guid,
    DROP COLUMN space_name,
    DROP COLUMN org_guid,
    DROP COLUMN task_guid,
    DROP COLUMN task_name,
    DROP COLUMN buildpack_guid,
    DROP COLUMN buildpack_name,
    ADD COLUMN api_version text NOT NULL
        GENERATED ALWAYS AS (usage_event_api_version(raw_message)) STORED,
    ADD COLUMN state text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'state' ->> 'current'
             ELSE raw_message ->> 'state' END) STORED,
    ADD COLUMN previous_state text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'state' ->> 'previous'
             ELSE raw_message ->> 'previous_state' END) STORED,
    ADD COLUMN instance_count integer NOT NULL GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'instance_count' ->> 'current'
             ELSE raw_message ->> 'instance_count' END)::integer) STORED,
    ADD COLUMN previous_instance_count integer GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'instance_count' ->> 'previous'
             ELSE raw_message ->> 'previous_instance_count' END)::integer) STORED,
    ADD COLUMN memory_in_mb_per_instance integer NOT NULL GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid'
             THEN raw_message -> 'memory_in_mb_per_instance' ->> 'current'
             ELSE raw_message ->> 'memory_in_mb_per_instance' END)::integer) STORED,
    ADD COLUMN previous_memory_in_mb_per_instance integer GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid'
             THEN raw_message -> 'memory_in_mb_per_instance' ->> 'previous'
             ELSE raw_message ->> 'previous_memory_in_mb_per_instance' END)::integer) STORED,
    -- v2 sends "" for task and staging events, v3 null: both are no process.
    ADD COLUMN process_guid text GENERATED ALWAYS AS (nullif(
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'process' ->> 'guid'
             ELSE raw_message ->> 'app_guid' END, '')) STORED,
    ADD COLUMN process_type text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'process' ->> 'type'
             ELSE raw_message ->> 'process_type' END) STORED,
    -- v2: the process's app name, "" for tasks and staging (then the parent app's name).
    ADD COLUMN app_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'name'
             ELSE coalesce(nullif(raw_message ->> 'app_name', ''),
                           raw_message ->> 'parent_app_name') END) STORED,
    ADD COLUMN parent_app_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'guid'
             ELSE raw_message ->> 'parent_app_guid' END) STORED,
    ADD COLUMN parent_app_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'name'
             ELSE raw_message ->> 'parent_app_name' END) STORED,
    ADD COLUMN space_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'guid'
             ELSE raw_message ->> 'space_guid' END) STORED,
    ADD COLUMN space_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'name'
             ELSE raw_message ->> 'space_name' END) STORED,
    ADD COLUMN org_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'organization' ->> 'guid'
             ELSE raw_message ->> 'org_guid' END) STORED,
    ADD COLUMN task_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'task' ->> 'guid'
             ELSE raw_message ->> 'task_guid' END) STORED,
    ADD COLUMN task_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'task' ->> 'name'
             ELSE raw_message ->> 'task_name' END) STORED,
    ADD COLUMN buildpack_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'buildpack' ->> 'guid'
             ELSE raw_message ->> 'buildpack_guid' END) STORED,
    ADD COLUMN buildpack_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'buildpack' ->> 'name'
             ELSE raw_message ->> 'buildpack_name' END) STORED;

ALTER TABLE service_usage_events
    DROP COLUMN api_version,
    DROP COLUMN state,
    DROP COLUMN org_guid,
    DROP COLUMN space_guid,
    DROP COLUMN space_name,
    DROP COLUMN service_instance_guid,
    DROP COLUMN service_instance_name,
    DROP COLUMN service_instance_type,
    DROP COLUMN service_plan_guid,
    DROP COLUMN service_plan_name,
    DROP COLUMN service_guid,
    DROP COLUMN service_label,
    DROP COLUMN service_broker_guid,
    DROP COLUMN service_broker_name,
    ADD COLUMN api_version text NOT NULL
        GENERATED ALWAYS AS (usage_event_api_version(raw_message)) STORED,
    ADD COLUMN state text NOT NULL GENERATED ALWAYS AS (raw_message ->> 'state') STORED,
    ADD COLUMN org_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'organization' ->> 'guid'
             ELSE raw_message ->> 'org_guid' END) STORED,
    ADD COLUMN space_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'guid'
             ELSE raw_message ->> 'space_guid' END) STORED,
    ADD COLUMN space_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'name'
             ELSE raw_message ->> 'space_name' END) STORED,
    ADD COLUMN service_instance_guid text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'guid'
             ELSE raw_message ->> 'service_instance_guid' END) STORED,
    ADD COLUMN service_instance_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'name'
             ELSE raw_message ->> 'service_instance_name' END) STORED,
    ADD COLUMN service_instance_type text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'type'
             ELSE raw_message ->> 'service_instance_type' END) STORED,
    ADD COLUMN service_plan_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_plan' ->> 'guid'
             ELSE raw_message ->> 'service_plan_guid' END) STORED,
    ADD COLUMN service_plan_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_plan' ->> 'name'
             ELSE raw_message ->> 'service_plan_name' END) STORED,
    ADD COLUMN service_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_offering' ->> 'guid'
             ELSE raw_message ->> 'service_guid' END) STORED,
    ADD COLUMN service_label text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_offering' ->> 'name'
             ELSE raw_message ->> 'service_label' END) STORED,
    ADD COLUMN service_broker_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_broker' ->> 'guid'
             ELSE raw_message ->> 'service_broker_guid' END) STORED,
    ADD COLUMN service_broker_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_broker' ->> 'name'
             ELSE raw_message ->> 'service_broker_name' END) STORED;

-- The indexes that named a dropped column went with it.
CREATE INDEX app_usage_events_process_idx ON app_usage_events (process_guid, foundation, id)
    WHERE process_guid IS NOT NULL;
CREATE INDEX app_usage_events_org_task_idx
    ON app_usage_events (org_guid, task_guid, foundation, id)
    INCLUDE (created_at, state, instance_count, memory_in_mb_per_instance, task_name,
             space_guid, space_name, parent_app_guid)
    WHERE task_guid IS NOT NULL;
CREATE INDEX app_usage_events_org_staging_idx
    ON app_usage_events (org_guid, parent_app_guid, foundation, id)
    INCLUDE (created_at, state, instance_count, memory_in_mb_per_instance, parent_app_name,
             space_guid, space_name)
    WHERE state IN ('STAGING_STARTED', 'STAGING_STOPPED');
CREATE INDEX service_usage_events_org_instance_idx
    ON service_usage_events (org_guid, service_instance_guid, foundation, id)
    INCLUDE (created_at, state, service_instance_type, service_plan_guid, service_instance_name,
             space_guid, space_name, service_plan_name, service_label);
