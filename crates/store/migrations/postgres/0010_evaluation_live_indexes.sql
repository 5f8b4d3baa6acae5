-- Partial indexes for the evaluation's live lists (docs/BENCHMARKS.md, "Evaluation"): they hold
-- only the deeds a list can show (~140,000 at city scale, not 2.1 M), so a status change of a
-- finished deed touches none of them and each list reads a small, dense index.
-- deeds_board_live: a village's board in order. (SQLite's copy also holds the shown columns;
--   here a description of 1,000 characters could exceed a B-tree entry's ~2.7 kB limit.)
-- deeds_due_live: the credit run's oldest ends first, tie-broken by id.
-- deeds_queue_live, deeds_appeals_live: the committee's and the town's queues in order.
-- They replace deeds_board, deeds_due_id and deeds_queue, which had status in their key.
CREATE INDEX deeds_board_live ON deeds(village_id, publicity_ends_at, id) WHERE status = 'publicity';
CREATE INDEX deeds_due_live ON deeds(publicity_ends_at, id) WHERE status = 'publicity';
CREATE INDEX deeds_queue_live ON deeds(village_id, created_at, id) WHERE status IN ('review', 'paused');
CREATE INDEX deeds_appeals_live ON deeds(village_id, updated_at, id) WHERE status = 'appealed';
DROP INDEX deeds_board;
DROP INDEX deeds_due_id;
DROP INDEX deeds_queue;
