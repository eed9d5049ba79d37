-- Report arithmetic over the normalized columns (CONTRACT "Report arithmetic").
-- Every query returns one row per resource with usage in [from, upto), upto = least(to, now):
-- float8 sums of instance-seconds and MB-seconds (about 1e-15 relative error, far inside the
-- contract's 1e-9), and the names of the resource's latest event before `to` (or, when it
-- has none, of its earliest event).
-- Each state lasts until the next state-changing event of the same resource in API order
-- (foundation, id); '-infinity' marks usage carried in from before the history began, which
-- counts from the history's beginning (usage_history_beginnings(), migration 0011) at the
-- earliest: nothing is reported before the oldest event held for the foundation and table.
-- Filters are NULL for "all". Org, space and foundation never change for a CF resource, so
-- they filter the spans: a one-org report reads that org's spans.
-- Every query sums the spans the database maintains with the events (process spans,
-- migration 0006; task, staging and service spans, migration 0014) that overlap the window,
-- so its cost follows the window, not the history; each resource is then named through an
-- index probe or two.

-- name: process_usage
-- The sum of the process spans (migration 0006) that overlap the window; names from two
-- index probes per process (the second only when the process has no event before `to`).
WITH usage AS (
    SELECT process_guid, foundation,
           sum(instances * secs) AS instance_seconds,
           sum(instances::float8 * memory_in_mb * secs) AS mb_seconds
    FROM (
        SELECT org_key, process_guid, s.foundation, instances, memory_in_mb,
               date_part('epoch', least(end_at, %(upto)s)
                                  - greatest(start_at, %(from)s, h.began_at)) AS secs
        FROM process_spans s
        JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
        WHERE least(end_at, %(upto)s) > greatest(start_at, %(from)s, h.began_at)
          AND (%(org_guids)s::text[] IS NULL OR org_key = ANY(%(org_guids)s::text[]))
          AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
          AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]))
          -- One part of the processes, when the report runs on several connections.
          AND (%(guid_from)s::text IS NULL OR process_guid >= %(guid_from)s::text)
          AND (%(guid_below)s::text IS NULL OR process_guid < %(guid_below)s::text)
    ) spans
    GROUP BY org_key, process_guid, foundation
),
named AS (
SELECT u.foundation, u.process_guid AS resource_guid,
       CASE WHEN late.found THEN late.app_name ELSE early.app_name END AS resource_name,
       CASE WHEN late.found THEN late.org_guid ELSE early.org_guid END AS org_guid,
       CASE WHEN late.found THEN late.space_guid ELSE early.space_guid END AS space_guid,
       CASE WHEN late.found THEN late.space_name ELSE early.space_name END AS space_name,
       CASE WHEN late.found THEN late.parent_app_guid ELSE early.parent_app_guid END
           AS parent_app_guid,
       CASE WHEN late.found THEN late.process_type ELSE early.process_type END AS process_type,
       u.instance_seconds, u.mb_seconds
FROM usage u
LEFT JOIN LATERAL (
    SELECT true AS found, e.app_name, e.org_guid, e.space_guid, e.space_name,
           e.parent_app_guid, e.process_type
    FROM app_usage_events e
    WHERE e.process_guid = u.process_guid AND e.foundation = u.foundation
      AND e.created_at < %(to)s
    ORDER BY e.id DESC LIMIT 1
) late ON true
LEFT JOIN LATERAL (
    SELECT e.app_name, e.org_guid, e.space_guid, e.space_name, e.parent_app_guid, e.process_type
    FROM app_usage_events e
    WHERE late.found IS NULL
      AND e.process_guid = u.process_guid AND e.foundation = u.foundation
    ORDER BY e.id LIMIT 1
) early ON true
WHERE u.instance_seconds > 0 OR u.mb_seconds > 0
)
-- In the reply's order (as Python compares the keys: by code point; migration 0015).
SELECT * FROM named
ORDER BY reply_order_key(foundation, org_guid, space_guid, resource_guid) COLLATE "C";

