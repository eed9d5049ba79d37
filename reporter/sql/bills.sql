-- The segments a bill prices (CONTRACT "What a bill prices"): the spans the database keeps
-- with the events (process spans, migration 0006; task, staging and service spans, 0014),
-- the same the usage report sums, each clipped to [from, upto) and to the history's
-- beginning, upto = least(to, now). One row per segment: resource_type, foundation,
-- resource_guid, service_plan_guid, start and end in integer microseconds since the epoch
-- (exact: extract returns numeric), instances and memory per instance. The filters are the
-- usage queries' (NULL for "all"); the bill then keeps the resources whose naming event
-- passes them.

-- name: process_segments
SELECT 'app', s.foundation, s.process_guid, NULL::text,
       (extract(epoch FROM greatest(s.start_at, %(from)s, h.began_at)) * 1000000)::bigint,
       (extract(epoch FROM least(s.end_at, %(upto)s)) * 1000000)::bigint,
       s.instances, s.memory_in_mb
FROM process_spans s
JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
WHERE s.end_at > %(from)s AND s.start_at < %(upto)s
  AND least(s.end_at, %(upto)s) > greatest(s.start_at, %(from)s, h.began_at)
  AND (%(org_guids)s::text[] IS NULL OR s.org_key = ANY(%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR s.space_guid = ANY(%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]));

-- name: task_segments
SELECT 'task', s.foundation, s.task_guid, NULL::text,
       (extract(epoch FROM greatest(s.start_at, %(from)s, h.began_at)) * 1000000)::bigint,
       (extract(epoch FROM least(s.end_at, %(upto)s)) * 1000000)::bigint,
       s.instances, s.memory_in_mb
FROM task_spans s
JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
WHERE s.end_at > %(from)s AND s.start_at < %(upto)s
  AND least(s.end_at, %(upto)s) > greatest(s.start_at, %(from)s, h.began_at)
  AND (%(org_guids)s::text[] IS NULL OR s.org_key = ANY(%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR s.space_guid = ANY(%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]));

-- name: staging_segments
SELECT 'staging', s.foundation, s.parent_app_guid, NULL::text,
       (extract(epoch FROM greatest(s.start_at, %(from)s, h.began_at)) * 1000000)::bigint,
       (extract(epoch FROM least(s.end_at, %(upto)s)) * 1000000)::bigint,
       s.instances, s.memory_in_mb
FROM staging_spans s
JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
WHERE s.end_at > %(from)s AND s.start_at < %(upto)s
  AND least(s.end_at, %(upto)s) > greatest(s.start_at, %(from)s, h.began_at)
  AND (%(org_guids)s::text[] IS NULL OR s.org_key = ANY(%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR s.space_guid = ANY(%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]));

-- name: service_segments
-- A service's instances and memory are its plan version's, not the segment's: 1 and 0 here.
SELECT 'service', s.foundation, s.service_instance_guid, s.service_plan_guid,
       (extract(epoch FROM greatest(s.start_at, %(from)s, h.began_at)) * 1000000)::bigint,
       (extract(epoch FROM least(s.end_at, %(upto)s)) * 1000000)::bigint,
       1, 0
FROM service_spans s
JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'service'
WHERE s.end_at > %(from)s AND s.start_at < %(upto)s
  AND least(s.end_at, %(upto)s) > greatest(s.start_at, %(from)s, h.began_at)
  AND (%(org_guids)s::text[] IS NULL OR s.org_key = ANY(%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR s.space_guid = ANY(%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]));
