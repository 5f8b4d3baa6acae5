-- Indexes for the evaluation's lists at city scale (docs/BENCHMARKS.md, "Evaluation"): each
-- answers its query's filter and order, so a page reads only the rows it shows.
-- deeds_board: a village's deeds on publicity by end (SQLite walked every deed on publicity).
-- deeds_due_id replaces deeds_due: credit_due takes the oldest ends first, tie-broken by id.
-- deeds_ledger: the deed behind a ledger entry (it scanned the table).
CREATE INDEX deeds_board ON deeds(village_id, status, publicity_ends_at, id);
CREATE INDEX deeds_due_id ON deeds(status, publicity_ends_at, id);
DROP INDEX deeds_due;
CREATE INDEX deeds_ledger ON deeds(ledger_index);
