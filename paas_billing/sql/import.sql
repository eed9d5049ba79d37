-- Queries of `paas-billing import`: the source's (the original collector's tables, read in id
-- order) and this database's (the import record, the batch's staging, the event tables).

-- ---------------------------------------------------------------------------------------
-- The source. Its created_at may be a timestamp without time zone (the original collector's,
-- in UTC) or a timestamptz, its guid char(36) or uuid: read in UTC, both arrive alike.

-- name: source_session
SET TIME ZONE 'UTC';
SET DateStyle = 'ISO, YMD';

-- name: source_table_exists
SELECT to_regclass(%(table)s) IS NOT NULL;

-- name: source_bounds_app
SELECT min(id), max(id), count(*) FROM app_usage_events;

-- name: source_bounds_service
SELECT min(id), max(id), count(*) FROM service_usage_events;

-- name: source_first_guid_app
SELECT guid::text FROM app_usage_events WHERE guid IS NOT NULL ORDER BY id LIMIT 1;

-- name: source_first_guid_service
SELECT guid::text FROM service_usage_events WHERE guid IS NOT NULL ORDER BY id LIMIT 1;

-- name: source_copy_app
-- The next rows after `after` in id order: `limit` of them, and every row sharing the last
-- one's id (the original table's id has an index but no unique constraint).
COPY (
    SELECT id, guid::text, created_at::timestamptz, raw_message::text
    FROM app_usage_events
    WHERE id > %(after)s
      AND id <= (SELECT max(id) FROM (
                    SELECT id FROM app_usage_events WHERE id > %(after)s
                    ORDER BY id LIMIT %(limit)s) batch)
    ORDER BY id
) TO STDOUT

-- name: source_copy_service
COPY (
    SELECT id, guid::text, created_at::timestamptz, raw_message::text
    FROM service_usage_events
    WHERE id > %(after)s
      AND id <= (SELECT max(id) FROM (
                    SELECT id FROM service_usage_events WHERE id > %(after)s
                    ORDER BY id LIMIT %(limit)s) batch)
    ORDER BY id
) TO STDOUT

-- ---------------------------------------------------------------------------------------
-- This database: locks and the import record.

-- name: import_lock
-- Imports of one foundation's table never run at once (held by the session).
SELECT pg_try_advisory_lock(
    hashtextextended('paas-billing-import/' || %(foundation)s || '/' || %(kind)s, 0));

-- name: import_unlock
SELECT pg_advisory_unlock(
    hashtextextended('paas-billing-import/' || %(foundation)s || '/' || %(kind)s, 0));

-- name: producer_lock
-- The producer's own per-foundation lock (producer/sql/cursor.sql, try_lock): taken, no
-- producer of the foundation runs, and none can start while the import holds it.
SELECT pg_try_advisory_lock(hashtextextended('paas-billing-producer/' || %(foundation)s, 0));

-- name: producer_unlock
SELECT pg_advisory_unlock(hashtextextended('paas-billing-producer/' || %(foundation)s, 0));

-- name: cursor_exists
SELECT EXISTS (SELECT FROM collector_cursors
               WHERE foundation = %(foundation)s AND kind = %(kind)s);

-- name: stored_app
SELECT min(id), max(id), min(created_at), max(created_at)
FROM app_usage_events WHERE foundation = %(foundation)s;

-- name: stored_service
SELECT min(id), max(id), min(created_at), max(created_at)
FROM service_usage_events WHERE foundation = %(foundation)s;

-- name: load_import
SELECT import_id, foundation, kind, source_first_guid, source_name, source_min_id,
       source_max_id, stored_lowest_id, stored_highest_id, stored_oldest_at, stored_newest_at,
       producer, before_offset, before_max_id, after_offset, done_source_id, imported,
       already_stored, not_imported, lowest_id, highest_id, started_at, finished_at
FROM event_imports
WHERE foundation = %(foundation)s AND kind = %(kind)s
  AND source_first_guid = %(source_first_guid)s;

