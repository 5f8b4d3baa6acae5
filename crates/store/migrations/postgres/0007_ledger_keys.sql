-- Fewer index insertions per append (issue 3); what no query reads is gone. The SQLite
-- migration of the same number also makes idx the rowid and the postings table its own key;
-- PostgreSQL's tables are heaps beside their indexes either way, so only the indexes change:
--
-- * ledger_entries: the UNIQUE on `id` and the index on `at_ms` are dropped (no query looks an
--   entry up by its id, a UUIDv7 the writer makes and commits into the leaf, or by its time);
--   the UNIQUE on `reverses` becomes partial (still one reversal per award and the index
--   `reversed_by` looks up, without a NULL key per award).
-- * ledger_postings: the index on (account, entry_idx) keeps only system accounts (a citizen's
--   postings are found through ledger_postings_citizen; nothing reads them by account).
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_id_key;
DROP INDEX ledger_entries_at;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_reverses_key;
CREATE UNIQUE INDEX ledger_entries_reverses ON ledger_entries(reverses) WHERE reverses IS NOT NULL;
DROP INDEX ledger_postings_account;
CREATE INDEX ledger_postings_account ON ledger_postings(account, entry_idx) WHERE citizen_id IS NULL;

-- Withdrawals so far: each withdrawal adds one in its own transaction (it deletes a citizen and
-- the salt of their account), so the ledger's writer can tell whether the citizens and
-- accounts it keeps in memory between batches are still true.
ALTER TABLE log_head ADD COLUMN withdrawals BIGINT NOT NULL DEFAULT 0;
