-- Moral Bank on PostgreSQL: the runtime role's privileges (docs/operations.md explains them).
-- Run as the migration owner (the role that ran `moralbank migrate` and owns the tables,
-- functions and triggers), connected to the application's database, after every
-- `moralbank migrate`: it is idempotent. Replace `moralbank` (the database) and
-- `moralbank_runtime` (the role `moralbank serve --no-migrate` connects as) if yours differ.
-- The runtime role itself is created once, beforehand, by an administrator:
--   CREATE ROLE moralbank_runtime LOGIN PASSWORD '…'
--       NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

-- Only the owner creates objects in the schema, and nobody makes temporary tables (which could
-- shadow a table a guard reads).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE TEMPORARY ON DATABASE moralbank FROM PUBLIC;

GRANT CONNECT ON DATABASE moralbank TO moralbank_runtime;
GRANT USAGE ON SCHEMA public TO moralbank_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO moralbank_runtime;
-- Serial columns (the statistics' deltas) draw from their sequences.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO moralbank_runtime;

-- What the append-only triggers refuse, refused by privilege as well.
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, ledger_postings, log_hashes, log_checkpoints,
    deed_events, deed_votes, withdrawals FROM moralbank_runtime;
REVOKE UPDATE, TRUNCATE ON access_log FROM moralbank_runtime;
REVOKE DELETE, TRUNCATE ON ledger_reversal_requests FROM moralbank_runtime;
-- The schema's version is the owner's to change.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM moralbank_runtime;
