-- Task, staging and service spans, maintained with the events like the process spans (issue
-- 14). A report or a bill then reads the spans that overlap its window, and its cost follows
-- the window, not the history: the task, staging and service queries used to walk every
-- event of every resource ever seen through window functions. The spans are the segments a
-- bill prices (CONTRACT "What a bill prices"), computed in one place for both.
--
--   * task (org, task guid, foundation): each TASK_STARTED runs until the task's next
--     TASK_STARTED or TASK_STOPPED in API order, or for ever; a first TASK_STOPPED ran from
--     before the history ('-infinity'); instances and memory of the event that starts it.
--   * staging (org, parent app guid, foundation): each STAGING_STARTED runs until the first
--     unpaired STAGING_STOPPED of the app after it (first in, first out); a start that never
--     stops has no span.
--   * service (org, instance guid, foundation), user-provided events left out: each CREATED
--     or UPDATED lasts until the instance's next CREATED, UPDATED or DELETED, on its plan; a
--     first UPDATED or DELETED existed before the history ('-infinity'), on its plan.
--
-- Reports clip every span to the window and to the history's beginning when they read it.
-- The triggers recompute every span of each resource a statement touched, from all its
-- events (a task or an instance has a handful; an app stages a few times a month), under
-- the process spans' lock: the last writer to commit has accounted for every other one.
-- Names are not kept here: a report reads each resource's latest event before its `to`
-- through the indexes below (which replace migration 0004's org-first ones: reports select
-- resources through the spans now).

DROP INDEX app_usage_events_org_task_idx;
DROP INDEX app_usage_events_org_staging_idx;
DROP INDEX service_usage_events_org_instance_idx;
DROP INDEX app_usage_events_process_idx;

-- The triggers walk a resource's events in id order, and reports name each resource from
-- its latest event before `to`, through these covering indexes.
-- (Not app_name: a name PostgreSQL cannot index would refuse the row, and process names
-- are a heap fetch away; the process span trigger reads what is included.)
CREATE INDEX app_usage_events_process_idx
    ON app_usage_events (process_guid, foundation, id)
    INCLUDE (org_guid, created_at, state)
    WHERE process_guid IS NOT NULL;
CREATE INDEX app_usage_events_task_idx
    ON app_usage_events (task_guid, foundation, id)
    INCLUDE (org_guid, created_at, state, instance_count, memory_in_mb_per_instance,
             task_name, space_guid, space_name, parent_app_guid)
    WHERE task_guid IS NOT NULL;
CREATE INDEX app_usage_events_staging_idx
    ON app_usage_events (parent_app_guid, foundation, id)
    INCLUDE (org_guid, created_at, state, instance_count, memory_in_mb_per_instance,
             parent_app_name, space_guid, space_name)
    WHERE state IN ('STAGING_STARTED', 'STAGING_STOPPED');
CREATE INDEX service_usage_events_instance_idx
    ON service_usage_events (service_instance_guid, foundation, id)
    INCLUDE (org_guid, created_at, state, service_instance_type, service_plan_guid,
             service_instance_name, space_guid, space_name, service_plan_name, service_label);

CREATE TABLE task_spans (
    org_key text NOT NULL,
    task_guid text NOT NULL,
    foundation text NOT NULL,
    event_id bigint NOT NULL,
    carried boolean NOT NULL,
    space_guid text,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    instances integer NOT NULL,
    memory_in_mb integer NOT NULL
);
CREATE INDEX task_spans_resource_idx ON task_spans (org_key, task_guid, foundation);
CREATE INDEX task_spans_org_end_idx ON task_spans (org_key, end_at);

CREATE TABLE staging_spans (
    org_key text NOT NULL,
    parent_app_guid text NOT NULL,
    foundation text NOT NULL,
    event_id bigint NOT NULL,
    space_guid text,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    instances integer NOT NULL,
    memory_in_mb integer NOT NULL
);
CREATE INDEX staging_spans_resource_idx ON staging_spans (org_key, parent_app_guid, foundation);
CREATE INDEX staging_spans_org_end_idx ON staging_spans (org_key, end_at);

