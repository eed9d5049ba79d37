-- Imports of another database's event history (`paas-billing import`, issue 15): one row per
-- import of a source table into a foundation's table. Where its events go in API order is
-- fixed on its first run, so that a rerun continues with the same numbering and the same
-- classification; its progress and counts are written in the same transaction as each batch.
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
