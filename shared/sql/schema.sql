-- The canonical schema: what every migration applied in order produces.
-- Change it together with a new migration; a test holds the two equal.
-- `id` is the producer's per-foundation, per-kind sequence: API order. guid is the identity
-- (a repeat is skipped); (foundation, id) is unique too (migration 0012), so no two events
-- share a place in the API's order.
--
-- The four columns id, guid, created_at and raw_message are enough (migration 0009): every
-- other column has a default or is generated from raw_message (a v2 entity or a v3 resource;
-- a v3 resource carries its own guid, a v2 entity never does). This is the one place that maps
-- a raw message to columns.

CREATE FUNCTION usage_event_api_version(raw jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN raw ? 'guid' THEN 'v3' ELSE 'v2' END;

CREATE TABLE app_usage_events (
    id bigint NOT NULL,
    guid text NOT NULL CONSTRAINT app_usage_events_guid_key UNIQUE
        CONSTRAINT app_usage_events_guid_length CHECK (char_length(guid) = 36),
    created_at timestamptz NOT NULL,
    raw_message jsonb NOT NULL,
    foundation text NOT NULL DEFAULT 'default',
    stored_at timestamptz NOT NULL DEFAULT now(),
    -- A purge-and-reseed row whose guid is stored already with another created_at is stored
    -- under a guid derived from both (migration 0005); api_guid keeps the API's (else NULL).
    api_guid text,
    api_version text NOT NULL GENERATED ALWAYS AS (usage_event_api_version(raw_message)) STORED,
    state text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'state' ->> 'current'
             ELSE raw_message ->> 'state' END) STORED,
    previous_state text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'state' ->> 'previous'
             ELSE raw_message ->> 'previous_state' END) STORED,
    instance_count integer NOT NULL GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'instance_count' ->> 'current'
             ELSE raw_message ->> 'instance_count' END)::integer) STORED,
    previous_instance_count integer GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'instance_count' ->> 'previous'
             ELSE raw_message ->> 'previous_instance_count' END)::integer) STORED,
    memory_in_mb_per_instance integer NOT NULL GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid'
             THEN raw_message -> 'memory_in_mb_per_instance' ->> 'current'
             ELSE raw_message ->> 'memory_in_mb_per_instance' END)::integer) STORED,
    previous_memory_in_mb_per_instance integer GENERATED ALWAYS AS ((
        CASE WHEN raw_message ? 'guid'
             THEN raw_message -> 'memory_in_mb_per_instance' ->> 'previous'
             ELSE raw_message ->> 'previous_memory_in_mb_per_instance' END)::integer) STORED,
    -- v2 sends "" for task and staging events, v3 null: both are no process.
    process_guid text GENERATED ALWAYS AS (nullif(
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'process' ->> 'guid'
             ELSE raw_message ->> 'app_guid' END, '')) STORED,
    process_type text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'process' ->> 'type'
             ELSE raw_message ->> 'process_type' END) STORED,
    -- v2: the process's app name, "" for tasks and staging (then the parent app's name).
    app_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'name'
             ELSE coalesce(nullif(raw_message ->> 'app_name', ''),
                           raw_message ->> 'parent_app_name') END) STORED,
    parent_app_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'guid'
             ELSE raw_message ->> 'parent_app_guid' END) STORED,
    parent_app_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'app' ->> 'name'
             ELSE raw_message ->> 'parent_app_name' END) STORED,
    space_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'guid'
             ELSE raw_message ->> 'space_guid' END) STORED,
    space_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'name'
             ELSE raw_message ->> 'space_name' END) STORED,
    org_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'organization' ->> 'guid'
             ELSE raw_message ->> 'org_guid' END) STORED,
    task_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'task' ->> 'guid'
             ELSE raw_message ->> 'task_guid' END) STORED,
    task_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'task' ->> 'name'
             ELSE raw_message ->> 'task_name' END) STORED,
    buildpack_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'buildpack' ->> 'guid'
             ELSE raw_message ->> 'buildpack_guid' END) STORED,
    buildpack_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'buildpack' ->> 'name'
             ELSE raw_message ->> 'buildpack_name' END) STORED
);
ALTER TABLE app_usage_events
    ADD CONSTRAINT app_usage_events_foundation_id_key UNIQUE (foundation, id);
CREATE INDEX app_usage_events_foundation_created_at_idx
    ON app_usage_events (foundation, created_at);