-- name: create_import
INSERT INTO event_imports (
    foundation, kind, source_first_guid, source_name, source_min_id, source_max_id,
    stored_lowest_id, stored_highest_id, stored_oldest_at, stored_newest_at, producer,
    before_offset, before_max_id, after_offset)
VALUES (
    %(foundation)s, %(kind)s, %(source_first_guid)s, %(source_name)s, %(source_min_id)s,
    %(source_max_id)s, %(stored_lowest_id)s, %(stored_highest_id)s, %(stored_oldest_at)s,
    %(stored_newest_at)s, %(producer)s, %(before_offset)s, %(before_max_id)s, %(after_offset)s);

-- name: finish_import
UPDATE event_imports SET finished_at = now(), updated_at = now()
WHERE import_id = %(import_id)s;

-- name: left_out_summary
-- Per reason: how many source rows, the first guids, and the first row's particulars.
SELECT reason, count(*),
       (array_agg(coalesce(guid, 'source id ' || source_id) ORDER BY source_id))[1:%(first)s],
       (array_agg(detail ORDER BY source_id))[1]
FROM event_import_left_out
WHERE import_id = %(import_id)s
GROUP BY reason
ORDER BY min(source_id);

-- name: left_out_between
-- What a batch (source ids after `after`, up to `done`) left out, per reason.
SELECT reason, count(*),
       (array_agg(coalesce(guid, 'source id ' || source_id) ORDER BY source_id))[1:%(first)s]
FROM event_import_left_out
WHERE import_id = %(import_id)s AND source_id > %(after)s AND source_id <= %(done)s
GROUP BY reason;

-- name: history_beginning
SELECT began_at FROM usage_history_beginnings()
WHERE foundation = %(foundation)s AND kind = %(kind)s;

-- ---------------------------------------------------------------------------------------
-- This database: one batch, in one transaction. The source rows are copied into
-- import_rows and given their place; the placeable ones are staged in a copy of the event
-- table (so PostgreSQL derives their columns, and refuses a row it cannot store, before the
-- event table is touched); staged rows whose guid is stored are settled; the rest go into
-- the event table in guid order (as the consumers write, so the two lock unique keys in the
-- same order); then what was left out is recorded with the reason, and the counts.

-- name: create_rows
CREATE TEMP TABLE IF NOT EXISTS import_rows (
    n bigint GENERATED ALWAYS AS IDENTITY,
    source_id bigint NOT NULL,
    guid text,
    created_at timestamptz,
    raw_message text,
    place text,
    id bigint
) ON COMMIT DELETE ROWS;

-- name: create_app_staging
CREATE TEMP TABLE IF NOT EXISTS app_usage_events_import (
    LIKE app_usage_events INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS,
    source_id bigint NOT NULL,
    place text NOT NULL,
    outcome text,
    held_guid text,
    held_id bigint,
    held_foundation text
) ON COMMIT DELETE ROWS;

-- name: create_service_staging
CREATE TEMP TABLE IF NOT EXISTS service_usage_events_import (
    LIKE service_usage_events INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS,
    source_id bigint NOT NULL,
    place text NOT NULL,
    outcome text,
    held_guid text,
    held_id bigint,
    held_foundation text
) ON COMMIT DELETE ROWS;

-- name: copy_rows
COPY import_rows (source_id, guid, created_at, raw_message) FROM STDIN

-- name: place_rows
-- Where each row goes: 'before' or 'after' the stored history (with its id), or the reason
-- it cannot go anywhere. `above` says whether ids above the live ones may be used now (no
-- producer numbers the foundation's events, and the import holds the producer's lock).
UPDATE import_rows r
SET place = p.place,
    id = CASE p.place WHEN 'before' THEN r.source_id + p.before_offset
                      WHEN 'after' THEN r.source_id + p.after_offset END
