-- Partial indexes for the evaluation's live lists (docs/BENCHMARKS.md, "Evaluation"): they hold
-- only the deeds a list can show (~140,000 at city scale, not 2.1 M), so a status change of a
-- finished deed touches none of them and each list reads a small, dense index.
-- deeds_board_live: a village's board in order; it also holds every column the board shows
--   (status included, so SQLite sees it as covering), so a page reads no table row of deeds.
-- deeds_due_live: the credit run's oldest ends first, tie-broken by id.
-- deeds_queue_live, deeds_appeals_live: the committee's and the town's queues in order.
-- citizens_masked: the board's masked names without reading the (wide) citizens rows.
-- They replace deeds_board, deeds_due_id and deeds_queue: each had status in its key, so the
-- credit's UPDATE (… WHERE status = 'publicity' AND id IN (…)) walked every deed on publicity
-- through deeds_due_id instead of looking its ids up.
CREATE INDEX deeds_board_live ON deeds(village_id, publicity_ends_at, id, status, citizen_id,
    standard_id, points, deed_date, place, description) WHERE status = 'publicity';
CREATE INDEX deeds_due_live ON deeds(publicity_ends_at, id) WHERE status = 'publicity';
CREATE INDEX deeds_queue_live ON deeds(village_id, created_at, id) WHERE status IN ('review', 'paused');
CREATE INDEX deeds_appeals_live ON deeds(village_id, updated_at, id) WHERE status = 'appealed';
CREATE INDEX citizens_masked ON citizens(id, name_masked);
DROP INDEX deeds_board;
DROP INDEX deeds_due_id;
DROP INDEX deeds_queue;
