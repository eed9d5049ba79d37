-- Cheaper span triggers (ingestion cost, issue 3); the spans they produce are unchanged.
--   * The running/stopped mapping of process states is an immutable function, which the
--     planner inlines, instead of a three-row table: every event the triggers read joined
--     that table through its index, twice, about 2,300 index scans for a batch of 1,000 events.
--   * The delete of a process's spans from the recompute's start reaches them through the
--     index on (org, process, foundation, event_id): it read every span the process ever had.

-- The same mapping as shared/states.py PROCESS_STATE_EFFECTS (a test keeps them equal): true
-- for a state that leaves the process running, false for one that stops it, NULL for a state
-- that is not a process state change (staging, tasks, buildpack), which the spans ignore.
CREATE FUNCTION process_state_running(state text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE state WHEN 'STARTED' THEN true WHEN 'WAS_RUNNING' THEN true
                      WHEN 'STOPPED' THEN false END;

CREATE OR REPLACE FUNCTION process_spans_refresh(org_keys text[], process_guids text[],
                                      foundations text[], from_ids bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'app_usage_events may only be written under READ COMMITTED '
                        '(process spans), not %', current_setting('transaction_isolation');
    END IF;
    -- One lock for all writers of events: one lock per process would fill the lock table
    -- (a COPY or a backfill touches every process), and one lock taken by every trigger of a
    -- transaction can never deadlock. Held until commit; only this recompute and the commit
    -- run one writer at a time, the inserts themselves do not.
    PERFORM pg_advisory_xact_lock(1885956711, 0);

    WITH starts AS (
        SELECT t.o AS org_key, t.p AS process_guid, t.f AS foundation, before.id AS start_id
        FROM (
            SELECT o, p, f, min(i) AS i
            FROM unnest(org_keys, process_guids, foundations, from_ids) AS u(o, p, f, i)
            GROUP BY o, p, f
        ) t
        LEFT JOIN LATERAL (
            SELECT e.id
            FROM app_usage_events e
            WHERE e.process_guid = t.p AND e.foundation = t.f
              AND coalesce(e.org_guid, '') = t.o AND e.id < t.i
              AND process_state_running(e.state) IS NOT NULL
            ORDER BY e.id DESC
            LIMIT 1
        ) before ON true
    ),
    -- Same snapshot as the INSERT below, which reads events only: the old spans go, the
    -- recomputed ones come. A process's carried span stays unless it is recomputed from its
    -- first state change (the first is then unchanged).
    gone AS (
        DELETE FROM process_spans s
        USING starts t
        WHERE s.org_key = t.org_key AND s.process_guid = t.process_guid
          AND s.foundation = t.foundation
          AND s.event_id >= coalesce(t.start_id, -9223372036854775807 - 1)
          AND (t.start_id IS NULL OR NOT s.carried)
    )
    INSERT INTO process_spans (org_key, process_guid, foundation, event_id, carried,
                               space_guid, start_at, end_at, instances, memory_in_mb)
    SELECT org_key, process_guid, foundation, id, c.carried, space_guid,
           CASE WHEN c.carried THEN '-infinity' ELSE created_at END,
           CASE WHEN c.carried THEN created_at ELSE next_at END,
           CASE WHEN c.carried THEN coalesce(previous_instance_count, instance_count)
                ELSE instance_count END,
           CASE WHEN c.carried
                THEN coalesce(previous_memory_in_mb_per_instance, memory_in_mb_per_instance)
                ELSE memory_in_mb_per_instance END
    FROM (
        SELECT t.org_key, t.process_guid, t.foundation, t.start_id, e.id, e.space_guid,
               e.created_at, e.instance_count, e.previous_instance_count,
               e.memory_in_mb_per_instance, e.previous_memory_in_mb_per_instance,
               process_state_running(e.state) AS running,
               coalesce(process_state_running(e.previous_state), false) AS previous_running,
               lead(e.created_at, 1, 'infinity') OVER w AS next_at,
               row_number() OVER w AS n
        FROM starts t
        JOIN app_usage_events e
          ON e.process_guid = t.process_guid AND e.foundation = t.foundation
         AND coalesce(e.org_guid, '') = t.org_key
         AND e.id >= coalesce(t.start_id, -9223372036854775807 - 1)
         AND process_state_running(e.state) IS NOT NULL
        WINDOW w AS (PARTITION BY t.org_key, t.process_guid, t.foundation ORDER BY e.id)
    ) changes
    CROSS JOIN LATERAL (VALUES (false), (true)) AS c(carried)
    WHERE CASE WHEN c.carried THEN start_id IS NULL AND n = 1 AND previous_running
               ELSE running END;
END;
$$;

-- The triggers hand every (org, process, foundation, id) they saw to process_spans_refresh,
-- which takes the lowest id per process.
CREATE OR REPLACE FUNCTION process_spans_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM process_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(process_guid),
                                  array_agg(foundation), array_agg(id))
    FROM new_rows
    WHERE process_guid IS NOT NULL AND process_state_running(state) IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

DROP TABLE process_state_effects;
