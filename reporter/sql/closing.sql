-- Closing a month (`paas-billing bills close`): the pricing lock for the whole session, so
-- that the month's snapshot is taken after every pricing apply that came first has committed
-- and none commits until the month is stored.

-- name: lock_pricing
SELECT pg_advisory_lock(%(key)s);

-- name: unlock_pricing
SELECT pg_advisory_unlock(%(key)s);

-- name: begin_close
-- One consistent snapshot for the month's bill and its storing; the report's limits.
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;
SELECT set_config('statement_timeout', %(statement_timeout_ms)s, true),
       set_config('work_mem', %(work_mem)s, true),
       set_config('jit', 'off', true);
