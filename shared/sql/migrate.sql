-- name: lock
SELECT pg_advisory_lock(%(key)s);

-- name: unlock
SELECT pg_advisory_unlock(%(key)s);

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: applied_versions
SELECT version FROM schema_migrations;

-- name: record_version
INSERT INTO schema_migrations (version) VALUES (%(version)s);

-- name: migrations_table_exists
-- Whether any migration ever ran here (read-only: creates nothing).
SELECT to_regclass('schema_migrations') IS NOT NULL;
