-- Report indexes (reporter): a covering index in the order the process arithmetic reads
-- events, so the window functions stream from an index-only scan without sorting.
CREATE INDEX app_usage_events_process_report_idx
    ON app_usage_events (process_guid, foundation, id)
    INCLUDE (created_at, state, previous_state, instance_count, previous_instance_count,
             memory_in_mb_per_instance, previous_memory_in_mb_per_instance)
    WHERE process_guid IS NOT NULL;
