-- City statistics (issue 15): the staff dashboard reads roll-ups, never the whole city.
--
-- Every counted event (an enrolment, a withdrawal, a deed reported or moved to a new status, a
-- code scanned, a redemption, a green card issued or revoked) appends one row to stats_deltas,
-- written by a trigger in the same transaction as the event itself, so nothing is counted that
-- did not happen and nothing that happened is missed, whichever code path wrote it. The
-- triggers only append: no two transactions ever wait on the same row. A fold (the server runs
-- it every few seconds, `Store::citydata().fold_statistics()`) moves the deltas into
-- stats_rollup in one transaction: per day and per month, per village and per town.
--
-- Days and months are China Standard Time (UTC+8). A table rebuilt by a later migration must
-- recreate its triggers below.
CREATE TABLE stats_deltas (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    metric TEXT NOT NULL,
    day TEXT NOT NULL,                     -- yyyy-mm-dd, China Standard Time
    village_id TEXT NOT NULL,              -- '' when the person is no longer known
    town_id TEXT NOT NULL,
    key TEXT NOT NULL,                     -- a standard's code, a status, a scene's code, an honour
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL                 -- points, where the event has points
);

CREATE TABLE stats_rollup (
    metric TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('village', 'town')),
    grain TEXT NOT NULL CHECK (grain IN ('day', 'month')),
    bucket TEXT NOT NULL,                  -- yyyy-mm-dd or yyyy-mm
    region_id TEXT NOT NULL,               -- the village or the town ('' when not known)
    town_id TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (metric, level, grain, bucket, region_id, key)
);
CREATE INDEX stats_rollup_region ON stats_rollup(metric, level, grain, region_id, bucket);
CREATE INDEX stats_rollup_town ON stats_rollup(metric, level, grain, town_id, bucket);

CREATE TABLE stats_folds (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    folded_at BIGINT NOT NULL,
    deltas BIGINT NOT NULL
);
INSERT INTO stats_folds (id, folded_at, deltas) VALUES (1, 0, 0);

-- One place that turns an event into a delta: inserting into this view computes the day and
-- the village's town.
CREATE VIEW stats_event AS SELECT metric, 0 AS at, village_id, key, n, amount FROM stats_deltas WHERE 0;
CREATE TRIGGER stats_event_append INSTEAD OF INSERT ON stats_event
BEGIN
    INSERT INTO stats_deltas (metric, day, village_id, town_id, key, n, amount)
    VALUES (NEW.metric, date((NEW.at + 28800000) / 1000, 'unixepoch'), COALESCE(NEW.village_id, ''),
            COALESCE((SELECT parent_id FROM regions WHERE id = NEW.village_id), ''),
            NEW.key, NEW.n, NEW.amount);
END;

CREATE TRIGGER stats_citizen_enrolled AFTER INSERT ON citizens
BEGIN
    INSERT INTO stats_event VALUES ('enrolled', NEW.enrolled_at, NEW.village_id, '', 1, 0);
END;
CREATE TRIGGER stats_citizen_withdrawn AFTER DELETE ON citizens
BEGIN
    INSERT INTO stats_event VALUES ('withdrawn', CAST(strftime('%s', 'now') AS INTEGER) * 1000, OLD.village_id, '', 1, 0);
END;
CREATE TRIGGER stats_deed_reported AFTER INSERT ON deeds
BEGIN
    INSERT INTO stats_event SELECT 'deed_reported', NEW.created_at, NEW.village_id, s.code, 1, 0
        FROM standards s WHERE s.id = NEW.standard_id;
    INSERT INTO stats_event VALUES ('deed_status', NEW.created_at, NEW.village_id, NEW.status, 1, 0);
    INSERT INTO stats_event SELECT 'deed_credited', NEW.created_at, NEW.village_id, s.code, 1, COALESCE(NEW.points, 0)
        FROM standards s WHERE s.id = NEW.standard_id AND NEW.status = 'credited';
END;
CREATE TRIGGER stats_deed_status AFTER UPDATE OF status ON deeds WHEN NEW.status <> OLD.status
BEGIN
    INSERT INTO stats_event VALUES ('deed_status', NEW.updated_at, NEW.village_id, NEW.status, 1, 0);
    INSERT INTO stats_event SELECT 'deed_credited', NEW.updated_at, NEW.village_id, s.code, 1, COALESCE(NEW.points, 0)
        FROM standards s WHERE s.id = NEW.standard_id AND NEW.status = 'credited';
END;
CREATE TRIGGER stats_code_scanned AFTER INSERT ON access_log WHEN NEW.action = 'scan'
BEGIN
    INSERT INTO stats_event VALUES ('scanned', NEW.at, (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), '', 1, 0);
END;
CREATE TRIGGER stats_redemption AFTER INSERT ON redemptions
BEGIN
    INSERT INTO stats_event SELECT CASE WHEN NEW.granted = 1 THEN 'redeemed' ELSE 'refused' END, NEW.at,
        (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), sc.code, 1,
        CASE WHEN NEW.granted = 1 THEN COALESCE(b.points_cost, 0) ELSE 0 END
        FROM benefits b JOIN scenes sc ON sc.id = b.scene_id WHERE b.id = NEW.benefit_id;
END;
CREATE TRIGGER stats_green_card_issued AFTER INSERT ON green_cards
BEGIN
    INSERT INTO stats_event VALUES ('green_card', NEW.issued_at, (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), NEW.honour, 1, 0);
END;
CREATE TRIGGER stats_green_card_revoked AFTER UPDATE OF revoked_at ON green_cards
WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
BEGIN
    INSERT INTO stats_event VALUES ('green_card_revoked', NEW.revoked_at, (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), NEW.honour, 1, 0);
END;

-- What happened before this migration: each deed counted once at its present status (the
-- history of its earlier statuses is not kept in a form worth counting).
INSERT INTO stats_event SELECT 'enrolled', enrolled_at, village_id, '', 1, 0 FROM citizens;
INSERT INTO stats_event SELECT 'deed_reported', d.created_at, d.village_id, s.code, 1, 0
    FROM deeds d JOIN standards s ON s.id = d.standard_id;
INSERT INTO stats_event SELECT 'deed_status', d.updated_at, d.village_id, d.status, 1, 0 FROM deeds d;
INSERT INTO stats_event SELECT 'deed_credited', d.updated_at, d.village_id, s.code, 1, COALESCE(d.points, 0)
    FROM deeds d JOIN standards s ON s.id = d.standard_id WHERE d.status = 'credited';
INSERT INTO stats_event SELECT 'scanned', a.at, c.village_id, '', 1, 0
    FROM access_log a LEFT JOIN citizens c ON c.id = a.citizen_id WHERE a.action = 'scan';
INSERT INTO stats_event SELECT CASE WHEN r.granted = 1 THEN 'redeemed' ELSE 'refused' END, r.at, c.village_id, sc.code, 1,
    CASE WHEN r.granted = 1 THEN COALESCE(b.points_cost, 0) ELSE 0 END
    FROM redemptions r JOIN benefits b ON b.id = r.benefit_id JOIN scenes sc ON sc.id = b.scene_id
    LEFT JOIN citizens c ON c.id = r.citizen_id;
INSERT INTO stats_event SELECT 'green_card', g.issued_at, c.village_id, g.honour, 1, 0
    FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id;
INSERT INTO stats_event SELECT 'green_card_revoked', g.revoked_at, c.village_id, g.honour, 1, 0
    FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id WHERE g.revoked_at IS NOT NULL;
