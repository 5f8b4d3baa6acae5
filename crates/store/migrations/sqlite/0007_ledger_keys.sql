-- Fewer B-trees per append (issue 3). Every change keeps what some query or integrity rule
-- needs; what no query reads is gone:
--
-- * ledger_entries: `idx INTEGER PRIMARY KEY` makes the leaf index the rowid, so the table is
--   its own index on idx (a `BIGINT PRIMARY KEY` is a separate unique index beside a rowid
--   table). The UNIQUE on `id` and the index on `at_ms` are dropped: no query looks an entry
--   up by its id (a UUIDv7 the writer makes and commits into the leaf) or by its time. The
--   UNIQUE on `reverses` becomes partial (WHERE reverses IS NOT NULL): still one reversal per
--   award and still the index `reversed_by` looks up, without a NULL key per award.
-- * ledger_postings: WITHOUT ROWID on (entry_idx, n), so the primary key is the table. The
--   index on (account, entry_idx) keeps only system accounts (a citizen's postings are found
--   through ledger_postings_citizen; nothing reads them by account).
--
-- SQLite cannot change a primary key in place: the two tables, and ledger_reversal_requests
-- whose foreign key names ledger_entries, are rebuilt and copied. The new tables name
-- ledger_entries_new in their foreign keys, which the final RENAME rewrites to ledger_entries;
-- the old tables are dropped children first, so no foreign key is ever violated.
CREATE TABLE ledger_entries_new (
    idx INTEGER PRIMARY KEY,             -- the entry's leaf index in the log (the rowid)
    id TEXT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    request_hash BLOB NOT NULL,          -- SHA-256 of the request, to tell a retry from a conflict
    kind TEXT NOT NULL CHECK (kind IN ('award', 'redemption', 'reversal')),
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    approvers TEXT NOT NULL,             -- space-separated principal ids
    reverses BIGINT REFERENCES ledger_entries_new(idx),
    at_ms BIGINT NOT NULL,
    leaf BLOB NOT NULL                   -- the canonical leaf (moralbank-entry/v1)
);
INSERT INTO ledger_entries_new (idx, id, idem_key, request_hash, kind, rule, reason, reference,
    approvers, reverses, at_ms, leaf)
SELECT idx, id, idem_key, request_hash, kind, rule, reason, reference, approvers, reverses,
    at_ms, leaf
FROM ledger_entries ORDER BY idx;

CREATE TABLE ledger_postings_new (
    entry_idx BIGINT NOT NULL REFERENCES ledger_entries_new(idx),
    n BIGINT NOT NULL,
    account TEXT NOT NULL,               -- 'citizen:<id>' or a system account name
    citizen_id TEXT,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_idx, n)
) WITHOUT ROWID;
INSERT INTO ledger_postings_new (entry_idx, n, account, citizen_id, amount)
SELECT entry_idx, n, account, citizen_id, amount FROM ledger_postings ORDER BY entry_idx, n;

CREATE TABLE ledger_reversal_requests_new (
    id TEXT PRIMARY KEY,
    entry_idx BIGINT NOT NULL REFERENCES ledger_entries_new(idx),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    decision TEXT CHECK (decision IN ('approved', 'declined')),
    reversal_idx BIGINT
);
INSERT INTO ledger_reversal_requests_new (id, entry_idx, reason, requested_by, requested_at,
    decided_by, decided_at, decision, reversal_idx)
SELECT id, entry_idx, reason, requested_by, requested_at, decided_by, decided_at, decision,
    reversal_idx
FROM ledger_reversal_requests;

DROP TABLE ledger_reversal_requests;
DROP TABLE ledger_postings;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
ALTER TABLE ledger_postings_new RENAME TO ledger_postings;
ALTER TABLE ledger_reversal_requests_new RENAME TO ledger_reversal_requests;

CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries(reverses) WHERE reverses IS NOT NULL;
CREATE INDEX ledger_postings_citizen ON ledger_postings(citizen_id, entry_idx) WHERE citizen_id IS NOT NULL;
CREATE INDEX ledger_postings_account ON ledger_postings(account, entry_idx) WHERE citizen_id IS NULL;
CREATE INDEX ledger_reversal_requests_open ON ledger_reversal_requests(decided_at, requested_at);
CREATE UNIQUE INDEX ledger_reversal_requests_pending ON ledger_reversal_requests(entry_idx) WHERE decided_at IS NULL;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;
CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger_postings is append-only'); END;

-- Withdrawals so far: each withdrawal adds one in its own transaction (it deletes a citizen and
-- the salt of their account), so the ledger's writer can tell whether the citizens and
-- accounts it keeps in memory between batches are still true.
ALTER TABLE log_head ADD COLUMN withdrawals BIGINT NOT NULL DEFAULT 0;
