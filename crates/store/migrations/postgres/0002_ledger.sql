-- Ledger and transparency log. Entries, postings, stored hashes and checkpoints are
-- append-only: triggers refuse every UPDATE and DELETE, so that not even a bug or a hand-typed
-- statement can rewrite history. Accounts (balances), credit buckets and the log head are
-- derived state kept in the same transaction as the entries; `moralbank audit` recomputes them.
CREATE TABLE ledger_entries (
    idx BIGINT PRIMARY KEY,              -- the entry's leaf index in the log
    id TEXT NOT NULL UNIQUE,
    idem_key TEXT NOT NULL UNIQUE,
    request_hash BYTEA NOT NULL,          -- SHA-256 of the request, to tell a retry from a conflict
    kind TEXT NOT NULL CHECK (kind IN ('award', 'redemption', 'reversal')),
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    approvers TEXT NOT NULL,             -- space-separated principal ids
    reverses BIGINT UNIQUE REFERENCES ledger_entries(idx),
    at_ms BIGINT NOT NULL,
    leaf BYTEA NOT NULL                   -- the canonical leaf (moralbank-entry/v1)
);
CREATE INDEX ledger_entries_at ON ledger_entries(at_ms);

CREATE TABLE ledger_postings (
    entry_idx BIGINT NOT NULL REFERENCES ledger_entries(idx),
    n BIGINT NOT NULL,
    account TEXT NOT NULL,               -- 'citizen:<id>' or a system account name
    citizen_id TEXT,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_idx, n)
);
CREATE INDEX ledger_postings_citizen ON ledger_postings(citizen_id, entry_idx) WHERE citizen_id IS NOT NULL;
CREATE INDEX ledger_postings_account ON ledger_postings(account, entry_idx);

CREATE TABLE ledger_accounts (
    account TEXT PRIMARY KEY,
    citizen_id TEXT UNIQUE,
    salt BYTEA,                           -- opens the citizen's commitments; deleted on withdrawal
    balance BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (citizen_id IS NULL OR balance >= 0)
);

-- Points earned per citizen per calendar month (UTC+8), for "credit points: earned in the last
-- 36 months". A reversal subtracts from the month of the award it undoes.
CREATE TABLE ledger_credit (
    citizen_id TEXT NOT NULL,
    month BIGINT NOT NULL,               -- yyyymm
    points BIGINT NOT NULL,
    PRIMARY KEY (citizen_id, month)
);

CREATE TABLE log_hashes (
    id BIGINT PRIMARY KEY,                -- Go tlog stored-hash index
    hash BYTEA NOT NULL
);

-- One per committed batch; after a key rotation the server also signs the current size with
-- the new key, so a size may have one checkpoint per signing key.
CREATE TABLE log_checkpoints (
    size BIGINT NOT NULL,
    signer TEXT NOT NULL,                -- the signing key's id (hex)
    root BYTEA NOT NULL,
    note TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (size, signer)
);

CREATE TABLE log_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    batches BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO log_head (id, size, root, batches, updated_at)
VALUES (1, 0, '\xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'::bytea, 0, 0);

-- Four eyes for the only correction there is: one staff member asks, another approves.
CREATE TABLE ledger_reversal_requests (
    id TEXT PRIMARY KEY,
    entry_idx BIGINT NOT NULL REFERENCES ledger_entries(idx),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    decision TEXT CHECK (decision IN ('approved', 'declined')),
    reversal_idx BIGINT
);
CREATE INDEX ledger_reversal_requests_open ON ledger_reversal_requests(decided_at, requested_at);
CREATE UNIQUE INDEX ledger_reversal_requests_pending ON ledger_reversal_requests(entry_idx) WHERE decided_at IS NULL;

CREATE FUNCTION moralbank_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER ledger_postings_no_truncate BEFORE TRUNCATE ON ledger_postings
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE OR DELETE ON log_hashes
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER log_hashes_no_truncate BEFORE TRUNCATE ON log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER log_checkpoints_no_truncate BEFORE TRUNCATE ON log_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();
