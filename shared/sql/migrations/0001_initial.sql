-- 0001: the event tables, their normalized columns, cursors and gaps.
-- `id` is the producer's per-foundation, per-kind sequence: API order. It is indexed, not
-- unique: guid is the identity, so a resequenced repeat can never block or drop an event.

CREATE TABLE app_usage_events (
    id bigint NOT NULL,
    guid text NOT NULL CONSTRAINT app_usage_events_guid_key UNIQUE
        CONSTRAINT app_usage_events_guid_length CHECK (char_length(guid) = 36),
    created_at timestamptz NOT NULL,
    raw_message jsonb NOT NULL,
    foundation text NOT NULL DEFAULT 'default',
    api_version text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL,
    previous_state text,
    instance_count integer NOT NULL,
    previous_instance_count integer,
    memory_in_mb_per_instance integer NOT NULL,
    previous_memory_in_mb_per_instance integer,
    process_guid text,
    process_type text,
    app_name text,
    parent_app_guid text,
    parent_app_name text,
    space_guid text,
    space_name text,
    org_guid text,
    task_guid text,
    task_name text,
    buildpack_guid text,
    buildpack_name text
);
CREATE INDEX app_usage_events_foundation_id_idx ON app_usage_events (foundation, id);
CREATE INDEX app_usage_events_process_idx ON app_usage_events (process_guid, foundation, id)
    WHERE process_guid IS NOT NULL;
CREATE INDEX app_usage_events_task_idx ON app_usage_events (task_guid, foundation, id)
    WHERE task_guid IS NOT NULL;
CREATE INDEX app_usage_events_staging_idx ON app_usage_events (parent_app_guid, foundation, id)
    WHERE state IN ('STAGING_STARTED', 'STAGING_STOPPED');
CREATE INDEX app_usage_events_org_idx ON app_usage_events (org_guid);
CREATE INDEX app_usage_events_created_at_idx ON app_usage_events (created_at);

CREATE TABLE service_usage_events (
    id bigint NOT NULL,
    guid text NOT NULL CONSTRAINT service_usage_events_guid_key UNIQUE
        CONSTRAINT service_usage_events_guid_length CHECK (char_length(guid) = 36),
    created_at timestamptz NOT NULL,
    raw_message jsonb NOT NULL,
    foundation text NOT NULL DEFAULT 'default',
    api_version text NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL,
    org_guid text,
    space_guid text,
    space_name text,
    service_instance_guid text NOT NULL,
    service_instance_name text,
    service_instance_type text,
    service_plan_guid text,
    service_plan_name text,
    service_guid text,
    service_label text,
    service_broker_guid text,
    service_broker_name text
);
CREATE INDEX service_usage_events_foundation_id_idx ON service_usage_events (foundation, id);
CREATE INDEX service_usage_events_instance_idx
    ON service_usage_events (service_instance_guid, foundation, id);
CREATE INDEX service_usage_events_org_idx ON service_usage_events (org_guid);

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
