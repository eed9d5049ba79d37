-- Named queries of reporter/closed_bills.py: a closed month's stored bill (migration 0010).

-- name: insert_month
INSERT INTO closed_months (month, generated_at, pricing_file_id, currency)
VALUES (%(month)s, %(generated_at)s, %(pricing_file_id)s, %(currency)s)
ON CONFLICT (month) DO NOTHING
RETURNING closed_at;

-- name: insert_lines
INSERT INTO closed_bill_lines (month, org_guid, space_guid, space_name, foundation,
                               resource_type, resource_guid, resource_name, service_plan_guid,
                               plan_name, component, vat_code, ex_vat, vat)
VALUES %s;

-- name: insert_warnings
INSERT INTO closed_bill_warnings (month, position, org_guid, foundation, warning) VALUES %s;

-- name: month
SELECT closed_at, generated_at, currency FROM closed_months WHERE month = %(month)s;

-- name: lines
-- The stored lines a request's filters keep (a NULL filter keeps everything).
SELECT org_guid, space_guid, space_name, foundation, resource_type, resource_guid,
       resource_name, service_plan_guid, plan_name, component, vat_code, ex_vat, vat
FROM closed_bill_lines
WHERE month = %(month)s
  AND (%(org_guids)s::text[] IS NULL OR org_guid = ANY (%(org_guids)s::text[]))
  AND (%(space_guids)s::text[] IS NULL OR space_guid = ANY (%(space_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR foundation = ANY (%(foundations)s::text[]));

-- name: warnings
-- The stored warnings that concern the request: those of every org (or foundation) and
-- those of the orgs (foundations) it asks for.
SELECT warning
FROM closed_bill_warnings
WHERE month = %(month)s
  AND (%(org_guids)s::text[] IS NULL OR org_guid IS NULL
       OR org_guid = ANY (%(org_guids)s::text[]))
  AND (%(foundations)s::text[] IS NULL OR foundation IS NULL
       OR foundation = ANY (%(foundations)s::text[]))
ORDER BY position;