-- The span triggers walk a resource's events in id order, and reports name each resource from
-- its latest event before `to`, through these covering indexes (migration 0014).
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

CREATE TABLE service_usage_events (
    id bigint NOT NULL,
    guid text NOT NULL CONSTRAINT service_usage_events_guid_key UNIQUE
        CONSTRAINT service_usage_events_guid_length CHECK (char_length(guid) = 36),
    created_at timestamptz NOT NULL,
    raw_message jsonb NOT NULL,
    foundation text NOT NULL DEFAULT 'default',
    stored_at timestamptz NOT NULL DEFAULT now(),
    -- A purge-and-reseed row whose guid is stored already with another created_at is stored
    -- under a guid derived from both (migration 0005); api_guid keeps the API's (else NULL).
    api_guid text,
    api_version text NOT NULL GENERATED ALWAYS AS (usage_event_api_version(raw_message)) STORED,
    state text NOT NULL GENERATED ALWAYS AS (raw_message ->> 'state') STORED,
    org_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'organization' ->> 'guid'
             ELSE raw_message ->> 'org_guid' END) STORED,
    space_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'guid'
             ELSE raw_message ->> 'space_guid' END) STORED,
    space_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'space' ->> 'name'
             ELSE raw_message ->> 'space_name' END) STORED,
    service_instance_guid text NOT NULL GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'guid'
             ELSE raw_message ->> 'service_instance_guid' END) STORED,
    service_instance_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'name'
             ELSE raw_message ->> 'service_instance_name' END) STORED,
    service_instance_type text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_instance' ->> 'type'
             ELSE raw_message ->> 'service_instance_type' END) STORED,
    service_plan_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_plan' ->> 'guid'
             ELSE raw_message ->> 'service_plan_guid' END) STORED,
    service_plan_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_plan' ->> 'name'
             ELSE raw_message ->> 'service_plan_name' END) STORED,
    service_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_offering' ->> 'guid'
             ELSE raw_message ->> 'service_guid' END) STORED,
    service_label text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_offering' ->> 'name'
             ELSE raw_message ->> 'service_label' END) STORED,
    service_broker_guid text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_broker' ->> 'guid'
             ELSE raw_message ->> 'service_broker_guid' END) STORED,
    service_broker_name text GENERATED ALWAYS AS (
        CASE WHEN raw_message ? 'guid' THEN raw_message -> 'service_broker' ->> 'name'
             ELSE raw_message ->> 'service_broker_name' END) STORED
);
ALTER TABLE service_usage_events
    ADD CONSTRAINT service_usage_events_foundation_id_key UNIQUE (foundation, id);
CREATE INDEX service_usage_events_foundation_created_at_idx
    ON service_usage_events (foundation, created_at);
CREATE INDEX service_usage_events_instance_idx
    ON service_usage_events (service_instance_guid, foundation, id)
    INCLUDE (org_guid, created_at, state, service_instance_type, service_plan_guid,
             service_instance_name, space_guid, space_name, service_plan_name, service_label);

-- Where the history begins (migration 0011): the oldest event the database holds, per
-- foundation and per table. Nothing before it is known, so no usage is reported before it.
-- One row per (foundation, kind) that holds events: kind 'app' or 'service', and the oldest
-- created_at. The foundations are found by skipping through the index (a loose index scan).
CREATE FUNCTION usage_history_beginnings()
RETURNS TABLE (foundation text, kind text, began_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH RECURSIVE app_foundations (foundation) AS (
        SELECT min(e.foundation) FROM app_usage_events e
        UNION ALL
        SELECT (SELECT min(e.foundation) FROM app_usage_events e
                WHERE e.foundation > f.foundation)
        FROM app_foundations f
        WHERE f.foundation IS NOT NULL
    ),
    service_foundations (foundation) AS (
        SELECT min(e.foundation) FROM service_usage_events e
        UNION ALL
        SELECT (SELECT min(e.foundation) FROM service_usage_events e
                WHERE e.foundation > f.foundation)
        FROM service_foundations f
        WHERE f.foundation IS NOT NULL
    )
    SELECT f.foundation, 'app',
           (SELECT min(e.created_at) FROM app_usage_events e WHERE e.foundation = f.foundation)
    FROM app_foundations f
    WHERE f.foundation IS NOT NULL
    UNION ALL
    SELECT f.foundation, 'service',
           (SELECT min(e.created_at) FROM service_usage_events e
            WHERE e.foundation = f.foundation)
    FROM service_foundations f
    WHERE f.foundation IS NOT NULL
$$;

-- Where each producer stands: the last event handed over (confirmed by the broker) per kind.
CREATE TABLE collector_cursors (
    foundation text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('app', 'service')),
    after_guid text,
    last_created_at timestamptz,
    sequence bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (foundation, kind)
);