-- name: task_usage
-- The sum of the task spans (migration 0014) that overlap the window; names from the task's
-- latest event before `to` (else its earliest), through the task index.
WITH usage AS (
    SELECT org_key, task_guid, foundation,
           sum(instances * secs) AS instance_seconds,
           sum(instances::float8 * memory_in_mb * secs) AS mb_seconds
    FROM (
        SELECT org_key, task_guid, s.foundation, instances, memory_in_mb,
               date_part('epoch', least(end_at, %(upto)s)
                                  - greatest(start_at, %(from)s, h.began_at)) AS secs
        FROM task_spans s
        JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
        WHERE end_at > %(from)s AND start_at < %(upto)s
          AND least(end_at, %(upto)s) > greatest(start_at, %(from)s, h.began_at)
          AND (%(org_guids)s::text[] IS NULL OR org_key = ANY(%(org_guids)s::text[]))
          AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
          AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]))
    ) spans
    GROUP BY org_key, task_guid, foundation
),
named AS (
SELECT u.foundation, u.task_guid AS resource_guid,
       CASE WHEN late.found THEN late.task_name ELSE early.task_name END AS resource_name,
       CASE WHEN late.found THEN late.org_guid ELSE early.org_guid END AS org_guid,
       CASE WHEN late.found THEN late.space_guid ELSE early.space_guid END AS space_guid,
       CASE WHEN late.found THEN late.space_name ELSE early.space_name END AS space_name,
       CASE WHEN late.found THEN late.parent_app_guid ELSE early.parent_app_guid END
           AS parent_app_guid,
       NULL::text AS process_type, u.instance_seconds, u.mb_seconds
FROM usage u
LEFT JOIN LATERAL (
    SELECT true AS found, e.task_name, e.org_guid, e.space_guid, e.space_name,
           e.parent_app_guid
    FROM app_usage_events e
    WHERE e.task_guid = u.task_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key AND e.created_at < %(to)s
    ORDER BY e.id DESC LIMIT 1
) late ON true
LEFT JOIN LATERAL (
    SELECT e.task_name, e.org_guid, e.space_guid, e.space_name, e.parent_app_guid
    FROM app_usage_events e
    WHERE late.found IS NULL
      AND e.task_guid = u.task_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key
    ORDER BY e.id LIMIT 1
) early ON true
WHERE u.instance_seconds > 0 OR u.mb_seconds > 0
)
-- In the reply's order (as Python compares the keys: by code point; migration 0015).
SELECT * FROM named
ORDER BY reply_order_key(foundation, org_guid, space_guid, resource_guid) COLLATE "C";

-- name: staging_usage
-- The sum of the staging spans (migration 0014) that overlap the window, per app; names from
-- the app's latest staging event before `to` (else its earliest).
WITH usage AS (
    SELECT org_key, parent_app_guid, foundation,
           sum(instances * secs) AS instance_seconds,
           sum(instances::float8 * memory_in_mb * secs) AS mb_seconds
    FROM (
        SELECT org_key, parent_app_guid, s.foundation, instances, memory_in_mb,
               date_part('epoch', least(end_at, %(upto)s)
                                  - greatest(start_at, %(from)s, h.began_at)) AS secs
        FROM staging_spans s
        JOIN usage_history_beginnings() h ON h.foundation = s.foundation AND h.kind = 'app'
        WHERE end_at > %(from)s AND start_at < %(upto)s
          AND least(end_at, %(upto)s) > greatest(start_at, %(from)s, h.began_at)
          AND (%(org_guids)s::text[] IS NULL OR org_key = ANY(%(org_guids)s::text[]))
          AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
          AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]))
    ) spans
    GROUP BY org_key, parent_app_guid, foundation
),
named AS (
SELECT u.foundation, u.parent_app_guid AS resource_guid,
       CASE WHEN late.found THEN late.parent_app_name ELSE early.parent_app_name END
           AS resource_name,
       CASE WHEN late.found THEN late.org_guid ELSE early.org_guid END AS org_guid,
       CASE WHEN late.found THEN late.space_guid ELSE early.space_guid END AS space_guid,
       CASE WHEN late.found THEN late.space_name ELSE early.space_name END AS space_name,
       u.parent_app_guid, NULL::text AS process_type, u.instance_seconds, u.mb_seconds
FROM usage u
LEFT JOIN LATERAL (
    SELECT true AS found, e.parent_app_name, e.org_guid, e.space_guid, e.space_name
    FROM app_usage_events e
    WHERE e.parent_app_guid = u.parent_app_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key AND e.created_at < %(to)s
      AND e.state IN ('STAGING_STARTED', 'STAGING_STOPPED')
    ORDER BY e.id DESC LIMIT 1
) late ON true
LEFT JOIN LATERAL (
    SELECT e.parent_app_name, e.org_guid, e.space_guid, e.space_name
    FROM app_usage_events e
    WHERE late.found IS NULL
      AND e.parent_app_guid = u.parent_app_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key
      AND e.state IN ('STAGING_STARTED', 'STAGING_STOPPED')
    ORDER BY e.id LIMIT 1
) early ON true
WHERE u.instance_seconds > 0 OR u.mb_seconds > 0
)
-- In the reply's order (as Python compares the keys: by code point; migration 0015).
SELECT * FROM named
ORDER BY reply_order_key(foundation, org_guid, space_guid, resource_guid) COLLATE "C";

