-- fintech-reconciliation database schema.
--
-- Idempotent: safe to apply any number of times (`recon db init` does). Runs unchanged on
-- PostgreSQL 14+ and on embedded PostgreSQL (PGlite). Objects are created in the current schema
-- (search_path), so a deployment may keep them in a schema of its own (DB_SCHEMA).
--
-- Money: every amount is stored twice, exactly: `*_minor` bigint integer minor units, and a
-- readable numeric in major units computed from it with the currency's ISO 4217 exponent.

-- ---------------------------------------------------------------------------------------------
-- Runs: one row per reconciliation of one processor for one business date.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS reconciliation_runs (
    id                              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_date                        date NOT NULL,
    processor_name                  text NOT NULL CHECK (processor_name ~ '^[a-z][a-z0-9_]*$'),
    status                          text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'completed', 'failed', 'superseded', 'abandoned')),
    start_time                      timestamptz NOT NULL DEFAULT now(),
    end_time                        timestamptz,
    processor_source                text,
    internal_source                 text,
    processor_transaction_count     integer CHECK (processor_transaction_count >= 0),
    internal_transaction_count      integer CHECK (internal_transaction_count >= 0),
    matched_count                   integer CHECK (matched_count >= 0),
    missing_transaction_count       integer CHECK (missing_transaction_count >= 0),
    missing_in_processor_count      integer CHECK (missing_in_processor_count >= 0),
    amount_mismatch_count           integer CHECK (amount_mismatch_count >= 0),
    currency_mismatch_count         integer CHECK (currency_mismatch_count >= 0),
    status_mismatch_count           integer CHECK (status_mismatch_count >= 0),
    duplicate_count                 integer CHECK (duplicate_count >= 0),
    discrepancy_count               integer CHECK (discrepancy_count >= 0),
    invalid_row_count               integer CHECK (invalid_row_count >= 0),
    -- NULL when the discrepancies span several currencies: see discrepancy_amounts.
    total_discrepancy_amount        numeric,
    total_discrepancy_currency      char(3),
    discrepancy_amounts             jsonb NOT NULL DEFAULT '{}'::jsonb,
    processor_volume                jsonb NOT NULL DEFAULT '{}'::jsonb,
    internal_volume                 jsonb NOT NULL DEFAULT '{}'::jsonb,
    discrepancy_rate                numeric(9, 6) CHECK (discrepancy_rate BETWEEN 0 AND 1),
    risk_level                      text CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH')),
    compliance_status               text
        CHECK (compliance_status IN ('COMPLIANT', 'REVIEW_REQUIRED', 'NON_COMPLIANT')),
    report_csv_path                 text,
    report_json_path                text,
    -- Where the reports are: 'local' disk only, or also 's3'.
    storage                         text NOT NULL DEFAULT 'local',
    superseded_by                   uuid REFERENCES reconciliation_runs (id),
    currency_table_version          text,
    app_version                     text,
    error_message                   text,
    CHECK (end_time IS NULL OR end_time >= start_time),
    CHECK (status <> 'failed' OR error_message IS NOT NULL)
);

-- At most one completed and one running run per business date and processor.
CREATE UNIQUE INDEX IF NOT EXISTS ux_runs_one_completed
    ON reconciliation_runs (run_date, processor_name) WHERE status = 'completed';
CREATE UNIQUE INDEX IF NOT EXISTS ux_runs_one_running
    ON reconciliation_runs (run_date, processor_name) WHERE status = 'running';
-- A completed run's results are final (schema 4): once `completed`, a run may only become
-- `superseded` (by a rerun); `superseded`, `failed` and `abandoned` are final. Its identity and
-- results never change; only the status columns (`status`, `superseded_by`), `storage`,
-- `error_message` and the report paths may. Applies to every role (the owner can disable the
-- trigger; `recon db verify-audit` then still sees the change against the run's audit entry).
CREATE OR REPLACE FUNCTION reject_final_run_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'running' THEN
        RETURN NEW;
    END IF;
    IF NOT (OLD.status = NEW.status OR (OLD.status = 'completed' AND NEW.status = 'superseded')) THEN
        RAISE EXCEPTION 'permission denied: run % is %, it cannot become %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF ROW(NEW.id, NEW.run_date, NEW.processor_name, NEW.start_time, NEW.end_time,
           NEW.processor_source, NEW.internal_source,
           NEW.processor_transaction_count, NEW.internal_transaction_count, NEW.matched_count,
           NEW.missing_transaction_count, NEW.missing_in_processor_count,
           NEW.amount_mismatch_count, NEW.currency_mismatch_count, NEW.status_mismatch_count,
           NEW.duplicate_count, NEW.discrepancy_count, NEW.invalid_row_count,
           NEW.total_discrepancy_amount, NEW.total_discrepancy_currency, NEW.discrepancy_amounts,
           NEW.processor_volume, NEW.internal_volume, NEW.discrepancy_rate, NEW.risk_level,
           NEW.compliance_status, NEW.currency_table_version, NEW.app_version)
       IS DISTINCT FROM
       ROW(OLD.id, OLD.run_date, OLD.processor_name, OLD.start_time, OLD.end_time,
           OLD.processor_source, OLD.internal_source,
           OLD.processor_transaction_count, OLD.internal_transaction_count, OLD.matched_count,
           OLD.missing_transaction_count, OLD.missing_in_processor_count,
           OLD.amount_mismatch_count, OLD.currency_mismatch_count, OLD.status_mismatch_count,
           OLD.duplicate_count, OLD.discrepancy_count, OLD.invalid_row_count,
           OLD.total_discrepancy_amount, OLD.total_discrepancy_currency, OLD.discrepancy_amounts,
           OLD.processor_volume, OLD.internal_volume, OLD.discrepancy_rate, OLD.risk_level,
           OLD.compliance_status, OLD.currency_table_version, OLD.app_version) THEN
        RAISE EXCEPTION 'permission denied: the results of % run % are final', OLD.status, OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER reconciliation_runs_results_final
    BEFORE UPDATE ON reconciliation_runs
    FOR EACH ROW EXECUTE FUNCTION reject_final_run_change();

