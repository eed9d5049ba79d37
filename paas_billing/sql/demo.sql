-- name: stored_counts
SELECT (SELECT count(*) FROM app_usage_events) AS app,
       (SELECT count(*) FROM service_usage_events) AS service;
