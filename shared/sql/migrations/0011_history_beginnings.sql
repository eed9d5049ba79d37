-- Where the history begins (issue 15): the oldest event the database holds, per foundation
-- and per table, counting every stored event. Nothing before it is known, so no usage is
-- reported before it. Derived when asked (two index probes per foundation), never stored, so
-- an import of older events or an operator's INSERT moves it back at once.

DROP INDEX app_usage_events_created_at_idx;
CREATE INDEX app_usage_events_foundation_created_at_idx
    ON app_usage_events (foundation, created_at);
CREATE INDEX service_usage_events_foundation_created_at_idx
    ON service_usage_events (foundation, created_at);

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
