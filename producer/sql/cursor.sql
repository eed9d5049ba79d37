-- The producer's cursors, collection gaps and its per-foundation singleton lock.

-- name: session
-- A cursor save need not wait for its WAL flush: if PostgreSQL itself crashes, the last
-- moments of cursor moves are lost and those events republished (consumers drop repeats).
SET synchronous_commit = off;

-- name: try_lock
SELECT pg_try_advisory_lock(hashtextextended('paas-billing-producer/' || %(foundation)s, 0));

-- name: unlock
SELECT pg_advisory_unlock(hashtextextended('paas-billing-producer/' || %(foundation)s, 0));

-- name: load_cursor
SELECT after_guid, last_created_at, sequence
FROM collector_cursors
WHERE foundation = %(foundation)s AND kind = %(kind)s;

-- name: first_sequence_app
-- A first run's sequence (no cursor saved yet): after the events the table already holds for
-- the foundation (imported with `paas-billing import`, or written by an operator), so that
-- every event the producer numbers comes after them in API order.
SELECT greatest(coalesce(max(id), 0), 0) FROM app_usage_events WHERE foundation = %(foundation)s;

-- name: first_sequence_service
SELECT greatest(coalesce(max(id), 0), 0) FROM service_usage_events
WHERE foundation = %(foundation)s;

-- name: save_cursor
-- Never moves the sequence backwards: a producer that lost its lock cannot undo another's work.
INSERT INTO collector_cursors AS c (foundation, kind, after_guid, last_created_at, sequence)
VALUES (%(foundation)s, %(kind)s, %(after_guid)s, %(last_created_at)s, %(sequence)s)
ON CONFLICT (foundation, kind) DO UPDATE
SET after_guid = EXCLUDED.after_guid,
    last_created_at = EXCLUDED.last_created_at,
    sequence = EXCLUDED.sequence,
    updated_at = now()
WHERE c.sequence <= EXCLUDED.sequence
RETURNING sequence;

-- name: record_gap
INSERT INTO collection_gaps
    (foundation, kind, lost_guid, gap_from, gap_to, resumed_guid, reason)
VALUES
    (%(foundation)s, %(kind)s, %(lost_guid)s, %(gap_from)s, %(gap_to)s, %(resumed_guid)s,
     %(reason)s);