CREATE TABLE service_spans (
    org_key text NOT NULL,
    service_instance_guid text NOT NULL,
    foundation text NOT NULL,
    event_id bigint NOT NULL,
    carried boolean NOT NULL,
    service_plan_guid text,
    space_guid text,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL
);
CREATE INDEX service_spans_resource_idx
    ON service_spans (org_key, service_instance_guid, foundation);
CREATE INDEX service_spans_org_end_idx ON service_spans (org_key, end_at);

CREATE INDEX process_spans_org_end_idx ON process_spans (org_key, end_at);

-- Every span as a bill's segment: one shape for the four tables (a service's instances and
-- memory are its plan version's, not the span's: 1 and 0 here).
CREATE VIEW usage_spans AS
    SELECT 'app'::text AS resource_type, org_key, process_guid AS resource_guid, foundation,
           NULL::text AS service_plan_guid, space_guid, start_at, end_at, instances,
           memory_in_mb
    FROM process_spans
    UNION ALL
    SELECT 'task', org_key, task_guid, foundation, NULL, space_guid, start_at, end_at,
           instances, memory_in_mb
    FROM task_spans
    UNION ALL
    SELECT 'staging', org_key, parent_app_guid, foundation, NULL, space_guid, start_at, end_at,
           instances, memory_in_mb
    FROM staging_spans
    UNION ALL
    SELECT 'service', org_key, service_instance_guid, foundation, service_plan_guid,
           space_guid, start_at, end_at, 1, 0
    FROM service_spans;

-- Spans are written under READ COMMITTED and one lock (see process_spans_refresh).
CREATE FUNCTION resource_spans_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'usage events may only be written under READ COMMITTED '
                        '(usage spans), not %', current_setting('transaction_isolation');
    END IF;
    PERFORM pg_advisory_xact_lock(1885956711, 0);
END;
$$;

