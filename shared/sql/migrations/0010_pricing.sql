-- Pricing and closed months (CONTRACT "Prices and bills", issue 14).

-- Every pricing file ever applied, as given: when, by which database role, its SHA-256, its
-- text, and the pricing it held (normalised: UTC times, numbers as strings). Only added to.
CREATE TABLE pricing_files (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user,
    file_name text NOT NULL,
    sha256 text NOT NULL CONSTRAINT pricing_files_sha256_hex
        CHECK (char_length(sha256) = 64 AND sha256 ~ '^[0-9a-f]+$'),
    content text NOT NULL,
    pricing jsonb NOT NULL
);

-- What is in force: the pricing of one applied file (one row), every version past and
-- future, in the three tables below. Each apply replaces all four as a whole.
CREATE TABLE pricing_in_force (
    singleton boolean PRIMARY KEY DEFAULT true
        CONSTRAINT pricing_in_force_one_row CHECK (singleton),
    file_id bigint NOT NULL REFERENCES pricing_files (id),
    currency text NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
);

-- Dated rates: what one unit of a currency is worth in the billing currency (`currency`), or
-- the fraction of ex-VAT added as VAT (`vat`); each holds until the same code's next.
CREATE TABLE pricing_rates (
    kind text NOT NULL CONSTRAINT pricing_rates_kind CHECK (kind IN ('currency', 'vat')),
    code text NOT NULL,
    valid_from timestamptz NOT NULL,
    rate numeric NOT NULL CONSTRAINT pricing_rates_not_negative CHECK (rate >= 0),
    PRIMARY KEY (kind, code, valid_from)
);

-- Plan versions: a plan is a resource type, or a service plan; each version holds from its
-- valid_from until the same plan's next. The three numbers are a service plan's variables.
CREATE TABLE pricing_plan_versions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_type text NOT NULL CONSTRAINT pricing_plan_versions_resource_type
        CHECK (resource_type IN ('app', 'task', 'staging', 'service')),
    service_plan_guid text,
    name text NOT NULL,
    valid_from timestamptz NOT NULL,
    memory_in_mb numeric NOT NULL,
    storage_in_mb numeric NOT NULL,
    number_of_nodes numeric NOT NULL,
    CONSTRAINT pricing_plan_versions_service_plan
        CHECK ((resource_type = 'service') = (service_plan_guid IS NOT NULL))
);
CREATE UNIQUE INDEX pricing_plan_versions_key_idx
    ON pricing_plan_versions (resource_type, coalesce(service_plan_guid, ''), valid_from);

-- The components of a plan version, in the file's order.
CREATE TABLE pricing_components (
    plan_version_id bigint NOT NULL REFERENCES pricing_plan_versions (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    currency text NOT NULL,
    vat_code text NOT NULL,
    formula text NOT NULL,
    PRIMARY KEY (plan_version_id, position),
    CONSTRAINT pricing_components_name_key UNIQUE (plan_version_id, name)
);

-- Months whose bills are closed (`bills close YYYY-MM`, UTC calendar months): a bill request
-- for exactly such a month is answered from what was stored. `generated_at` is the bill's
-- "now" when it was computed; `pricing_file_id` the pricing then in force (NULL: none).
CREATE TABLE closed_months (
    month date PRIMARY KEY CONSTRAINT closed_months_first_day CHECK (extract(day FROM month) = 1),
    closed_at timestamptz NOT NULL DEFAULT now(),
    generated_at timestamptz NOT NULL,
    pricing_file_id bigint REFERENCES pricing_files (id),
    currency text NOT NULL
);

-- Every line of a closed month's bill, unrounded, with what a request filters on (org,
-- space, foundation): org figures and totals are recomputed from the lines a request keeps.
CREATE TABLE closed_bill_lines (
    month date NOT NULL REFERENCES closed_months (month),
    org_guid text,
    space_guid text,
    space_name text,
    foundation text NOT NULL,
    resource_type text NOT NULL,
    resource_guid text NOT NULL,
    resource_name text,
    service_plan_guid text,
    plan_name text NOT NULL,
    component text NOT NULL,
    vat_code text NOT NULL,
    ex_vat numeric NOT NULL,
    vat numeric NOT NULL
);
CREATE INDEX closed_bill_lines_month_org_idx ON closed_bill_lines (month, org_guid);

-- The warnings of a closed month's bill, in order; `org_guid` and `foundation` say whom one
-- concerns (NULL: every org, every foundation), so that a filtered request keeps its own.
CREATE TABLE closed_bill_warnings (
    month date NOT NULL REFERENCES closed_months (month),
    position integer NOT NULL,
    org_guid text,
    foundation text,
    warning jsonb NOT NULL,
    PRIMARY KEY (month, position)
);

-- A closed month's bill is what was invoiced: nothing updates or deletes it. (To reopen a
-- month, an operator disables these triggers on purpose; docs/pricing.md.)
CREATE FUNCTION closed_bills_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: a closed month''s bill never changes', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER closed_months_unchanged BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_months
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();
CREATE TRIGGER closed_bill_lines_unchanged
    BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_bill_lines
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();
CREATE TRIGGER closed_bill_warnings_unchanged
    BEFORE UPDATE OR DELETE OR TRUNCATE ON closed_bill_warnings
    FOR EACH STATEMENT EXECUTE FUNCTION closed_bills_refuse_change();
