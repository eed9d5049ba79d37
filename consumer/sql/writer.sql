-- Queries of the consumer's writer. It copies what the contract's four columns and the
-- foundation hold; PostgreSQL derives every other column from raw_message (migration 0009).
-- A batch none of whose guids or sequence numbers is stored yet (the common case) is copied
-- straight into the event table, in a savepoint. When that is refused (a guid is stored
-- already, by an earlier delivery or another consumer), the batch is copied into a
-- per-session staging table instead, then moved into the event table in guid order (so
-- concurrent consumers lock unique keys in the same order), skipping what is stored; then
-- the staging rows that could not be stored for a conflict are looked up.

-- name: create_app_staging
CREATE TEMP TABLE IF NOT EXISTS app_usage_events_in
    (LIKE app_usage_events INCLUDING DEFAULTS INCLUDING GENERATED) ON COMMIT DELETE ROWS;

-- name: create_service_staging
CREATE TEMP TABLE IF NOT EXISTS service_usage_events_in
    (LIKE service_usage_events INCLUDING DEFAULTS INCLUDING GENERATED) ON COMMIT DELETE ROWS;

-- name: copy_app
COPY app_usage_events_in (id, guid, created_at, raw_message, foundation) FROM STDIN

-- name: copy_app_new
COPY app_usage_events (id, guid, created_at, raw_message, foundation) FROM STDIN

-- name: copy_service
COPY service_usage_events_in (id, guid, created_at, raw_message, foundation) FROM STDIN

-- name: copy_service_new
COPY service_usage_events (id, guid, created_at, raw_message, foundation) FROM STDIN

-- name: savepoint
SAVEPOINT new_rows;

-- name: release_savepoint
RELEASE SAVEPOINT new_rows;

-- name: rollback_to_savepoint
ROLLBACK TO SAVEPOINT new_rows;

-- name: move_app
-- No conflict target: a guid stored already (a repeat) and a sequence number held by another
-- event (a conflict, found by app_conflicts) are both skipped.
INSERT INTO app_usage_events (id, guid, created_at, raw_message, foundation)
SELECT id, guid, created_at, raw_message, foundation
FROM app_usage_events_in
ORDER BY guid
ON CONFLICT DO NOTHING;

-- name: move_service
INSERT INTO service_usage_events (id, guid, created_at, raw_message, foundation)
SELECT id, guid, created_at, raw_message, foundation
FROM service_usage_events_in
ORDER BY guid
ON CONFLICT DO NOTHING;

-- name: move_app_reseeds
-- A purge-and-reseed row (guid = process guid) whose guid is already stored with another
-- created_at (an earlier purge's row) comes from a later purge: store it under a guid
-- derived from guid and created_at, keeping the API's in api_guid. Runs after move_app, in
-- its own snapshot, so a row that a concurrent consumer committed meanwhile is seen; a
-- redelivery derives the same guid and is skipped.
INSERT INTO app_usage_events (id, guid, api_guid, created_at, raw_message, foundation)
SELECT
    s.id,
    md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text AS derived,
    s.guid, s.created_at, s.raw_message, s.foundation
FROM app_usage_events_in s
JOIN app_usage_events e ON e.guid = s.guid
WHERE s.guid = s.process_guid AND e.created_at <> s.created_at
ORDER BY derived
ON CONFLICT DO NOTHING;

-- name: move_service_reseeds
-- As move_app_reseeds, for reseed rows whose guid is the service instance guid.
INSERT INTO service_usage_events (id, guid, api_guid, created_at, raw_message, foundation)
SELECT
    s.id,
    md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text AS derived,
    s.guid, s.created_at, s.raw_message, s.foundation
FROM service_usage_events_in s
JOIN service_usage_events e ON e.guid = s.guid
WHERE s.guid = s.service_instance_guid AND e.created_at <> s.created_at
ORDER BY derived
ON CONFLICT DO NOTHING;

-- name: app_conflicts
-- Staging rows that were not stored for a conflict, with the event that holds their place:
-- 'content', the guid is stored with other facts (time, state, counts, memory, process,
-- task, app, org, space; names may differ between v2 and v3 of one event); 'sequence', the
-- guid is not stored because the row's (foundation, id) is held by another guid. A reseed
-- row (stored under a derived guid by move_app_reseeds) is no conflict.
SELECT s.guid, s.id, s.foundation, e.guid, e.id, 'content'
FROM app_usage_events_in s
JOIN app_usage_events e ON e.guid = s.guid
WHERE NOT (s.guid = s.process_guid AND e.created_at <> s.created_at)
  AND (e.created_at, e.state, e.previous_state, e.instance_count, e.previous_instance_count,
       e.memory_in_mb_per_instance, e.previous_memory_in_mb_per_instance, e.process_guid,
       e.task_guid, e.parent_app_guid, e.org_guid, e.space_guid, e.foundation)
      IS DISTINCT FROM
      (s.created_at, s.state, s.previous_state, s.instance_count, s.previous_instance_count,
       s.memory_in_mb_per_instance, s.previous_memory_in_mb_per_instance, s.process_guid,
       s.task_guid, s.parent_app_guid, s.org_guid, s.space_guid, s.foundation)
UNION ALL
SELECT s.guid, s.id, s.foundation, e.guid, e.id, 'sequence'
FROM app_usage_events_in s
JOIN app_usage_events e ON e.foundation = s.foundation AND e.id = s.id
WHERE e.guid <> s.guid
  AND NOT EXISTS (SELECT FROM app_usage_events x WHERE x.guid = s.guid)
ORDER BY 2;

-- name: service_conflicts
-- As app_conflicts, for service events.
SELECT s.guid, s.id, s.foundation, e.guid, e.id, 'content'
FROM service_usage_events_in s
JOIN service_usage_events e ON e.guid = s.guid
WHERE NOT (s.guid = s.service_instance_guid AND e.created_at <> s.created_at)
  AND (e.created_at, e.state, e.org_guid, e.space_guid, e.service_instance_guid,
       e.service_instance_type, e.service_plan_guid, e.foundation)
      IS DISTINCT FROM
      (s.created_at, s.state, s.org_guid, s.space_guid, s.service_instance_guid,
       s.service_instance_type, s.service_plan_guid, s.foundation)
UNION ALL
SELECT s.guid, s.id, s.foundation, e.guid, e.id, 'sequence'
FROM service_usage_events_in s
JOIN service_usage_events e ON e.foundation = s.foundation AND e.id = s.id
WHERE e.guid <> s.guid
  AND NOT EXISTS (SELECT FROM service_usage_events x WHERE x.guid = s.guid)
ORDER BY 2;
