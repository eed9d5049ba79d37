-- Named queries of shared/pricing_store.py (migration 0010).

-- name: lock
-- Held by `pricing apply` and `bills close` until commit: a price never changes while a month
-- is being closed, and two applies never interleave.
SELECT pg_advisory_xact_lock(%(key)s);

-- name: in_force
SELECT f.id, f.sha256, f.file_name, f.applied_at, f.applied_by, i.currency, i.since
FROM pricing_in_force i
JOIN pricing_files f ON f.id = i.file_id;

-- name: rates
SELECT kind, code, valid_from, rate
FROM pricing_rates
ORDER BY kind, code, valid_from;

-- name: plan_versions
SELECT id, resource_type, service_plan_guid, name, valid_from, memory_in_mb, storage_in_mb,
       number_of_nodes
FROM pricing_plan_versions
ORDER BY resource_type, coalesce(service_plan_guid, ''), valid_from;

-- name: components
SELECT plan_version_id, name, currency, vat_code, formula
FROM pricing_components
ORDER BY plan_version_id, position;

-- name: closed_months
SELECT month, closed_at FROM closed_months ORDER BY month;

-- name: insert_file
INSERT INTO pricing_files (file_name, sha256, content, pricing)
VALUES (%(file_name)s, %(sha256)s, %(content)s, %(pricing)s)
RETURNING id, applied_at;

-- name: clear_in_force
DELETE FROM pricing_components;
DELETE FROM pricing_plan_versions;
DELETE FROM pricing_rates;

-- name: insert_rates
INSERT INTO pricing_rates (kind, code, valid_from, rate) VALUES %s;

-- name: insert_plan_version
INSERT INTO pricing_plan_versions (resource_type, service_plan_guid, name, valid_from,
                                   memory_in_mb, storage_in_mb, number_of_nodes)
VALUES (%(resource_type)s, %(service_plan_guid)s, %(name)s, %(valid_from)s,
        %(memory_in_mb)s, %(storage_in_mb)s, %(number_of_nodes)s)
RETURNING id;

-- name: insert_components
INSERT INTO pricing_components (plan_version_id, position, name, currency, vat_code, formula)
VALUES %s;

-- name: set_in_force
INSERT INTO pricing_in_force (file_id, currency, since)
VALUES (%(file_id)s, %(currency)s, now())
ON CONFLICT (singleton) DO UPDATE
SET file_id = excluded.file_id, currency = excluded.currency, since = excluded.since;
