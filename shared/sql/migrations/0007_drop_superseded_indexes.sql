-- Indexes no query needs any more (ingestion cost, issue 3). Every write of an event
-- maintained them. 0004's org-first covering indexes serve the task, staging and service
-- streams, and process_spans the process stream. After the report benchmark these had no
-- scans; in EXPLAIN of the usage queries only the space-filtered task path chose one
-- (task_idx), and it takes as long without it. Kept: guid (identity), (foundation, id) (API
-- order), process (the span triggers and the name probes), created_at.
DROP INDEX IF EXISTS app_usage_events_org_idx;
DROP INDEX IF EXISTS app_usage_events_task_idx;
DROP INDEX IF EXISTS app_usage_events_staging_idx;
DROP INDEX IF EXISTS service_usage_events_org_idx;
DROP INDEX IF EXISTS service_usage_events_instance_idx;
