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
-- they filter events in the scan: a one-org report is a range scan over that org's events.
-- Processes, the longest stream, are summed from the spans the database maintains with the
-- events (migration 0006); tasks, staging and services read a covering index of migration
-- 0004 in (org_guid, resource, foundation, id) order, so their window functions and grouping
-- need no sort.

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
)
SELECT u.foundation, u.process_guid AS resource_guid,
       CASE WHEN late.found THEN late.app_name ELSE early.app_name END,
       CASE WHEN late.found THEN late.org_guid ELSE early.org_guid END,
       CASE WHEN late.found THEN late.space_guid ELSE early.space_guid END,
       CASE WHEN late.found THEN late.space_name ELSE early.space_name END,
       CASE WHEN late.found THEN late.parent_app_guid ELSE early.parent_app_guid END,
       CASE WHEN late.found THEN late.process_type ELSE early.process_type END,
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
WHERE u.instance_seconds > 0 OR u.mb_seconds > 0;

-- name: task_usage
-- Nearly every task is one TASK_STARTED and at most one TASK_STOPPED, with the same names
-- on every event: one GROUP BY in index order sums those ("simple"). Any other task takes
-- the general path: three window levels over its events (which event names the task; its
-- names on every row; then, over the state changes only, the next change).
WITH grouped AS (
    SELECT org_guid, task_guid, foundation,
           count(*) FILTER (WHERE state = %(task_started)s) AS starts,
           count(*) FILTER (WHERE state = %(task_stopped)s) AS stops,
           min(id) FILTER (WHERE state = %(task_started)s) AS start_id,
           min(id) FILTER (WHERE state = %(task_stopped)s) AS stop_id,
           min(created_at) FILTER (WHERE state = %(task_started)s) AS start_at,
           min(created_at) FILTER (WHERE state = %(task_stopped)s) AS stop_at,
           min(instance_count) FILTER (WHERE state = %(task_started)s) AS start_instances,
           min(memory_in_mb_per_instance) FILTER (WHERE state = %(task_started)s) AS start_mb,
           min(instance_count) FILTER (WHERE state = %(task_stopped)s) AS stop_instances,
           min(memory_in_mb_per_instance) FILTER (WHERE state = %(task_stopped)s) AS stop_mb,
           min(task_name) AS task_name, min(space_guid) AS space_guid,
           min(space_name) AS space_name, min(parent_app_guid) AS parent_app_guid,
           count(*) FILTER (WHERE state NOT IN (%(task_started)s, %(task_stopped)s)) = 0
             AND count(*) FILTER (WHERE state = %(task_started)s) <= 1
             AND count(*) FILTER (WHERE state = %(task_stopped)s) <= 1
             AND (count(task_name) = 0
                  OR count(task_name) = count(*) AND min(task_name) = max(task_name))
             AND (count(space_guid) = 0
                  OR count(space_guid) = count(*) AND min(space_guid) = max(space_guid))
             AND (count(space_name) = 0
                  OR count(space_name) = count(*) AND min(space_name) = max(space_name))
             AND (count(parent_app_guid) = 0
                  OR count(parent_app_guid) = count(*)
                     AND min(parent_app_guid) = max(parent_app_guid)) AS simple
    FROM app_usage_events
    WHERE task_guid IS NOT NULL
      AND (%(org_guids)s::text[] IS NULL OR org_guid = ANY(%(org_guids)s::text[]))
      AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
      AND (%(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[]))
    GROUP BY org_guid, task_guid, foundation
),
simple AS (
    -- The start runs until the stop when the stop came after it, else on; a stop before
    -- any start (in API order) ends a run carried in from before the history.
    SELECT foundation, task_guid, task_name, org_guid AS name_org_guid, space_guid,
           space_name, parent_app_guid,
           coalesce(start_instances * started_secs, 0)
             + coalesce(stop_instances * carried_secs, 0) AS instance_seconds,
           coalesce(start_instances::float8 * start_mb * started_secs, 0)
             + coalesce(stop_instances::float8 * stop_mb * carried_secs, 0) AS mb_seconds
    FROM (
        SELECT *,
               CASE WHEN starts = 1
                     AND least(run_end, %(upto)s) > greatest(start_at, %(from)s)
                    THEN date_part('epoch', least(run_end, %(upto)s)
                                            - greatest(start_at, %(from)s))
                    ELSE 0 END AS started_secs,
               CASE WHEN stops = 1 AND (starts = 0 OR stop_id < start_id)
                     AND least(stop_at, %(upto)s) > greatest(%(from)s, began_at)
                    THEN date_part('epoch', least(stop_at, %(upto)s)
                                            - greatest(%(from)s, began_at))
                    ELSE 0 END AS carried_secs
        FROM (
            SELECT g.*, h.began_at,
                   CASE WHEN stop_id > start_id THEN stop_at ELSE 'infinity' END AS run_end
            FROM grouped g
            JOIN usage_history_beginnings() h ON h.foundation = g.foundation AND h.kind = 'app'
            WHERE simple
        ) runs
    ) spans
),
marked AS (
    SELECT org_guid, task_guid, foundation, id, created_at, state,
           instance_count, memory_in_mb_per_instance,
           task_name, space_guid, space_name, parent_app_guid,
           coalesce(max(id) FILTER (WHERE created_at < %(to)s) OVER p, min(id) OVER p)
               AS name_id
    FROM app_usage_events
    WHERE task_guid IS NOT NULL
      AND (%(org_guids)s::text[] IS NULL OR org_guid = ANY(%(org_guids)s::text[]))
      AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
      AND (%(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[]))
      AND (coalesce(org_guid, ''), task_guid, foundation) IN (
            SELECT coalesce(org_guid, ''), task_guid, foundation FROM grouped WHERE NOT simple)
    WINDOW p AS (PARTITION BY org_guid, task_guid, foundation ORDER BY id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
named AS (
    SELECT org_guid, task_guid, foundation, id, created_at, state,
           instance_count, memory_in_mb_per_instance,
           max(task_name) FILTER (WHERE id = name_id) OVER p AS task_name,
           max(org_guid) FILTER (WHERE id = name_id) OVER p AS name_org_guid,
           max(space_guid) FILTER (WHERE id = name_id) OVER p AS space_guid,
           max(space_name) FILTER (WHERE id = name_id) OVER p AS space_name,
           max(parent_app_guid) FILTER (WHERE id = name_id) OVER p AS parent_app_guid
    FROM marked
    WINDOW p AS (PARTITION BY org_guid, task_guid, foundation ORDER BY id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
events AS (
    SELECT *, lead(created_at, 1, 'infinity') OVER w AS next_at, row_number() OVER w AS n
    FROM named
    WHERE state IN (%(task_started)s, %(task_stopped)s)
    WINDOW w AS (PARTITION BY org_guid, task_guid, foundation ORDER BY id)
),
general AS (
    SELECT foundation, task_guid,
           min(task_name) AS task_name, min(name_org_guid) AS name_org_guid,
           min(space_guid) AS space_guid, min(space_name) AS space_name,
           min(parent_app_guid) AS parent_app_guid,
           sum(instance_count * secs) AS instance_seconds,
           sum(instance_count::float8 * memory_in_mb_per_instance * secs) AS mb_seconds
    FROM (
        SELECT *,
               CASE WHEN state = %(task_started)s
                     AND least(next_at, %(upto)s) > greatest(created_at, %(from)s)
                    THEN date_part('epoch', least(next_at, %(upto)s)
                                            - greatest(created_at, %(from)s))
                    WHEN n = 1 AND state = %(task_stopped)s
                     AND least(created_at, %(upto)s) > greatest(%(from)s, began_at)
                    THEN date_part('epoch', least(created_at, %(upto)s)
                                            - greatest(%(from)s, began_at))
                    ELSE 0 END AS secs
        FROM (
            SELECT e.*, h.began_at
            FROM events e
            JOIN usage_history_beginnings() h
              ON h.foundation = e.foundation AND h.kind = 'app'
        ) history
    ) spans
    GROUP BY org_guid, task_guid, foundation  -- names are the same on every row of a task
),
usage AS (
    SELECT * FROM simple
    UNION ALL
    SELECT foundation, task_guid, task_name, name_org_guid, space_guid, space_name,
           parent_app_guid, instance_seconds, mb_seconds
    FROM general
)
SELECT foundation, task_guid AS resource_guid, task_name AS resource_name,
       name_org_guid AS org_guid, space_guid, space_name, parent_app_guid,
       NULL::text AS process_type, instance_seconds, mb_seconds
FROM usage
WHERE instance_seconds > 0 OR mb_seconds > 0;

-- name: staging_usage
-- FIFO pairing: with x = +1 per start and -1 per stop and c its running sum, a stop pairs
-- with an earlier unpaired start exactly when c does not fall below min(0, every earlier c);
-- the k-th paired stop then closes the k-th start. Names come from the staging events.
WITH marked AS (
    SELECT org_guid, parent_app_guid, foundation, id, created_at, state,
           instance_count, memory_in_mb_per_instance, parent_app_name, space_guid, space_name,
           sum(CASE WHEN state = %(staging_started)s THEN 1 ELSE -1 END) OVER w AS c,
           coalesce(max(id) FILTER (WHERE created_at < %(to)s) OVER p, min(id) OVER p)
               AS name_id
    FROM app_usage_events
    WHERE parent_app_guid IS NOT NULL
      AND state IN (%(staging_started)s, %(staging_stopped)s)
      AND (%(org_guids)s::text[] IS NULL OR org_guid = ANY(%(org_guids)s::text[]))
      AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
      AND (%(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[]))
    WINDOW w AS (PARTITION BY org_guid, parent_app_guid, foundation ORDER BY id),
           p AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
events AS (
    SELECT *,
           least(0, min(c) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)) AS floor_c,
           max(parent_app_name) FILTER (WHERE id = name_id) OVER p AS name,
           max(org_guid) FILTER (WHERE id = name_id) OVER p AS name_org_guid,
           max(space_guid) FILTER (WHERE id = name_id) OVER p AS name_space_guid,
           max(space_name) FILTER (WHERE id = name_id) OVER p AS name_space_name
    FROM marked
    WINDOW w AS (PARTITION BY org_guid, parent_app_guid, foundation ORDER BY id),
           p AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
starts AS (
    SELECT org_guid, parent_app_guid, foundation, created_at, instance_count,
           memory_in_mb_per_instance, name, name_org_guid, name_space_guid, name_space_name,
           row_number() OVER (PARTITION BY org_guid, parent_app_guid, foundation ORDER BY id)
               AS k
    FROM events WHERE state = %(staging_started)s
),
stops AS (
    SELECT org_guid, parent_app_guid, foundation, created_at,
           row_number() OVER (PARTITION BY org_guid, parent_app_guid, foundation ORDER BY id)
               AS k
    FROM events WHERE state = %(staging_stopped)s AND c >= coalesce(floor_c, 0)
),
usage AS (
    SELECT foundation, parent_app_guid, min(name) AS name,
           min(name_org_guid) AS name_org_guid, min(name_space_guid) AS name_space_guid,
           min(name_space_name) AS name_space_name,
           sum(instances * secs) AS instance_seconds,
           sum(instances::float8 * mb * secs) AS mb_seconds
    FROM (
        SELECT a.org_guid, a.foundation, a.parent_app_guid, a.name, a.name_org_guid,
               a.name_space_guid, a.name_space_name,
               a.instance_count AS instances, a.memory_in_mb_per_instance AS mb,
               date_part('epoch', least(b.created_at, %(upto)s)
                                  - greatest(a.created_at, %(from)s)) AS secs
        FROM starts a
        JOIN stops b ON b.parent_app_guid = a.parent_app_guid AND b.foundation = a.foundation
                    AND b.k = a.k AND b.org_guid IS NOT DISTINCT FROM a.org_guid
        WHERE least(b.created_at, %(upto)s) > greatest(a.created_at, %(from)s)
    ) clipped
    GROUP BY org_guid, foundation, parent_app_guid  -- names are the same on every row
)
SELECT foundation, parent_app_guid AS resource_guid, name AS resource_name,
       name_org_guid AS org_guid, name_space_guid AS space_guid, name_space_name AS space_name,
       parent_app_guid, NULL::text AS process_type, instance_seconds, mb_seconds
FROM usage
WHERE instance_seconds > 0 OR mb_seconds > 0;

-- name: service_usage
-- An instance exists from CREATED or UPDATED until its next such event or DELETED, on that
-- event's plan; when its first event is UPDATED or DELETED it existed before the history
-- began, on that event's plan. User-provided instances are left out. The instance is named
-- by its latest event before `to`, each plan by the latest event on that plan before `to`.
WITH marked AS (
    SELECT org_guid, service_instance_guid, foundation, id, created_at, state,
           service_plan_guid, service_instance_name, space_guid, space_name,
           service_plan_name, service_label,
           coalesce(max(id) FILTER (WHERE created_at < %(to)s) OVER p, min(id) OVER p)
               AS name_id,
           coalesce(max(id) FILTER (WHERE created_at < %(to)s) OVER pp, min(id) OVER pp)
               AS plan_name_id
    FROM service_usage_events
    WHERE service_instance_type IS DISTINCT FROM %(user_provided)s
      AND (%(org_guids)s::text[] IS NULL OR org_guid = ANY(%(org_guids)s::text[]))
      AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY(%(space_guids)s::text[]))
      AND (%(foundations)s::text[] IS NULL OR foundation = ANY(%(foundations)s::text[]))
    WINDOW p AS (PARTITION BY org_guid, service_instance_guid, foundation),
           pp AS (PARTITION BY org_guid, service_instance_guid, foundation, service_plan_guid)
),
named AS (
    SELECT org_guid, service_instance_guid, foundation, id, created_at, state,
           service_plan_guid,
           max(service_instance_name) FILTER (WHERE id = name_id) OVER p AS name,
           max(org_guid) FILTER (WHERE id = name_id) OVER p AS name_org_guid,
           max(space_guid) FILTER (WHERE id = name_id) OVER p AS name_space_guid,
           max(space_name) FILTER (WHERE id = name_id) OVER p AS name_space_name,
           max(service_plan_name) FILTER (WHERE id = plan_name_id) OVER pp AS plan_name,
           max(service_label) FILTER (WHERE id = plan_name_id) OVER pp AS plan_label
    FROM marked
    WINDOW p AS (PARTITION BY org_guid, service_instance_guid, foundation),
           pp AS (PARTITION BY org_guid, service_instance_guid, foundation, service_plan_guid)
),
events AS (
    SELECT *, lead(created_at, 1, 'infinity') OVER w AS next_at, row_number() OVER w AS n
    FROM named
    WHERE state IN (%(created)s, %(updated)s, %(deleted)s)
    WINDOW w AS (PARTITION BY org_guid, service_instance_guid, foundation ORDER BY id)
),
usage AS (
    SELECT foundation, service_instance_guid, service_plan_guid, min(name) AS name,
           min(name_org_guid) AS name_org_guid, min(name_space_guid) AS name_space_guid,
           min(name_space_name) AS name_space_name, min(plan_name) AS plan_name,
           min(plan_label) AS plan_label, sum(secs) AS instance_seconds
    FROM (
        SELECT *,
               CASE WHEN state IN (%(created)s, %(updated)s)
                     AND least(next_at, %(upto)s) > greatest(created_at, %(from)s)
                    THEN date_part('epoch', least(next_at, %(upto)s)
                                            - greatest(created_at, %(from)s))
                    ELSE 0 END
               + CASE WHEN n = 1 AND state IN (%(updated)s, %(deleted)s)
                       AND least(created_at, %(upto)s) > greatest(%(from)s, began_at)
                      THEN date_part('epoch', least(created_at, %(upto)s)
                                              - greatest(%(from)s, began_at))
                      ELSE 0 END AS secs
        FROM (
            SELECT e.*, h.began_at
            FROM events e
            JOIN usage_history_beginnings() h
              ON h.foundation = e.foundation AND h.kind = 'service'
        ) history
    ) spans
    GROUP BY org_guid, service_instance_guid, foundation, service_plan_guid  -- names: same
)
SELECT foundation, service_instance_guid AS resource_guid, name AS resource_name,
       name_org_guid AS org_guid, name_space_guid AS space_guid,
       name_space_name AS space_name, service_plan_guid, plan_name, plan_label,
       instance_seconds
FROM usage
WHERE instance_seconds > 0;

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