CREATE FUNCTION task_spans_refresh(org_keys text[], task_guids text[], foundations text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM resource_spans_lock();
    WITH touched AS (
        SELECT DISTINCT o, g, f FROM unnest(org_keys, task_guids, foundations) AS u(o, g, f)
    ),
    gone AS (
        DELETE FROM task_spans s
        USING touched t
        WHERE s.org_key = t.o AND s.task_guid = t.g AND s.foundation = t.f
    )
    INSERT INTO task_spans (org_key, task_guid, foundation, event_id, carried, space_guid,
                            start_at, end_at, instances, memory_in_mb)
    SELECT o, g, f, id, state = 'TASK_STOPPED', space_guid,
           CASE WHEN state = 'TASK_STARTED' THEN created_at ELSE '-infinity' END,
           CASE WHEN state = 'TASK_STARTED' THEN next_at ELSE created_at END,
           instance_count, memory_in_mb_per_instance
    FROM (
        SELECT t.o, t.g, t.f, e.id, e.state, e.space_guid, e.created_at, e.instance_count,
               e.memory_in_mb_per_instance,
               lead(e.created_at, 1, 'infinity') OVER w AS next_at,
               row_number() OVER w AS n
        FROM touched t
        JOIN app_usage_events e
          ON e.task_guid = t.g AND e.foundation = t.f AND coalesce(e.org_guid, '') = t.o
         AND e.state IN ('TASK_STARTED', 'TASK_STOPPED')
        WINDOW w AS (PARTITION BY t.o, t.g, t.f ORDER BY e.id)
    ) changes
    WHERE state = 'TASK_STARTED' OR n = 1;
END;
$$;

-- First in, first out: with x = +1 per start and -1 per stop and c its running sum, a stop
-- pairs with an earlier unpaired start exactly when c does not fall below min(0, every
-- earlier c); the k-th paired stop then closes the k-th start.
CREATE FUNCTION staging_spans_refresh(org_keys text[], app_guids text[], foundations text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM resource_spans_lock();
    WITH touched AS (
        SELECT DISTINCT o, g, f FROM unnest(org_keys, app_guids, foundations) AS u(o, g, f)
    ),
    gone AS (
        DELETE FROM staging_spans s
        USING touched t
        WHERE s.org_key = t.o AND s.parent_app_guid = t.g AND s.foundation = t.f
    ),
    marked AS (
        SELECT t.o, t.g, t.f, e.id, e.state, e.created_at, e.space_guid, e.instance_count,
               e.memory_in_mb_per_instance,
               sum(CASE WHEN e.state = 'STAGING_STARTED' THEN 1 ELSE -1 END) OVER w AS c
        FROM touched t
        JOIN app_usage_events e
          ON e.parent_app_guid = t.g AND e.foundation = t.f AND coalesce(e.org_guid, '') = t.o
         AND e.state IN ('STAGING_STARTED', 'STAGING_STOPPED')
        WINDOW w AS (PARTITION BY t.o, t.g, t.f ORDER BY e.id)
    ),
    floored AS (
        SELECT *,
               least(0, min(c) OVER (PARTITION BY o, g, f ORDER BY id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
                   AS floor_c
        FROM marked
    ),
    -- The starts and the paired stops, each numbered in id order; the k-th of each pair up.
    -- (Grouped, not joined: a join of the two would be planned on a guess of one row each.)
    numbered AS (
        SELECT *, row_number() OVER (PARTITION BY o, g, f, state ORDER BY id) AS k
        FROM floored
        WHERE state = 'STAGING_STARTED' OR c >= coalesce(floor_c, 0)
    )
    INSERT INTO staging_spans (org_key, parent_app_guid, foundation, event_id, space_guid,
                               start_at, end_at, instances, memory_in_mb)
    SELECT o, g, f,
           min(id) FILTER (WHERE state = 'STAGING_STARTED'),
           min(space_guid) FILTER (WHERE state = 'STAGING_STARTED'),
           min(created_at) FILTER (WHERE state = 'STAGING_STARTED'),
           min(created_at) FILTER (WHERE state = 'STAGING_STOPPED'),
           min(instance_count) FILTER (WHERE state = 'STAGING_STARTED'),
           min(memory_in_mb_per_instance) FILTER (WHERE state = 'STAGING_STARTED')
    FROM numbered
    GROUP BY o, g, f, k
    HAVING count(*) = 2;
END;
$$;

CREATE FUNCTION service_spans_refresh(org_keys text[], instance_guids text[],
                                      foundations text[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM resource_spans_lock();
    WITH touched AS (
        SELECT DISTINCT o, g, f FROM unnest(org_keys, instance_guids, foundations) AS u(o, g, f)
    ),
    gone AS (
        DELETE FROM service_spans s
        USING touched t
        WHERE s.org_key = t.o AND s.service_instance_guid = t.g AND s.foundation = t.f
    )
    INSERT INTO service_spans (org_key, service_instance_guid, foundation, event_id, carried,
                               service_plan_guid, space_guid, start_at, end_at)
    SELECT o, g, f, id, c.carried, service_plan_guid, space_guid,
           CASE WHEN c.carried THEN '-infinity' ELSE created_at END,
           CASE WHEN c.carried THEN created_at ELSE next_at END
    FROM (
        SELECT t.o, t.g, t.f, e.id, e.state, e.service_plan_guid, e.space_guid, e.created_at,
               lead(e.created_at, 1, 'infinity') OVER w AS next_at,
               row_number() OVER w AS n
        FROM touched t
        JOIN service_usage_events e
          ON e.service_instance_guid = t.g AND e.foundation = t.f
         AND coalesce(e.org_guid, '') = t.o
         AND e.state IN ('CREATED', 'UPDATED', 'DELETED')
         AND e.service_instance_type IS DISTINCT FROM 'user_provided_service_instance'
        WINDOW w AS (PARTITION BY t.o, t.g, t.f ORDER BY e.id)
    ) changes
    CROSS JOIN LATERAL (VALUES (false), (true)) AS c(carried)
    WHERE CASE WHEN c.carried THEN n = 1 AND state IN ('UPDATED', 'DELETED')
               ELSE state IN ('CREATED', 'UPDATED') END;
END;
$$;

-- One trigger function per table and change: the resources of every row the statement saw.
CREATE FUNCTION app_resource_spans_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM task_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(task_guid),
                                   array_agg(foundation))
        FROM new_rows WHERE task_guid IS NOT NULL HAVING count(*) > 0;
        PERFORM staging_spans_refresh(array_agg(coalesce(org_guid, '')),
                                      array_agg(parent_app_guid), array_agg(foundation))
        FROM new_rows
        WHERE parent_app_guid IS NOT NULL AND state IN ('STAGING_STARTED', 'STAGING_STOPPED')
        HAVING count(*) > 0;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM task_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(task_guid),
                                   array_agg(foundation))
        FROM old_rows WHERE task_guid IS NOT NULL HAVING count(*) > 0;
        PERFORM staging_spans_refresh(array_agg(coalesce(org_guid, '')),
                                      array_agg(parent_app_guid), array_agg(foundation))
        FROM old_rows
        WHERE parent_app_guid IS NOT NULL AND state IN ('STAGING_STARTED', 'STAGING_STOPPED')
        HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION service_resource_spans_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM service_spans_refresh(array_agg(coalesce(org_guid, '')),
                                      array_agg(service_instance_guid), array_agg(foundation))
        FROM new_rows HAVING count(*) > 0;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM service_spans_refresh(array_agg(coalesce(org_guid, '')),
                                      array_agg(service_instance_guid), array_agg(foundation))
        FROM old_rows HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION resource_spans_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'app_usage_events' THEN
        TRUNCATE task_spans, staging_spans;
    ELSE
        TRUNCATE service_spans;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER resource_spans_insert AFTER INSERT ON app_usage_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_resource_spans_refresh();
CREATE TRIGGER resource_spans_delete AFTER DELETE ON app_usage_events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_resource_spans_refresh();
CREATE TRIGGER resource_spans_update AFTER UPDATE ON app_usage_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION app_resource_spans_refresh();
CREATE TRIGGER resource_spans_truncate AFTER TRUNCATE ON app_usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION resource_spans_after_truncate();
CREATE TRIGGER resource_spans_insert AFTER INSERT ON service_usage_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION service_resource_spans_refresh();
CREATE TRIGGER resource_spans_delete AFTER DELETE ON service_usage_events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION service_resource_spans_refresh();
CREATE TRIGGER resource_spans_update AFTER UPDATE ON service_usage_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION service_resource_spans_refresh();
CREATE TRIGGER resource_spans_truncate AFTER TRUNCATE ON service_usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION resource_spans_after_truncate();

-- Every task, staging and service span recomputed from the events; how many there are. For
-- the events stored already, and for operators after triggers were bypassed (beside
-- process_spans_rebuild()). Deletes rather than truncates, so that a report running
-- meanwhile keeps the spans of its snapshot.
CREATE FUNCTION resource_spans_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    spans bigint;
BEGIN
    DELETE FROM task_spans;
    DELETE FROM staging_spans;
    DELETE FROM service_spans;
    PERFORM task_spans_refresh(array_agg(o), array_agg(g), array_agg(f))
    FROM (SELECT DISTINCT coalesce(org_guid, '') AS o, task_guid AS g, foundation AS f
          FROM app_usage_events WHERE task_guid IS NOT NULL) stored
    HAVING count(*) > 0;
    PERFORM staging_spans_refresh(array_agg(o), array_agg(g), array_agg(f))
    FROM (SELECT DISTINCT coalesce(org_guid, '') AS o, parent_app_guid AS g, foundation AS f
          FROM app_usage_events
          WHERE parent_app_guid IS NOT NULL
            AND state IN ('STAGING_STARTED', 'STAGING_STOPPED')) stored
    HAVING count(*) > 0;
    PERFORM service_spans_refresh(array_agg(o), array_agg(g), array_agg(f))
    FROM (SELECT DISTINCT coalesce(org_guid, '') AS o, service_instance_guid AS g,
                 foundation AS f
          FROM service_usage_events) stored
    HAVING count(*) > 0;
    SELECT (SELECT count(*) FROM task_spans) + (SELECT count(*) FROM staging_spans)
           + (SELECT count(*) FROM service_spans)
    INTO spans;
    RETURN spans;
END;
$$;

SELECT resource_spans_rebuild();