-- Periods that may be incomplete: the API lost the cursor (pruned or purged) and the
-- producer started again from the oldest event it still held.
CREATE TABLE collection_gaps (
    gap_id bigserial PRIMARY KEY,
    foundation text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('app', 'service')),
    lost_guid text NOT NULL,
    gap_from timestamptz,
    gap_to timestamptz,
    resumed_guid text,
    detected_at timestamptz NOT NULL DEFAULT now(),
    reason text NOT NULL
);
CREATE INDEX collection_gaps_window_idx ON collection_gaps (foundation, gap_from, gap_to);

-- The order of a reply's rows as one string (migration 0015): sorting tens of thousands of rows on
-- five text keys that are mostly equal (one foundation, a few dozen orgs) compares every key
-- in turn and took 0.3 s of a busy month's service report; one string compared byte by byte
-- (COLLATE "C") sorts the same rows in 0.1 s.
-- Exactly the order of the tuple of keys as Python compares it (by code point, which UTF-8
-- bytes keep): each key's U+0001 is written U+0001 U+0002 and the keys are joined by U+0001
-- U+0001, which sorts below any character of a key, so a key that is a prefix of another
-- sorts first, as in the tuple. NULL keys are ''. Inlined by the planner (one expression).
CREATE FUNCTION reply_order_key(a text, b text, c text, d text, e text DEFAULT '')
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT replace(coalesce(a, ''), E'\x01', E'\x01\x02') || E'\x01\x01'
        || replace(coalesce(b, ''), E'\x01', E'\x01\x02') || E'\x01\x01'
        || replace(coalesce(c, ''), E'\x01', E'\x01\x02') || E'\x01\x01'
        || replace(coalesce(d, ''), E'\x01', E'\x01\x02') || E'\x01\x01'
        || replace(coalesce(e, ''), E'\x01', E'\x01\x02')
$$;

-- Process spans maintained with the events (reporter, migration 0006; 0008 made the state
-- mapping a function and the span delete an index range).
-- The same mapping as shared/states.py PROCESS_STATE_EFFECTS (a test keeps them equal): true
-- for a state that leaves the process running, false for one that stops it, NULL for a state
-- that is not a process state change (staging, tasks, buildpack), which the spans ignore.
CREATE FUNCTION process_state_running(state text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE state WHEN 'STARTED' THEN true WHEN 'WAS_RUNNING' THEN true
                      WHEN 'STOPPED' THEN false END;

CREATE TABLE process_spans (
    org_key text NOT NULL,
    process_guid text NOT NULL,
    foundation text NOT NULL,
    event_id bigint NOT NULL,
    carried boolean NOT NULL,
    space_guid text,
    start_at timestamptz NOT NULL,
    end_at timestamptz NOT NULL,
    instances integer,
    memory_in_mb integer
);
CREATE INDEX process_spans_resource_idx
    ON process_spans (org_key, process_guid, foundation, event_id);

-- Recompute the spans of the given processes from each one's last state change before
-- from_ids[i] (from its first when there is none). Called by the triggers below.
CREATE FUNCTION process_spans_refresh(org_keys text[], process_guids text[],
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
CREATE FUNCTION process_spans_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM process_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(process_guid),
                                  array_agg(foundation), array_agg(id))
    FROM new_rows
    WHERE process_guid IS NOT NULL AND process_state_running(state) IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION process_spans_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM process_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(process_guid),
                                  array_agg(foundation), array_agg(id))
    FROM old_rows
    WHERE process_guid IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

-- An update may move an event to another process: both its old and its new process.
CREATE FUNCTION process_spans_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM process_spans_refresh(array_agg(coalesce(org_guid, '')), array_agg(process_guid),
                                  array_agg(foundation), array_agg(id))
    FROM (SELECT org_guid, process_guid, foundation, id FROM old_rows
          UNION ALL
          SELECT org_guid, process_guid, foundation, id FROM new_rows) changed
    WHERE process_guid IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$;

CREATE FUNCTION process_spans_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE process_spans;
    RETURN NULL;
END;
$$;