CREATE INDEX IF NOT EXISTS ix_runs_start_time ON reconciliation_runs (start_time DESC);
CREATE INDEX IF NOT EXISTS ix_runs_date_processor
    ON reconciliation_runs (run_date DESC, processor_name);

-- ---------------------------------------------------------------------------------------------
-- Discrepancies (breaks) of a run, all kinds in one table. Written with COPY.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS discrepancies (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id                  uuid NOT NULL REFERENCES reconciliation_runs (id),
    kind                    text NOT NULL CHECK (kind IN ('missing_in_internal', 'missing_in_processor',
                                'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'duplicate')),
    side                    text NOT NULL CHECK (side IN ('processor', 'internal', 'both')),
    transaction_id          text NOT NULL,
    -- The amount at stake on the side that has the row (processor side first).
    amount_minor            bigint NOT NULL,
    amount                  numeric NOT NULL,
    currency                char(3) NOT NULL,
    merchant_id             text,
    created_at              timestamptz,
    processor_amount_minor  bigint,
    processor_amount        numeric,
    processor_currency      char(3),
    processor_status        text,
    processor_line          integer,
    internal_amount_minor   bigint,
    internal_amount         numeric,
    internal_currency       char(3),
    internal_status         text,
    internal_line           integer,
    -- processor minus internal, amount_mismatch only, in `currency`.
    difference_minor        bigint,
    difference              numeric,
    description             text,
    CHECK ((kind = 'amount_mismatch') = (difference_minor IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS ix_discrepancies_run_kind ON discrepancies (run_id, kind);
CREATE INDEX IF NOT EXISTS ix_discrepancies_transaction ON discrepancies (transaction_id);

-- The product's original "missing transactions" (processor has them, ledger does not).
CREATE OR REPLACE VIEW missing_transactions AS
SELECT d.id, d.run_id, d.transaction_id, d.amount, d.amount_minor, d.currency, d.merchant_id,
       d.created_at, d.processor_status AS status, d.description
FROM discrepancies d
WHERE d.kind = 'missing_in_internal';

-- ---------------------------------------------------------------------------------------------
-- Data-quality findings: invalid rows (file, line, field, reason) and per-source metrics.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS data_quality_checks (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id      uuid NOT NULL REFERENCES reconciliation_runs (id),
    side        text NOT NULL CHECK (side IN ('processor', 'internal')),
    source      text NOT NULL,
    check_name  text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    line        integer CHECK (line >= 1),
    field       text,
    reason      text NOT NULL,
    value       text,
    count       integer,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ix_data_quality_run ON data_quality_checks (run_id, severity);

-- ---------------------------------------------------------------------------------------------
-- Audit log: append-only. UPDATE, DELETE and TRUNCATE are rejected by triggers.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS audit_log (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    run_id       uuid REFERENCES reconciliation_runs (id),
    event        text NOT NULL,
    actor        text NOT NULL DEFAULT current_user,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS ix_audit_log_run ON audit_log (run_id, occurred_at);

-- Tamper evidence: every entry carries a sequence number, the previous entry's hash and its own
-- SHA-256 over (previous hash | canonical content), computed under a transaction-scoped advisory
-- lock so entries chain in commit order. `recon db verify-audit` recomputes the chain.
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS seq bigint;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS prev_hash text;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS entry_hash text;
CREATE UNIQUE INDEX IF NOT EXISTS ux_audit_log_seq ON audit_log (seq);

CREATE OR REPLACE FUNCTION audit_log_canonical(
    p_seq bigint, p_occurred_at timestamptz, p_run_id uuid, p_event text, p_actor text, p_details jsonb
) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws('|', p_seq::text,
                     to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                     coalesce(p_run_id::text, ''), p_event, p_actor, p_details::text)
$$;

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash text;
BEGIN
    -- One chain per schema: deployments sharing a database in separate schemas do not wait on
    -- each other's audit entries (the key of `public` is the one of earlier versions).
    PERFORM pg_advisory_xact_lock(hashtextextended(
        CASE WHEN current_schema() = 'public' THEN 'recon-audit-chain'
             ELSE 'recon-audit-chain/' || current_schema() END, 0));
    SELECT a.seq, a.entry_hash INTO last_seq, last_hash
      FROM audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.entry_hash := encode(sha256(convert_to(NEW.prev_hash || '|' || audit_log_canonical(
        NEW.seq, NEW.occurred_at, NEW.run_id, NEW.event, NEW.actor, NEW.details), 'UTF8')), 'hex');
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER audit_log_chain
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

CREATE OR REPLACE FUNCTION reject_audit_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE OR REPLACE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION reject_audit_log_change();
CREATE OR REPLACE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reject_audit_log_change();

-- ---------------------------------------------------------------------------------------------
-- Breaks across days (schema 5): a break is a discrepancy that lives across business dates, with
-- a lifecycle (pending → open → resolved | written_off, reopened by hand). Identity: (processor,
-- transaction_id, identity_scope) where the scope is the side for a one-sided break and 'both'
-- for a two-sided one; at most one break per identity is pending or open (ux_breaks_one_active).
-- Each side's row data is kept so that a later run can match a carried one-sided break and so
-- that reports can show it. `origin_kind`/`origin_scope`: what the break was when it opened (a
-- rerun restores them when it no longer reclassifies it). Updated only by the run's final
-- transaction and by `recon breaks resolve|reopen`; every change is a `break_events` row.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS breaks (
    id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    processor                   text NOT NULL,
    transaction_id              text NOT NULL,
    identity_scope              text NOT NULL CHECK (identity_scope IN ('processor', 'internal', 'both')),
    origin_scope                text NOT NULL CHECK (origin_scope IN ('processor', 'internal', 'both')),
    kind                        text NOT NULL CHECK (kind IN ('missing_in_internal', 'missing_in_processor',
                                    'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'duplicate')),
    origin_kind                 text NOT NULL CHECK (origin_kind IN ('missing_in_internal', 'missing_in_processor',
                                    'amount_mismatch', 'currency_mismatch', 'status_mismatch', 'duplicate')),
    side                        text NOT NULL CHECK (side IN ('processor', 'internal', 'both')),
    status                      text NOT NULL CHECK (status IN ('pending', 'open', 'resolved', 'written_off')),
    origin_date                 date NOT NULL,
    -- The amount at stake on the side that has the row (processor side first), as in discrepancies.
    currency                    char(3) NOT NULL,
    amount_minor                bigint NOT NULL,
    amount                      numeric NOT NULL,
    processor_amount_minor      bigint,
    processor_currency          char(3),
    processor_status            text,
    processor_canonical_status  text,
    processor_created_at        timestamptz,
    processor_merchant_id       text,
    processor_description       text,
    processor_line              integer,
    internal_amount_minor       bigint,
    internal_currency           char(3),
    internal_status             text,
    internal_canonical_status   text,
    internal_created_at         timestamptz,
    internal_merchant_id        text,
    internal_description        text,
    internal_line               integer,
    first_seen_run_id           uuid NOT NULL REFERENCES reconciliation_runs (id),
    last_seen_run_id            uuid NOT NULL REFERENCES reconciliation_runs (id),
    reclassified_run_id         uuid REFERENCES reconciliation_runs (id),
    resolved_run_id             uuid REFERENCES reconciliation_runs (id),
    resolution                  text CHECK (resolution IN ('late_arrival', 'manual', 'written_off', 'not_seen_on_rerun')),
    lag_days                    integer CHECK (lag_days >= 0),
    resolved_by                 text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    resolved_at                 timestamptz,
    CHECK ((status IN ('resolved', 'written_off')) = (resolution IS NOT NULL)),
    CHECK (status <> 'written_off' OR resolution = 'written_off'),
    CHECK ((identity_scope = 'both') = (side = 'both' OR kind NOT IN ('missing_in_internal', 'missing_in_processor')))
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_breaks_one_active
    ON breaks (processor, transaction_id, identity_scope) WHERE status IN ('pending', 'open');
CREATE INDEX IF NOT EXISTS ix_breaks_processor_status ON breaks (processor, status, origin_date);
CREATE INDEX IF NOT EXISTS ix_breaks_last_seen ON breaks (last_seen_run_id);
CREATE INDEX IF NOT EXISTS ix_breaks_resolved_run ON breaks (resolved_run_id);
CREATE INDEX IF NOT EXISTS ix_breaks_reclassified_run ON breaks (reclassified_run_id);

-- Append-only history of every break: UPDATE, DELETE and TRUNCATE are rejected by triggers.
CREATE TABLE IF NOT EXISTS break_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    break_id     uuid NOT NULL REFERENCES breaks (id),
    run_id       uuid REFERENCES reconciliation_runs (id),
    event        text NOT NULL CHECK (event IN ('opened', 'seen', 'reclassified', 'resolved',
                     'written_off', 'reopened', 'commented')),
    actor        text NOT NULL,
    reason       text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS ix_break_events_break ON break_events (break_id, occurred_at);
CREATE INDEX IF NOT EXISTS ix_break_events_run ON break_events (run_id);

CREATE OR REPLACE FUNCTION reject_break_events_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'break_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE OR REPLACE TRIGGER break_events_no_update_delete
    BEFORE UPDATE OR DELETE ON break_events
    FOR EACH ROW EXECUTE FUNCTION reject_break_events_change();
CREATE OR REPLACE TRIGGER break_events_no_truncate
    BEFORE TRUNCATE ON break_events
    FOR EACH STATEMENT EXECUTE FUNCTION reject_break_events_change();

-- What each run saw stays in discrepancies; the break it belongs to (NULL before schema 5).
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS break_id uuid REFERENCES breaks (id);
CREATE INDEX IF NOT EXISTS ix_discrepancies_break ON discrepancies (break_id);

-- Business-day cut-offs (schema 6, issue #13): the business date of each row of a discrepancy
-- under its side's cut-off (RECON_CUTOFF_<PROCESSOR> for the processor row, RECON_CUTOFF_LEDGER
-- for the ledger row), computed from its timestamp. NULL when that side has no row, and for
-- discrepancies stored before schema 6.
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS processor_business_date date;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS internal_business_date date;

-- ---------------------------------------------------------------------------------------------
-- Schema 6 (issue #14 "Fees"): the discrepancy kind `fee_mismatch` (same amount, both sides carry
-- a fee and the fees differ; `difference_minor` = processor fee minus ledger fee) in
-- discrepancies and breaks, and its count on the run row. The kind lists below must equal
-- `DISCREPANCY_KINDS` (src/domain/discrepancy.ts). Each CHECK is replaced only while it lacks the
-- new kind, so applying this again does not re-validate big tables.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS fee_mismatch_count integer
    CHECK (fee_mismatch_count >= 0);
-- The kind CHECKs are replaced, together with those of the matching rules, in the block below.
-- End of schema 6 (fees).

-- ---------------------------------------------------------------------------------------------
-- Matching rules (schema 6, issue #14): the rules file's canonical content and SHA-256 on the run
-- row (also in its audit entry); the tiers' outcome kinds `matched_with_variance` (a pair inside a
-- tolerance, difference recorded) and `ambiguous` (a row with several candidates, one row per
-- discrepancy, candidates listed) in the kind CHECKs of discrepancies and breaks; the tier that
-- paired or found the rows, the ledger row's own id (tiers pair different ids), the candidates
-- and the canonical `reference` of each side. Idempotent: each CHECK is dropped and re-added.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS rules_sha256 text;
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS rules_content text;
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS matched_with_variance_count integer;
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS ambiguous_count integer;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS tier text;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS internal_transaction_id text;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS candidates jsonb;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS processor_reference text;
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS internal_reference text;
-- The discrepancy's annotation (issue #14 "Fees"): `basis_mismatch_suspected` on an amount_mismatch
-- whose difference equals the processor's fee; NULL when not annotated (and before this column).
ALTER TABLE discrepancies ADD COLUMN IF NOT EXISTS annotation text;
-- The kind CHECKs of discrepancies and breaks, and the difference CHECK, for every kind of
-- `DISCREPANCY_KINDS` (src/domain/discrepancy.ts: the lists below must equal it), including
-- `fee_mismatch` (fees, above) and the tiers' kinds. Replaced only while they lack a kind, so
-- applying this again does not re-validate big tables.
DO $kinds$
DECLARE
    c record;
    kinds constant text := $k$('missing_in_internal', 'missing_in_processor', 'amount_mismatch', 'currency_mismatch',
        'status_mismatch', 'duplicate', 'fee_mismatch', 'matched_with_variance', 'ambiguous')$k$;
BEGIN
    -- This schema's tables only (other schemas of the database may have their own). Their
    -- constraints are picked first (a MATERIALIZED CTE): pg_get_constraintdef on a constraint of
    -- another schema's table that a concurrent session drops fails with "could not open relation".
    IF (WITH mine AS MATERIALIZED (
            SELECT oid, conname FROM pg_constraint
             WHERE contype = 'c'
               AND conrelid IN (to_regclass('discrepancies'), to_regclass('breaks')))
        SELECT count(*) FROM mine
         WHERE conname IN ('discrepancies_kind_check', 'discrepancies_difference_check',
                           'breaks_kind_check', 'breaks_origin_kind_check')
           AND pg_get_constraintdef(oid) LIKE '%fee_mismatch%'
           AND pg_get_constraintdef(oid) LIKE '%matched_with_variance%') = 4 THEN
        RETURN;
    END IF;
    -- The CHECKs of earlier schemas on kind and on difference_minor, whatever their generated names.
    FOR c IN
        WITH mine AS MATERIALIZED (
            SELECT oid, conrelid, conname FROM pg_constraint
             WHERE contype = 'c'
               AND conrelid IN (to_regclass('discrepancies'), to_regclass('breaks')))
        SELECT conrelid::regclass::text AS tab, conname
          FROM mine
         WHERE pg_get_constraintdef(oid) LIKE '%''duplicate''%'
            OR pg_get_constraintdef(oid) LIKE '%difference_minor IS NOT NULL%'
    LOOP
        EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', c.tab, c.conname);
    END LOOP;
    EXECUTE 'ALTER TABLE discrepancies ADD CONSTRAINT discrepancies_kind_check CHECK (kind IN ' || kinds || ')';
    EXECUTE $d$ALTER TABLE discrepancies ADD CONSTRAINT discrepancies_difference_check
        CHECK ((kind IN ('amount_mismatch', 'fee_mismatch', 'matched_with_variance'))
               = (difference_minor IS NOT NULL))$d$;
    EXECUTE 'ALTER TABLE breaks ADD CONSTRAINT breaks_kind_check CHECK (kind IN ' || kinds || ')';
    EXECUTE 'ALTER TABLE breaks ADD CONSTRAINT breaks_origin_kind_check CHECK (origin_kind IN ' || kinds || ')';
END;
$kinds$;

-- ---------------------------------------------------------------------------------------------
-- Deliveries of a run's results: report uploads to S3 and e-mails. One row per attempt; a
-- failed delivery never changes the run's status (the results are already committed).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id          uuid NOT NULL REFERENCES reconciliation_runs (id),
    channel         text NOT NULL,
    status          text NOT NULL CHECK (status IN ('sent', 'failed', 'skipped')),
    -- s3: the object key; email: the recipients.
    target          text NOT NULL,
    -- s3: presigned GET URL of the object and when it stops working.
    url             text,
    url_expires_at  timestamptz,
    error_message   text,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'failed' OR error_message IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ix_deliveries_run ON deliveries (run_id, channel, attempted_at DESC);

-- Delivery channels (schema 6, issue #17): Slack, webhooks and a message broker (AMQP) join the
-- S3 upload and the e-mail. The channel CHECK is (re)created by name, so that `recon db init`
-- upgrades a database of an older schema (whose inline CHECK allowed only 's3' and 'email') and
-- applying this file again changes nothing. Keep the list equal to CHANNEL_NAMES
-- (src/delivery/channel.ts).
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('s3', 'email', 'slack', 'webhook', 'amqp'));

-- ---------------------------------------------------------------------------------------------
-- Payouts and bank statements (schema 7, issue #15). Written by the run's one final transaction
-- (both engines), keyed by (run_id, seq): a rerun is a new run with rows of its own, the old
-- run's rows stay with the superseded run. Money twice, as everywhere: `*_minor` bigint and the
-- major-unit numeric computed from it with the currency's ISO 4217 exponent.
-- The kind and status lists must equal SETTLEMENT_GROUP_KINDS, SETTLEMENT_GROUP_STATUSES
-- (src/engine/settlement-groups.ts) and PayoutBankStatus (src/engine/bank-matching.ts).
-- ---------------------------------------------------------------------------------------------
-- The lines of the bank statements a run read (every entry, credits and debits, in file order).
CREATE TABLE IF NOT EXISTS bank_entries (
    run_id              uuid NOT NULL REFERENCES reconciliation_runs (id),
    seq                 integer NOT NULL CHECK (seq >= 1),
    statement_id        text NOT NULL,
    account             text NOT NULL,
    direction           text NOT NULL CHECK (direction IN ('credit', 'debit')),
    amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
    amount              numeric NOT NULL,
    currency            char(3) NOT NULL,
    booking_date        date,
    value_date          date,
    bank_reference      text,
    customer_reference  text,
    remittance_text     text,
    reversal            boolean NOT NULL DEFAULT false,
    type_code           text,
    booked              boolean NOT NULL DEFAULT true,
    line                integer CHECK (line >= 1),
    xml_path            text,
    -- The reference shown for the entry (`bank_entry` of the run --json contract).
    reference           text NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- One row per settlement group (payout, Adyen batch) of a run, with its waterfall and bank leg.
CREATE TABLE IF NOT EXISTS settlement_groups (
    run_id                      uuid NOT NULL REFERENCES reconciliation_runs (id),
    seq                         integer NOT NULL CHECK (seq >= 1),
    processor                   text NOT NULL,
    parent_id                   text NOT NULL,
    kind                        text NOT NULL CHECK (kind IN
        ('stripe_payout', 'adyen_batch', 'square_payout', 'paypal_payout', 'ledger_split')),
    currency                    char(3) NOT NULL,
    -- NULL for parent_missing (no parent fetched).
    parent_amount_minor         bigint,
    parent_amount               numeric,
    children_sum_minor          bigint NOT NULL,
    children_sum                numeric NOT NULL,
    -- children_sum − parent_amount; NULL for parent_missing and unattributable.
    difference_minor            bigint,
    difference                  numeric,
    child_count                 integer NOT NULL CHECK (child_count >= 0),
    status                      text NOT NULL CHECK (status IN
        ('group_matched', 'group_sum_mismatch', 'group_incomplete', 'parent_missing', 'unattributable')),
    -- The payout's arrival or expected date (NULL: due now / no parent).
    due_date                    date,
    -- Payout waterfall, signed minor units of `currency`.
    charges_minor               bigint NOT NULL,
    fees_minor                  bigint NOT NULL,
    refunds_minor               bigint NOT NULL,
    disputes_minor              bigint NOT NULL,
    adjustments_minor           bigint NOT NULL,
    payout_minor                bigint NOT NULL,
    unexplained_residual_minor  bigint NOT NULL,
    -- Bank leg: NULL when the run read no bank statement, or the group is not a payout.
    bank_status                 text CHECK (bank_status IN ('payout_matched', 'payout_missing_in_bank',
        'payout_amount_mismatch', 'payout_ambiguous', 'payout_pending')),
    bank_matched_by             text CHECK (bank_matched_by IN ('reference', 'amount_date')),
    -- bank amount − payout amount (payout_matched: 0, payout_amount_mismatch: the difference).
    bank_difference_minor       bigint,
    bank_entry_seq              integer,
    bank_entry_ref              text,
    PRIMARY KEY (run_id, seq),
    FOREIGN KEY (run_id, bank_entry_seq) REFERENCES bank_entries (run_id, seq),
    CHECK (status IN ('parent_missing') OR parent_amount_minor IS NOT NULL),
    CHECK (status IN ('parent_missing', 'unattributable') OR difference_minor IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ix_settlement_groups_parent ON settlement_groups (parent_id, processor);

-- The children of each group (balance transactions, batch rows, payout entries), in input order.
CREATE TABLE IF NOT EXISTS settlement_group_members (
    run_id      uuid NOT NULL,
    group_seq   integer NOT NULL,
    seq         integer NOT NULL CHECK (seq >= 1),
    child_id    text NOT NULL,
    category    text NOT NULL CHECK (category IN ('charge', 'refund', 'dispute', 'fee', 'adjustment')),
    currency    char(3) NOT NULL,
    gross_minor bigint NOT NULL,
    gross       numeric NOT NULL,
    net_minor   bigint NOT NULL,
    net         numeric NOT NULL,
    PRIMARY KEY (run_id, group_seq, seq),
    FOREIGN KEY (run_id, group_seq) REFERENCES settlement_groups (run_id, seq)
);

-- Bank statement findings are data-quality findings of the run on side 'bank' (schema 7). The
-- side CHECK is replaced only while it lacks 'bank', so applying this again re-validates nothing.
DO $side$
BEGIN
    -- This table's constraint picked first (see the kinds' block above).
    IF EXISTS (WITH mine AS MATERIALIZED (
                   SELECT oid FROM pg_constraint
                    WHERE contype = 'c' AND conrelid = to_regclass('data_quality_checks')
                      AND conname = 'data_quality_checks_side_check')
               SELECT 1 FROM mine WHERE pg_get_constraintdef(oid) LIKE '%''bank''%') THEN
        RETURN;
    END IF;
    ALTER TABLE data_quality_checks DROP CONSTRAINT IF EXISTS data_quality_checks_side_check;
    ALTER TABLE data_quality_checks ADD CONSTRAINT data_quality_checks_side_check
        CHECK (side IN ('processor', 'internal', 'bank'));
END;
$side$;
-- End of schema 7 (payouts and bank statements).

-- ---------------------------------------------------------------------------------------------
-- Settlement breaks across days (schema 8, issue #15): the group and bank outcomes of the
-- settlement leg take part in the break lifecycle of `breaks` (pending → open → resolved |
-- written_off, reopened by hand), carried until matched and aged. Identity (`identity`, a JSON
-- array, src/engine/settlement-breaks.ts): ["group", processor, parent id, currency] for a group
-- outcome, ["payout", processor, payout id, currency] for a payout's bank outcome,
-- ["bank_credit", account, entry key, value date, amount minor, currency] for a statement credit
-- no payout matched (processor-agnostic: a run of any processor that matches the entry resolves
-- it; `processor` is the processor of the run that last saw it). At most one break per identity
-- is pending or open (ux_settlement_breaks_one_active). Updated only by the run's final
-- transaction and by `recon payouts resolve|reopen`; every change is a settlement_break_events row.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS settlement_breaks (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    identity            text NOT NULL,
    subject             text NOT NULL CHECK (subject IN ('group', 'payout', 'bank_credit')),
    processor           text NOT NULL,
    -- The parent (payout) id, or the statement entry's key for a bank credit.
    subject_id          text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('group_sum_mismatch', 'group_incomplete',
        'parent_missing', 'payout_missing_in_bank', 'payout_pending', 'payout_amount_mismatch',
        'payout_ambiguous', 'bank_credit_unmatched')),
    origin_kind         text NOT NULL CHECK (origin_kind IN ('group_sum_mismatch', 'group_incomplete',
        'parent_missing', 'payout_missing_in_bank', 'payout_pending', 'payout_amount_mismatch',
        'payout_ambiguous', 'bank_credit_unmatched')),
    status              text NOT NULL CHECK (status IN ('pending', 'open', 'resolved', 'written_off')),
    origin_date         date NOT NULL,
    -- The payout (parent) amount, the children sum of a parent_missing group, or the credit.
    currency            char(3) NOT NULL,
    amount_minor        bigint NOT NULL,
    amount              numeric NOT NULL,
    -- Group: children_sum − parent_amount; payout: bank amount − payout amount; else NULL.
    difference_minor    bigint,
    difference          numeric,
    -- Payouts and groups: the arrival or expected date (the bank window is counted from it).
    expected_date       date,
    -- Bank credits: the statement entry (every field of it in bank_entry, amounts as strings).
    account             text,
    value_date          date,
    entry_reference     text,
    bank_entry          jsonb,
    first_seen_run_id   uuid NOT NULL REFERENCES reconciliation_runs (id),
    last_seen_run_id    uuid NOT NULL REFERENCES reconciliation_runs (id),
    resolved_run_id     uuid REFERENCES reconciliation_runs (id),
    resolution          text CHECK (resolution IN ('matched', 'manual', 'written_off', 'not_seen_on_rerun')),
    resolution_reason   text,
    lag_days            integer CHECK (lag_days >= 0),
    resolved_by         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    resolved_at         timestamptz,
    CHECK ((status IN ('resolved', 'written_off')) = (resolution IS NOT NULL)),
    CHECK (status <> 'written_off' OR resolution = 'written_off'),
    CHECK ((subject = 'bank_credit') = (kind = 'bank_credit_unmatched'))
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_settlement_breaks_one_active
    ON settlement_breaks (identity) WHERE status IN ('pending', 'open');
CREATE INDEX IF NOT EXISTS ix_settlement_breaks_identity ON settlement_breaks (identity, origin_date);
CREATE INDEX IF NOT EXISTS ix_settlement_breaks_processor_status
    ON settlement_breaks (processor, status, origin_date);
CREATE INDEX IF NOT EXISTS ix_settlement_breaks_last_seen ON settlement_breaks (last_seen_run_id);
CREATE INDEX IF NOT EXISTS ix_settlement_breaks_resolved_run ON settlement_breaks (resolved_run_id);

-- Append-only history of every settlement break: UPDATE, DELETE and TRUNCATE are rejected.
CREATE TABLE IF NOT EXISTS settlement_break_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    break_id     uuid NOT NULL REFERENCES settlement_breaks (id),
    run_id       uuid REFERENCES reconciliation_runs (id),
    event        text NOT NULL CHECK (event IN ('opened', 'seen', 'reclassified', 'resolved',
                     'written_off', 'reopened', 'commented')),
    actor        text NOT NULL,
    reason       text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS ix_settlement_break_events_break
    ON settlement_break_events (break_id, occurred_at);
CREATE INDEX IF NOT EXISTS ix_settlement_break_events_run ON settlement_break_events (run_id);

CREATE OR REPLACE FUNCTION reject_settlement_break_events_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'settlement_break_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE OR REPLACE TRIGGER settlement_break_events_no_update_delete
    BEFORE UPDATE OR DELETE ON settlement_break_events
    FOR EACH ROW EXECUTE FUNCTION reject_settlement_break_events_change();
CREATE OR REPLACE TRIGGER settlement_break_events_no_truncate
    BEFORE TRUNCATE ON settlement_break_events
    FOR EACH STATEMENT EXECUTE FUNCTION reject_settlement_break_events_change();
-- A credit no payout matched opens a break only when no other run read the same entry before.
CREATE INDEX IF NOT EXISTS ix_bank_entries_reference ON bank_entries (reference, amount_minor);
-- End of schema 8 (settlement breaks).

-- ---------------------------------------------------------------------------------------------
-- Health checks and configuration.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS system_health (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    checked_at  timestamptz NOT NULL DEFAULT now(),
    component   text NOT NULL,
    status      text NOT NULL CHECK (status IN ('up', 'down', 'degraded', 'skipped')),
    latency_ms  integer CHECK (latency_ms >= 0),
    details     jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS ix_system_health_component ON system_health (component, checked_at DESC);

CREATE TABLE IF NOT EXISTS system_configuration (
    key          text PRIMARY KEY,
    value        text NOT NULL,
    description  text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO system_configuration (key, value, description) VALUES
    ('schema_version', '8', 'Version of setup.sql applied to this database'),
    ('high_value_threshold', '1000',
     'Major-unit amount from which a missing transaction is listed in v_high_value_missing_transactions (per currency, never converted)')
ON CONFLICT (key) DO NOTHING;
UPDATE system_configuration SET value = '8', updated_at = now()
    WHERE key = 'schema_version' AND value <> '8';

-- ---------------------------------------------------------------------------------------------
-- Views.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW v_recent_reconciliations AS
SELECT r.id AS run_id, r.run_date, r.processor_name, r.status, r.start_time, r.end_time,
       EXTRACT(EPOCH FROM (r.end_time - r.start_time))::numeric(12, 3) AS duration_seconds,
       r.processor_transaction_count, r.internal_transaction_count, r.matched_count,
       r.missing_transaction_count, r.discrepancy_count, r.total_discrepancy_amount,
       r.discrepancy_amounts, r.discrepancy_rate, r.risk_level, r.compliance_status,
       r.error_message
FROM reconciliation_runs r
WHERE r.start_time >= now() - interval '30 days'
ORDER BY r.start_time DESC;

CREATE OR REPLACE VIEW v_high_value_missing_transactions AS
SELECT m.run_id, r.run_date, r.processor_name, m.transaction_id, m.amount, m.currency,
       m.merchant_id, m.created_at
FROM missing_transactions m
JOIN reconciliation_runs r ON r.id = m.run_id AND r.status = 'completed'
WHERE abs(m.amount) >= COALESCE(
    (SELECT value::numeric FROM system_configuration WHERE key = 'high_value_threshold'), 1000)
ORDER BY abs(m.amount) DESC;

CREATE OR REPLACE VIEW v_daily_reconciliation_metrics AS
SELECT r.run_date,
       count(*) AS processors_reconciled,
       sum(r.processor_transaction_count) AS processor_transactions,
       sum(r.internal_transaction_count) AS internal_transactions,
       sum(r.matched_count) AS matched,
       sum(r.discrepancy_count) AS discrepancies,
       sum(r.missing_transaction_count) AS missing_in_internal,
       sum(r.invalid_row_count) AS invalid_rows,
       CASE WHEN sum(r.matched_count + r.discrepancy_count) > 0
            THEN round(sum(r.discrepancy_count)::numeric / sum(r.matched_count + r.discrepancy_count), 6)
       END AS discrepancy_rate,
       max(CASE r.risk_level WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 END) AS max_risk_rank
FROM reconciliation_runs r
WHERE r.status = 'completed'
GROUP BY r.run_date
ORDER BY r.run_date DESC;

-- Open (and pending) breaks with their age: the latest business date completed for the processor
-- minus the origin date, in calendar days (0 on the day a break opened), and its age bucket.
CREATE OR REPLACE VIEW v_open_breaks AS
SELECT b.id AS break_id, b.processor, b.transaction_id, b.kind, b.side, b.status, b.origin_date,
       a.age_days,
       CASE WHEN a.age_days <= 1 THEN '0-1' WHEN a.age_days <= 3 THEN '2-3'
            WHEN a.age_days <= 7 THEN '4-7' WHEN a.age_days <= 30 THEN '8-30' ELSE '31+' END AS age_bucket,
       b.amount, b.amount_minor, b.currency, b.first_seen_run_id, b.last_seen_run_id
FROM breaks b
CROSS JOIN LATERAL (
    SELECT greatest(0, coalesce(
        (SELECT max(r.run_date) FROM reconciliation_runs r
          WHERE r.processor_name = b.processor AND r.status = 'completed'), b.origin_date)
        - b.origin_date) AS age_days
) a
WHERE b.status IN ('open', 'pending');

-- Counts and amounts of open breaks per processor, age bucket and currency (never converted).
CREATE OR REPLACE VIEW v_break_ageing AS
SELECT o.processor, o.age_bucket, o.currency, count(*) AS breaks,
       sum(o.amount_minor) AS amount_minor, sum(o.amount) AS amount
FROM v_open_breaks o
WHERE o.status = 'open'
GROUP BY o.processor, o.age_bucket, o.currency;
