-- Issue 13: more history the database itself keeps (`crates/store/src/guards.rs` lists every
-- guard; `moralbank audit` and the start of `serve` check that each one is there as made here).
--
-- * TRUNCATE is refused on every append-only table (deed_events and deed_votes had no such
--   trigger; a TRUNCATE fires no row trigger).
-- * withdrawals: append-only. Each row is the mark a resident's withdrawal leaves.
-- * access_log: append-only, with one exception: the rows of a resident who withdrew (a row in
--   `withdrawals`, no row in `citizens`) may be deleted, which the withdrawal does in its own
--   transaction after marking itself. No other path can meet that condition without withdrawing
--   the resident, which the audit counts.
-- * ledger_reversal_requests (four eyes): never deleted; a request is decided once, from pending
--   to decided in one UPDATE that changes nothing of the request itself, and never changes again.
--
-- The guard functions name tables, so their search path is fixed to this schema (pg_temp last):
-- a temporary table called `withdrawals` must not be able to satisfy them.
CREATE TRIGGER deed_events_no_truncate BEFORE TRUNCATE ON deed_events
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER deed_votes_no_truncate BEFORE TRUNCATE ON deed_votes
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();

CREATE TRIGGER withdrawals_append_only BEFORE UPDATE OR DELETE ON withdrawals
    FOR EACH ROW EXECUTE FUNCTION moralbank_append_only();
CREATE TRIGGER withdrawals_no_truncate BEFORE TRUNCATE ON withdrawals
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();

CREATE FUNCTION moralbank_access_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND EXISTS (SELECT 1 FROM withdrawals w WHERE w.citizen_id = OLD.citizen_id)
        AND NOT EXISTS (SELECT 1 FROM citizens c WHERE c.id = OLD.citizen_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'access_log is append-only: only a resident''s withdrawal deletes their rows';
END;
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION moralbank_access_log_guard();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();

CREATE FUNCTION moralbank_reversal_request_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.decided_at IS NULL
        AND NEW.decided_at IS NOT NULL AND NEW.decided_by IS NOT NULL AND NEW.decision IS NOT NULL
        AND NEW.id = OLD.id AND NEW.entry_idx = OLD.entry_idx AND NEW.reason = OLD.reason
        AND NEW.requested_by = OLD.requested_by AND NEW.requested_at = OLD.requested_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger_reversal_requests is append-only: a request is decided once';
END;
$$;
CREATE TRIGGER ledger_reversal_requests_append_only BEFORE UPDATE OR DELETE ON ledger_reversal_requests
    FOR EACH ROW EXECUTE FUNCTION moralbank_reversal_request_guard();
CREATE TRIGGER ledger_reversal_requests_no_truncate BEFORE TRUNCATE ON ledger_reversal_requests
    FOR EACH STATEMENT EXECUTE FUNCTION moralbank_append_only();

DO $do$
BEGIN
    EXECUTE format('ALTER FUNCTION moralbank_access_log_guard() SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION moralbank_reversal_request_guard() SET search_path = %I, pg_temp', current_schema());
END;
$do$;

-- The audit requires as many withdrawals as log_head counts; withdrawals made before the count
-- existed (migration 0007) are counted now.
UPDATE log_head SET withdrawals = (SELECT COUNT(*) FROM withdrawals)
WHERE withdrawals < (SELECT COUNT(*) FROM withdrawals);