CREATE TRIGGER process_spans_insert AFTER INSERT ON app_usage_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION process_spans_after_insert();
CREATE TRIGGER process_spans_delete AFTER DELETE ON app_usage_events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION process_spans_after_delete();
CREATE TRIGGER process_spans_update AFTER UPDATE ON app_usage_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION process_spans_after_update();
CREATE TRIGGER process_spans_truncate AFTER TRUNCATE ON app_usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION process_spans_after_truncate();

-- Every span recomputed from the events; returns how many there are. For the events already
-- stored below, and for operators (docs/operating.md) after triggers were bypassed. Deletes
-- rather than truncates, so a report running meanwhile keeps the spans of its snapshot.
CREATE FUNCTION process_spans_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    spans bigint;
BEGIN
    DELETE FROM process_spans;
    PERFORM process_spans_refresh(array_agg(o), array_agg(p), array_agg(f), array_agg(i))
    FROM (
        SELECT DISTINCT coalesce(org_guid, '') AS o, process_guid AS p, foundation AS f,
               (-9223372036854775807 - 1)::bigint AS i
        FROM app_usage_events
        WHERE process_guid IS NOT NULL
    ) stored
    HAVING count(*) > 0;
    SELECT count(*) INTO spans FROM process_spans;
    RETURN spans;
END;
$$;

SELECT process_spans_rebuild();

-- Task, staging and service spans (migration 0014), maintained with the events like the
-- process spans: what a report sums and a bill prices, read by window.
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

-- Pricing and closed months (migration 0010).

-- Every pricing file ever applied, as given: when, by which database role, its SHA-256, its
-- text, and the pricing it held (normalised: UTC times, numbers as strings). Only added to.
CREATE TABLE pricing_files (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user,
    file_name text NOT NULL,
    sha256 text NOT NULL CONSTRAINT pricing_files_sha256_hex
        CHECK (char_length(sha256) = 64 AND sha256 ~ '^[0-9a-f]+$'),
    content text NOT NULL,
    pricing jsonb NOT NULL
);

-- What is in force: the pricing of one applied file (one row), every version past and
-- future, in the three tables below. Each apply replaces all four as a whole.
CREATE TABLE pricing_in_force (
    singleton boolean PRIMARY KEY DEFAULT true
        CONSTRAINT pricing_in_force_one_row CHECK (singleton),
    file_id bigint NOT NULL REFERENCES pricing_files (id),
    currency text NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
);

-- Dated rates: what one unit of a currency is worth in the billing currency (`currency`), or
-- the fraction of ex-VAT added as VAT (`vat`); each holds until the same code's next.
CREATE TABLE pricing_rates (
    kind text NOT NULL CONSTRAINT pricing_rates_kind CHECK (kind IN ('currency', 'vat')),
    code text NOT NULL,
    valid_from timestamptz NOT NULL,
    rate numeric NOT NULL CONSTRAINT pricing_rates_not_negative CHECK (rate >= 0),
    PRIMARY KEY (kind, code, valid_from)
);

-- Plan versions: a plan is a resource type, or a service plan; each version holds from its
-- valid_from until the same plan's next. The three numbers are a service plan's variables.
CREATE TABLE pricing_plan_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_type text NOT NULL CONSTRAINT pricing_plan_versions_resource_type
        CHECK (resource_type IN ('app', 'task', 'staging', 'service')),
    service_plan_guid text,
    name text NOT NULL,
    valid_from timestamptz NOT NULL,
    memory_in_mb numeric NOT NULL,
    storage_in_mb numeric NOT NULL,
    number_of_nodes numeric NOT NULL,
    CONSTRAINT pricing_plan_versions_service_plan
        CHECK ((resource_type = 'service') = (service_plan_guid IS NOT NULL))
);
CREATE UNIQUE INDEX pricing_plan_versions_key_idx
    ON pricing_plan_versions (resource_type, coalesce(service_plan_guid, ''), valid_from);

