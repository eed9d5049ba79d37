-- One event per sequence number (issue 21): (foundation, id) is unique in each table. Two
-- guids under one id would leave their API order undecided; the consumer now keeps the first
-- and sets the second aside as a dead letter, naming both. A database that already holds
-- such pairs cannot be upgraded silently: the migration stops and says which.
DO $$
DECLARE
    app_pairs bigint;
    service_pairs bigint;
BEGIN
    SELECT count(*) INTO app_pairs FROM (
        SELECT 1 FROM app_usage_events GROUP BY foundation, id HAVING count(*) > 1) d;
    SELECT count(*) INTO service_pairs FROM (
        SELECT 1 FROM service_usage_events GROUP BY foundation, id HAVING count(*) > 1) d;
    IF app_pairs + service_pairs > 0 THEN
        RAISE EXCEPTION 'events share a sequence number: % (foundation, id) pairs in '
            'app_usage_events, % in service_usage_events', app_pairs, service_pairs
            USING HINT = 'List them with SELECT foundation, id, array_agg(guid) FROM '
                         'app_usage_events GROUP BY 1, 2 HAVING count(*) > 1 (and likewise '
                         'for service_usage_events), decide which is in API order, and give '
                         'the other a free id; then run paas-billing migrate again.';
    END IF;
END;
$$;

DROP INDEX app_usage_events_foundation_id_idx;
ALTER TABLE app_usage_events
    ADD CONSTRAINT app_usage_events_foundation_id_key UNIQUE (foundation, id);
DROP INDEX service_usage_events_foundation_id_idx;
ALTER TABLE service_usage_events
    ADD CONSTRAINT service_usage_events_foundation_id_key UNIQUE (foundation, id);
