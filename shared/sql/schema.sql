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
CREATE INDEX app_usage_events_process_idx ON app_usage_events (process_guid, foundation, id)
    WHERE process_guid IS NOT NULL;
CREATE INDEX app_usage_events_foundation_created_at_idx
    ON app_usage_events (foundation, created_at);
-- Report indexes, org first, so one-org reports are range scans and every report stream reads
-- its events in order (migrations 0004, 0009).
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
CREATE INDEX service_usage_events_org_instance_idx
    ON service_usage_events (org_guid, service_instance_guid, foundation, id)
    INCLUDE (created_at, state, service_instance_type, service_plan_guid, service_instance_name,
             space_guid, space_name, service_plan_name, service_label);

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