FROM (
    SELECT t.n, i.before_offset, i.after_offset, CASE
        WHEN t.guid IS NULL THEN 'missing_guid'
        WHEN t.created_at IS NULL THEN 'missing_created_at'
        WHEN t.raw_message IS NULL THEN 'missing_raw_message'
        WHEN i.stored_oldest_at IS NULL OR t.created_at < i.stored_oldest_at THEN
            CASE WHEN i.before_max_id IS NULL THEN
                      CASE WHEN %(above)s THEN 'before' ELSE 'producer_started' END
                 WHEN t.source_id + i.before_offset <= i.before_max_id THEN 'before'
                 ELSE 'beyond_block' END
        WHEN t.created_at > i.stored_newest_at THEN
            CASE WHEN i.after_offset IS NULL THEN 'after_history'
                 WHEN %(above)s THEN 'after'
                 ELSE 'producer_started' END
        ELSE 'inside_history'
    END AS place
    FROM import_rows t
    JOIN event_imports i ON i.import_id = %(import_id)s
) p
WHERE p.n = r.n;

-- name: rows_summary
-- The batch's size, last source id, and whether a row wants ids above the live ones that
-- `above` did not allow.
SELECT count(*), max(source_id), bool_or(place = 'producer_started'), min(n), max(n)
FROM import_rows;

-- name: stageable_rows
SELECT n FROM import_rows
WHERE place NOT IN ('missing_guid', 'missing_created_at', 'missing_raw_message')
ORDER BY n;

-- name: fast_check_app
-- The common batch: every row has a place and none of their guids is stored. It is written
-- straight into the event table (fast_app), without staging; when that is refused or writes
-- fewer rows (a consumer stored a guid meanwhile), it is rolled back and staged after all.
SELECT bool_and(r.place IN ('before', 'after'))
       AND NOT EXISTS (SELECT FROM import_rows x JOIN app_usage_events e ON e.guid = x.guid)
FROM import_rows r;

-- name: fast_check_service
SELECT bool_and(r.place IN ('before', 'after'))
       AND NOT EXISTS (SELECT FROM import_rows x JOIN service_usage_events e ON e.guid = x.guid)
FROM import_rows r;