-- The components of a plan version, in the file's order.
CREATE TABLE pricing_components (
    plan_version_id bigint NOT NULL REFERENCES pricing_plan_versions (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    currency text NOT NULL,
    vat_code text NOT NULL,
    formula text NOT NULL,
    PRIMARY KEY (plan_version_id, position),
    CONSTRAINT pricing_components_name_key UNIQUE (plan_version_id, name)
);

-- Months whose bills are closed (`bills close YYYY-MM`, UTC calendar months): a bill request
-- for exactly such a month is answered from what was stored. `generated_at` is the bill's
-- "now" when it was computed; `pricing_file_id` the pricing then in force (NULL: none).
CREATE TABLE closed_months (
    month date PRIMARY KEY CONSTRAINT closed_months_first_day CHECK (extract(day FROM month) = 1),
    closed_at timestamptz NOT NULL DEFAULT now(),
    generated_at timestamptz NOT NULL,
    pricing_file_id bigint REFERENCES pricing_files (id),
    currency text NOT NULL
);

-- Every line of a closed month's bill, unrounded, with what a request filters on (org,
-- space, foundation): org figures and totals are recomputed from the lines a request keeps.
CREATE TABLE closed_bill_lines (
    month date NOT NULL REFERENCES closed_months (month),
    org_guid text,
    space_guid text,
    space_name text,
    foundation text NOT NULL,
    resource_type text NOT NULL,
    resource_guid text NOT NULL,
    resource_name text,
    service_plan_guid text,
    plan_name text NOT NULL,
    component text NOT NULL,
    vat_code text NOT NULL,
    ex_vat numeric NOT NULL,
    vat numeric NOT NULL
);
CREATE INDEX closed_bill_lines_month_org_idx ON closed_bill_lines (month, org_guid);

-- The warnings of a closed month's bill, in order; `org_guid` and `foundation` say whom one
-- concerns (NULL: every org, every foundation), so that a filtered request keeps its own.
CREATE TABLE closed_bill_warnings (
    month date NOT NULL REFERENCES closed_months (month),
    position integer NOT NULL,
    org_guid text,
    foundation text,
    warning jsonb NOT NULL,
    PRIMARY KEY (month, position)
);

-- A closed month's bill is what was invoiced: nothing updates or deletes it. (To reopen a
-- month, an operator disables these triggers on purpose; docs/pricing.md.)
CREATE FUNCTION closed_bills_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: a closed month''s bill never changes', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER closed_months_unchanged BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_months
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();
CREATE TRIGGER closed_bill_lines_unchanged
    BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_bill_lines
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();
CREATE TRIGGER closed_bill_warnings_unchanged
    BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_bill_warnings
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();

-- Imports of another database's event history (`paas-billing import`, migration 0013): one
-- row per import of a source table into a foundation's table. Where its events go in API order
-- is fixed on its first run; its progress and counts are written with each batch.
CREATE TABLE event_imports (
    import_id bigserial PRIMARY KEY,
    foundation text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('app', 'service')),
    -- The source table is known by the guid of its first event (lowest id), so the same
    -- history reached through another URL, or restored elsewhere, is the same import.
    source_first_guid text NOT NULL,
    -- Where the source was read on the first run: user, host, port, database; no password.
    source_name text NOT NULL,
    source_min_id bigint NOT NULL,
    source_max_id bigint NOT NULL,
    -- The foundation's stored history on the first run (NULLs: the table held none of its
    -- events), and whether a producer numbered its events then (a cursor or a lock held).
    stored_lowest_id bigint,
    stored_highest_id bigint,
    stored_oldest_at timestamptz,
    stored_newest_at timestamptz,
    producer boolean NOT NULL,
    -- Where imported events go: id = source id + before_offset for an event older than the
    -- stored history (every event when there was none), up to before_max_id (NULL: no bound);
    -- id = source id + after_offset for one newer than it (NULL: none goes there).
    before_offset bigint NOT NULL,
    before_max_id bigint,
    after_offset bigint,
    -- Progress: every source row up to this id is accounted for below.
    done_source_id bigint,
    imported bigint NOT NULL DEFAULT 0,
    already_stored bigint NOT NULL DEFAULT 0,
    not_imported bigint NOT NULL DEFAULT 0,
    -- The ids given to imported events.
    lowest_id bigint,
    highest_id bigint,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- When a run last read the source to its end.
    finished_at timestamptz,
    CONSTRAINT event_imports_source_key UNIQUE (foundation, kind, source_first_guid)
);

-- The source rows an import did not store, and why (a reason code and the particulars).
CREATE TABLE event_import_left_out (
    import_id bigint NOT NULL REFERENCES event_imports ON DELETE CASCADE,
    source_id bigint NOT NULL,
    guid text,
    created_at timestamptz,
    reason text NOT NULL,
    detail text
);
CREATE INDEX event_import_left_out_import_idx ON event_import_left_out (import_id, source_id);
