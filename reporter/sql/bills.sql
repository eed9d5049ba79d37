-- The segments a bill prices (CONTRACT "What a bill prices"): the spans the database keeps
-- with the events (view usage_spans, migration 0014), the same the usage report sums, each
-- clipped to [from, upto) and to the history's beginning, upto = least(to, now). One row per
-- segment: resource_type, foundation, resource_guid, service_plan_guid, start and end in
-- integer microseconds since the epoch (exact: extract returns numeric), instances and memory
-- per instance. The filters are the usage queries' (NULL for "all"); the bill then keeps the
-- resources whose naming event passes them.

-- name: segments
SELECT s.resource_type, s.foundation, s.resource_guid, s.service_plan_guid,
       (extract(epoch FROM greatest(s.start_at, %(from)s, h.began_at)) * 1000000)::bigint,
       (extract(epoch FROM least(s.end_at, %(upto)s)) * 1000000)::bigint,
       s.instances, s.memory_in_mb
FROM usage_spans s
JOIN usage_history_beginnings() h
  ON h.foundation = s.foundation
 AND h.kind = CASE s.resource_type WHEN 'service' THEN 'service' ELSE 'app' END
WHERE s.end_at > %(from)s AND s.start_at < %(upto)s
  AND least(s.end_at, %(upto)s) > greatest(s.start_at, %(from)s, h.began_at)
  AND (%(org_guids)s::text[] IS NULL OR s.org_key = ANY(%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR s.space_guid = ANY(%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]));
