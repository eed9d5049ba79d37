-- Repeated purge-and-reseed rows (issue 5). A reseed row's guid is a process or service
-- instance guid, so a second purge re-emits a guid already stored, with a new created_at.
-- The consumer stores such a row under a derived guid,
-- md5(<API guid> || '@' || <created_at in UTC, YYYY-MM-DDTHH24:MI:SS.USZ>)::uuid, and keeps
-- the guid the API gave in api_guid. NULL api_guid: guid is the API's own.
ALTER TABLE app_usage_events ADD COLUMN api_guid text;
ALTER TABLE service_usage_events ADD COLUMN api_guid text;