-- name: fast_app
WITH written AS (
    INSERT INTO app_usage_events (id, guid, created_at, raw_message, foundation)
    SELECT id, guid, created_at, raw_message::jsonb, %(foundation)s
    FROM import_rows
    ORDER BY guid
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT count(*), min(id), max(id) FROM written;

-- name: fast_service
WITH written AS (
    INSERT INTO service_usage_events (id, guid, created_at, raw_message, foundation)
    SELECT id, guid, created_at, raw_message::jsonb, %(foundation)s
    FROM import_rows
    ORDER BY guid
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT count(*), min(id), max(id) FROM written;

-- name: stage_app
-- Rows left out for their place are staged too: a row PostgreSQL refuses is reported so.
INSERT INTO app_usage_events_import (id, guid, created_at, raw_message, foundation, source_id, place)
SELECT coalesce(id, 0), guid, created_at, raw_message::jsonb, %(foundation)s, source_id, place
FROM import_rows
WHERE n BETWEEN %(first)s AND %(last)s
  AND place NOT IN ('missing_guid', 'missing_created_at', 'missing_raw_message');

-- name: stage_service
INSERT INTO service_usage_events_import (id, guid, created_at, raw_message, foundation, source_id, place)
SELECT coalesce(id, 0), guid, created_at, raw_message::jsonb, %(foundation)s, source_id, place
FROM import_rows
WHERE n BETWEEN %(first)s AND %(last)s
  AND place NOT IN ('missing_guid', 'missing_created_at', 'missing_raw_message');

-- name: reseeds_app
-- A purge-and-reseed row (guid = process guid) whose guid is stored with another created_at
-- is another purge's row: it goes under the guid the consumer derives for it
-- (consumer/sql/writer.sql, move_app_reseeds), keeping the API's in api_guid.
UPDATE app_usage_events_import s
SET api_guid = s.guid,
    guid = md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text
FROM app_usage_events e
WHERE e.guid = s.guid AND s.guid = s.process_guid AND e.created_at <> s.created_at
  AND s.api_guid IS NULL;

-- name: reseeds_service
UPDATE service_usage_events_import s
SET api_guid = s.guid,
    guid = md5(s.guid || '@' || to_char(s.created_at AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::uuid::text
FROM service_usage_events e
WHERE e.guid = s.guid AND s.guid = s.service_instance_guid AND e.created_at <> s.created_at
  AND s.api_guid IS NULL;

-- name: settle_app
-- Staged rows whose guid is stored (not by this import at their place): 'stored' when the
-- stored event has the same facts (the consumer's comparison, consumer/sql/writer.sql
-- app_conflicts: names may differ between v2 and v3 of one event), else 'conflict'.
UPDATE app_usage_events_import s
SET outcome = CASE
        WHEN (e.created_at, e.state, e.previous_state, e.instance_count,
              e.previous_instance_count, e.memory_in_mb_per_instance,
              e.previous_memory_in_mb_per_instance, e.process_guid, e.task_guid,
              e.parent_app_guid, e.org_guid, e.space_guid, e.foundation)
             IS NOT DISTINCT FROM
             (s.created_at, s.state, s.previous_state, s.instance_count,
              s.previous_instance_count, s.memory_in_mb_per_instance,
              s.previous_memory_in_mb_per_instance, s.process_guid, s.task_guid,
              s.parent_app_guid, s.org_guid, s.space_guid, s.foundation)
        THEN 'stored' ELSE 'conflict' END,
    held_guid = e.guid, held_id = e.id, held_foundation = e.foundation
FROM app_usage_events e
WHERE e.guid = s.guid AND s.outcome IS NULL
  AND (e.foundation, e.id) IS DISTINCT FROM (s.foundation, s.id);

-- name: settle_service
UPDATE service_usage_events_import s
SET outcome = CASE
        WHEN (e.created_at, e.state, e.org_guid, e.space_guid, e.service_instance_guid,
              e.service_instance_type, e.service_plan_guid, e.foundation)
             IS NOT DISTINCT FROM
             (s.created_at, s.state, s.org_guid, s.space_guid, s.service_instance_guid,
              s.service_instance_type, s.service_plan_guid, s.foundation)
        THEN 'stored' ELSE 'conflict' END,
    held_guid = e.guid, held_id = e.id, held_foundation = e.foundation
FROM service_usage_events e
WHERE e.guid = s.guid AND s.outcome IS NULL
  AND (e.foundation, e.id) IS DISTINCT FROM (s.foundation, s.id);

-- name: insert_app
-- No conflict target: a guid a consumer stored meanwhile, and an id another event holds, are
-- both skipped here and told apart by settle_app (again) and taken_app. Returns how many rows
-- were written and their lowest and highest ids.
WITH written AS (
    INSERT INTO app_usage_events (id, guid, api_guid, created_at, raw_message, foundation)
    SELECT id, guid, api_guid, created_at, raw_message, foundation
    FROM app_usage_events_import
    WHERE outcome IS NULL AND place IN ('before', 'after')
    ORDER BY guid
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT count(*), min(id), max(id) FROM written;

-- name: insert_service
WITH written AS (
    INSERT INTO service_usage_events (id, guid, api_guid, created_at, raw_message, foundation)
    SELECT id, guid, api_guid, created_at, raw_message, foundation
    FROM service_usage_events_import
    WHERE outcome IS NULL AND place IN ('before', 'after')
    ORDER BY guid
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT count(*), min(id), max(id) FROM written;

-- name: taken_app
-- Placed rows not written (no event holds their guid at their id): their id is held by
-- another event.
UPDATE app_usage_events_import s
SET outcome = 'id_taken',
    held_guid = (SELECT e.guid FROM app_usage_events e
                 WHERE e.foundation = s.foundation AND e.id = s.id)
WHERE s.outcome IS NULL AND s.place IN ('before', 'after')
  AND NOT EXISTS (SELECT FROM app_usage_events e
                  WHERE e.guid = s.guid AND e.foundation = s.foundation AND e.id = s.id);

-- name: taken_service
UPDATE service_usage_events_import s
SET outcome = 'id_taken',
    held_guid = (SELECT e.guid FROM service_usage_events e
                 WHERE e.foundation = s.foundation AND e.id = s.id)
WHERE s.outcome IS NULL AND s.place IN ('before', 'after')
  AND NOT EXISTS (SELECT FROM service_usage_events e
                  WHERE e.guid = s.guid AND e.foundation = s.foundation AND e.id = s.id);

-- name: refused
INSERT INTO event_import_left_out (import_id, source_id, guid, created_at, reason, detail)
SELECT %(import_id)s, source_id, guid, created_at, 'refused', %(detail)s
FROM import_rows WHERE n = %(n)s;

-- name: left_out_app
-- What the batch left out: rows missing a field, rows with no place, conflicts, taken ids.
INSERT INTO event_import_left_out (import_id, source_id, guid, created_at, reason, detail)
SELECT %(import_id)s, source_id, guid, created_at, place, NULL
FROM import_rows
WHERE place IN ('missing_guid', 'missing_created_at', 'missing_raw_message')
UNION ALL
SELECT %(import_id)s, source_id, coalesce(api_guid, guid), created_at,
       coalesce(outcome, place),
       CASE outcome
           WHEN 'conflict' THEN 'stored as id ' || held_id || ' of foundation '
                                || held_foundation || ' with other facts'
           WHEN 'id_taken' THEN 'id ' || id || ' of foundation ' || foundation
                                || ' is held by event ' || coalesce(held_guid, '(none now)')
       END
FROM app_usage_events_import
WHERE outcome IN ('conflict', 'id_taken')
   OR (outcome IS NULL AND place NOT IN ('before', 'after'));

-- name: left_out_service
INSERT INTO event_import_left_out (import_id, source_id, guid, created_at, reason, detail)
SELECT %(import_id)s, source_id, guid, created_at, place, NULL
FROM import_rows
WHERE place IN ('missing_guid', 'missing_created_at', 'missing_raw_message')
UNION ALL
SELECT %(import_id)s, source_id, coalesce(api_guid, guid), created_at,
       coalesce(outcome, place),
       CASE outcome
           WHEN 'conflict' THEN 'stored as id ' || held_id || ' of foundation '
                                || held_foundation || ' with other facts'
           WHEN 'id_taken' THEN 'id ' || id || ' of foundation ' || foundation
                                || ' is held by event ' || coalesce(held_guid, '(none now)')
       END
FROM service_usage_events_import
WHERE outcome IN ('conflict', 'id_taken')
   OR (outcome IS NULL AND place NOT IN ('before', 'after'));

-- name: record_batch_app
-- The batch's counts into the import record, in the batch's transaction: `rows` source rows
-- read up to `done`, `imported` of them written with ids `lowest`..`highest`; what is
-- neither imported nor stored already is not imported.
UPDATE event_imports i
SET done_source_id = %(done)s,
    imported = i.imported + %(imported)s,
    already_stored = i.already_stored + c.stored,
    not_imported = i.not_imported + %(rows)s - %(imported)s - c.stored,
    lowest_id = least(i.lowest_id, %(lowest)s),
    highest_id = greatest(i.highest_id, %(highest)s),
    updated_at = now()
FROM (SELECT count(*) AS stored FROM app_usage_events_import WHERE outcome = 'stored') c
WHERE i.import_id = %(import_id)s
RETURNING c.stored;

-- name: record_batch_service
UPDATE event_imports i
SET done_source_id = %(done)s,
    imported = i.imported + %(imported)s,
    already_stored = i.already_stored + c.stored,
    not_imported = i.not_imported + %(rows)s - %(imported)s - c.stored,
    lowest_id = least(i.lowest_id, %(lowest)s),
    highest_id = greatest(i.highest_id, %(highest)s),
    updated_at = now()
FROM (SELECT count(*) AS stored FROM service_usage_events_import WHERE outcome = 'stored') c
WHERE i.import_id = %(import_id)s
RETURNING c.stored;

-- name: savepoint
SAVEPOINT import_part;

-- name: release_savepoint
RELEASE SAVEPOINT import_part;

-- name: rollback_to_savepoint
ROLLBACK TO SAVEPOINT import_part;
