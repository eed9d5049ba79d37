-- Report indexes, org first (reporter): each report stream reads one covering index in
-- (org_guid, resource, foundation, id) order, so a one-org report is a range scan over that
-- org's events and an all-orgs report one ordered index-only pass, with no sort. They replace
-- 0003's process index, which nothing reads any more.
CREATE INDEX app_usage_events_org_process_idx
    ON app_usage_events (org_guid, process_guid, foundation, id)
    INCLUDE (created_at, state, previous_state, instance_count, previous_instance_count,
             memory_in_mb_per_instance, previous_memory_in_mb_per_instance, space_guid)
    WHERE process_guid IS NOT NULL;
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
CREATE INDEX service_usage_events_org_instance_idx
    ON service_usage_events (org_guid, service_instance_guid, foundation, id)
    INCLUDE (created_at, state, service_instance_type, service_plan_guid, service_instance_name,
             space_guid, space_name, service_plan_name, service_label);
DROP INDEX app_usage_events_process_report_idx;
