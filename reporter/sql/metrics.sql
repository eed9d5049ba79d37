-- name: collection_gaps_by_source
-- How many collection gaps each foundation and kind has recorded, and the latest detection.
SELECT foundation, kind, count(*), extract(epoch FROM max(detected_at))
FROM collection_gaps
GROUP BY foundation, kind;

-- name: set_timeout
SELECT set_config('statement_timeout', %(ms)s::text, true);
