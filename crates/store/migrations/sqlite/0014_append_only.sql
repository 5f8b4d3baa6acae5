-- Issue 13: more history the database itself keeps (`crates/store/src/guards.rs` lists every
-- guard; `moralbank audit` and the start of `serve` check that each one is there as made here).
--
-- * withdrawals: append-only. Each row is the mark a resident's withdrawal leaves.
-- * access_log: append-only, with one exception: the rows of a resident who withdrew (a row in
--   `withdrawals`, no row in `citizens`) may be deleted, which the withdrawal does in its own
--   transaction after marking itself. No other path can meet that condition without withdrawing
--   the resident, which the audit counts.
-- * ledger_reversal_requests (four eyes): never deleted; a request is decided once, from pending
--   to decided in one UPDATE that changes nothing of the request itself, and never changes again.
CREATE TRIGGER withdrawals_no_update BEFORE UPDATE ON withdrawals
BEGIN SELECT RAISE(ABORT, 'withdrawals is append-only'); END;
CREATE TRIGGER withdrawals_no_delete BEFORE DELETE ON withdrawals
BEGIN SELECT RAISE(ABORT, 'withdrawals is append-only'); END;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
WHEN NOT EXISTS (SELECT 1 FROM withdrawals w WHERE w.citizen_id = OLD.citizen_id)
    OR EXISTS (SELECT 1 FROM citizens c WHERE c.id = OLD.citizen_id)
BEGIN SELECT RAISE(ABORT, 'access_log is append-only: only a resident''s withdrawal deletes their rows'); END;
CREATE TRIGGER ledger_reversal_requests_decide_once BEFORE UPDATE ON ledger_reversal_requests
WHEN OLD.decided_at IS NOT NULL OR NEW.decided_at IS NULL OR NEW.decided_by IS NULL
    OR NEW.decision IS NULL OR NEW.id IS NOT OLD.id OR NEW.entry_idx IS NOT OLD.entry_idx
    OR NEW.reason IS NOT OLD.reason OR NEW.requested_by IS NOT OLD.requested_by
    OR NEW.requested_at IS NOT OLD.requested_at
BEGIN SELECT RAISE(ABORT, 'ledger_reversal_requests is append-only: a request is decided once'); END;
CREATE TRIGGER ledger_reversal_requests_no_delete BEFORE DELETE ON ledger_reversal_requests
BEGIN SELECT RAISE(ABORT, 'ledger_reversal_requests is append-only'); END;

-- The audit requires as many withdrawals as log_head counts; withdrawals made before the count
-- existed (migration 0007) are counted now.
UPDATE log_head SET withdrawals = (SELECT COUNT(*) FROM withdrawals)
WHERE withdrawals < (SELECT COUNT(*) FROM withdrawals);