-- name: service_usage
-- The sum of the service spans (migration 0014) that overlap the window, per instance and
-- plan; the instance named by its latest managed event before `to` (else its earliest), each
-- plan by the latest event on that plan before `to` (else the earliest on it): usually the
-- instance's latest event, which then names both.
WITH usage AS (
    SELECT org_key, service_instance_guid, foundation, service_plan_guid,
           sum(secs) AS instance_seconds
    FROM (
        SELECT org_key, service_instance_guid, s.foundation, service_plan_guid,
               date_part('epoch', least(end_at, %(upto)s)
                                  - greatest(start_at, %(from)s, h.began_at)) AS secs
        FROM service_spans s
        JOIN usage_history_beginnings() h
          ON h.foundation = s.foundation AND h.kind = 'service'
        WHERE end_at > %(from)s AND start_at < %(upto)s
          AND least(end_at, %(upto)s) > greatest(start_at, %(from)s, h.began_at)
          AND (%(org_guids)s::text[] IS NULL OR org_key = ANY(%(org_guids)s::text[]))
          AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
          AND (%(foundations)s::text[] IS NULL OR s.foundation = ANY(%(foundations)s::text[]))
    ) spans
    GROUP BY org_key, service_instance_guid, foundation, service_plan_guid
),
named AS (
SELECT u.foundation, u.service_instance_guid AS resource_guid,
       CASE WHEN late.found THEN late.service_instance_name ELSE early.service_instance_name END
           AS resource_name,
       CASE WHEN late.found THEN late.org_guid ELSE early.org_guid END AS org_guid,
       CASE WHEN late.found THEN late.space_guid ELSE early.space_guid END AS space_guid,
       CASE WHEN late.found THEN late.space_name ELSE early.space_name END AS space_name,
       u.service_plan_guid,
       CASE WHEN late.on_plan THEN late.service_plan_name
            WHEN plan_late.found THEN plan_late.service_plan_name
            ELSE plan_early.service_plan_name END AS service_plan_name,
       CASE WHEN late.on_plan THEN late.service_label
            WHEN plan_late.found THEN plan_late.service_label
            ELSE plan_early.service_label END AS service_label,
       u.instance_seconds
FROM usage u
LEFT JOIN LATERAL (
    SELECT true AS found, e.service_instance_name, e.org_guid, e.space_guid, e.space_name,
           e.service_plan_guid IS NOT DISTINCT FROM u.service_plan_guid AS on_plan,
           e.service_plan_name, e.service_label
    FROM service_usage_events e
    WHERE e.service_instance_guid = u.service_instance_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key AND e.created_at < %(to)s
      AND e.service_instance_type IS DISTINCT FROM %(user_provided)s
    ORDER BY e.id DESC LIMIT 1
) late ON true
LEFT JOIN LATERAL (
    SELECT e.service_instance_name, e.org_guid, e.space_guid, e.space_name
    FROM service_usage_events e
    WHERE late.found IS NULL
      AND e.service_instance_guid = u.service_instance_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key
      AND e.service_instance_type IS DISTINCT FROM %(user_provided)s
    ORDER BY e.id LIMIT 1
) early ON true
LEFT JOIN LATERAL (
    SELECT true AS found, e.service_plan_name, e.service_label
    FROM service_usage_events e
    WHERE late.on_plan IS NOT TRUE  -- the instance's latest event names this plan already
      AND e.service_instance_guid = u.service_instance_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key AND e.created_at < %(to)s
      AND e.service_instance_type IS DISTINCT FROM %(user_provided)s
      AND e.service_plan_guid IS NOT DISTINCT FROM u.service_plan_guid
    ORDER BY e.id DESC LIMIT 1
) plan_late ON true
LEFT JOIN LATERAL (
    SELECT e.service_plan_name, e.service_label
    FROM service_usage_events e
    WHERE plan_late.found IS NULL AND late.on_plan IS NOT TRUE
      AND e.service_instance_guid = u.service_instance_guid AND e.foundation = u.foundation
      AND coalesce(e.org_guid, '') = u.org_key
      AND e.service_instance_type IS DISTINCT FROM %(user_provided)s
      AND e.service_plan_guid IS NOT DISTINCT FROM u.service_plan_guid
    ORDER BY e.id LIMIT 1
) plan_early ON true
WHERE u.instance_seconds > 0
)
-- In the reply's order (as Python compares the keys: by code point; migration 0015).
SELECT * FROM named
ORDER BY reply_order_key(foundation, org_guid, space_guid, resource_guid, service_plan_guid)
         COLLATE "C";

-- name: collection_gaps
SELECT foundation, kind, gap_from, gap_to, reason
FROM collection_gaps
WHERE (gap_from IS NULL OR gap_from < %(to)s)
  AND (gap_to IS NULL OR gap_to > %(from)s)
  AND (%(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[]))
ORDER BY foundation, kind, gap_from NULLS FIRST, gap_id;

-- name: history_beginnings
-- Where each foundation's history of each table begins, for the warnings.
SELECT foundation, kind, began_at
FROM usage_history_beginnings()
WHERE %(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[])
ORDER BY foundation, kind;

-- name: applied_versions
SELECT version FROM schema_migrations;

-- name: begin_report
-- One consistent snapshot for all the queries of a report; memory to sort in RAM; no JIT
-- (its compile time, 100-300 ms, costs more than it saves on these plans).
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT set_config('statement_timeout', %(statement_timeout_ms)s, true),
       set_config('work_mem', %(work_mem)s, true),
       set_config('jit', 'off', true);

-- name: export_snapshot
-- The report transaction's snapshot, for helper connections to read the same rows.
SELECT pg_export_snapshot();

-- name: begin_helper
-- A helper connection's transaction: the report's snapshot and settings.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET TRANSACTION SNAPSHOT %(snapshot)s;
SELECT set_config('statement_timeout', %(statement_timeout_ms)s, true),
       set_config('work_mem', %(work_mem)s, true),
       set_config('jit', 'off', true);

-- name: ping
SELECT 1;
