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
    seq BIGSERIAL PRIMARY KEY,
    metric TEXT NOT NULL,
    day TEXT NOT NULL,
    village_id TEXT NOT NULL,
    town_id TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL
);

CREATE TABLE stats_rollup (
    metric TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('village', 'town')),
    grain TEXT NOT NULL CHECK (grain IN ('day', 'month')),
    bucket TEXT NOT NULL,
    region_id TEXT NOT NULL,
    town_id TEXT NOT NULL,
    key TEXT NOT NULL,
    n BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (metric, level, grain, bucket, region_id, key)
);
CREATE INDEX stats_rollup_region ON stats_rollup(metric, level, grain, region_id, bucket);
CREATE INDEX stats_rollup_town ON stats_rollup(metric, level, grain, town_id, bucket);

CREATE TABLE stats_folds (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    folded_at BIGINT NOT NULL,
    deltas BIGINT NOT NULL
);
INSERT INTO stats_folds (id, folded_at, deltas) VALUES (1, 0, 0);

-- One place that turns an event into a delta: the day and the village's town.
CREATE FUNCTION moralbank_stats_event(p_metric TEXT, p_at BIGINT, p_village TEXT, p_key TEXT, p_n BIGINT, p_amount BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_deltas (metric, day, village_id, town_id, key, n, amount)
    VALUES (p_metric, to_char(to_timestamp((p_at + 28800000) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            COALESCE(p_village, ''),
            COALESCE((SELECT parent_id FROM regions WHERE id = p_village), ''),
            p_key, p_n, p_amount);
END $$;

CREATE FUNCTION moralbank_stats_citizens() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM moralbank_stats_event('enrolled', NEW.enrolled_at, NEW.village_id, '', 1, 0);
    ELSE
        PERFORM moralbank_stats_event('withdrawn', (extract(epoch FROM now()) * 1000)::BIGINT, OLD.village_id, '', 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_citizens AFTER INSERT OR DELETE ON citizens
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_citizens();

CREATE FUNCTION moralbank_stats_deeds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at BIGINT := CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE NEW.updated_at END;
    code TEXT := (SELECT s.code FROM standards s WHERE s.id = NEW.standard_id);
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM moralbank_stats_event('deed_reported', at, NEW.village_id, code, 1, 0);
    END IF;
    PERFORM moralbank_stats_event('deed_status', at, NEW.village_id, NEW.status, 1, 0);
    IF NEW.status = 'credited' THEN
        PERFORM moralbank_stats_event('deed_credited', at, NEW.village_id, code, 1, COALESCE(NEW.points, 0));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_deeds AFTER INSERT OR UPDATE OF status ON deeds
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_deeds();

-- Every read of a resident's record writes an access row: only scans call the function.
CREATE FUNCTION moralbank_stats_scans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM moralbank_stats_event('scanned', NEW.at,
        (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), '', 1, 0);
    RETURN NULL;
END $$;
CREATE TRIGGER stats_scans AFTER INSERT ON access_log
    FOR EACH ROW WHEN (NEW.action = 'scan') EXECUTE FUNCTION moralbank_stats_scans();

CREATE FUNCTION moralbank_stats_redemptions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM moralbank_stats_event(CASE WHEN NEW.granted = 1 THEN 'redeemed' ELSE 'refused' END, NEW.at,
        (SELECT village_id FROM citizens WHERE id = NEW.citizen_id), sc.code, 1,
        CASE WHEN NEW.granted = 1 THEN COALESCE(b.points_cost, 0) ELSE 0 END)
        FROM benefits b JOIN scenes sc ON sc.id = b.scene_id WHERE b.id = NEW.benefit_id;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_redemptions AFTER INSERT ON redemptions
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_redemptions();

CREATE FUNCTION moralbank_stats_green_cards() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    village TEXT := (SELECT village_id FROM citizens WHERE id = NEW.citizen_id);
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM moralbank_stats_event('green_card', NEW.issued_at, village, NEW.honour, 1, 0);
    ELSIF OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL THEN
        PERFORM moralbank_stats_event('green_card_revoked', NEW.revoked_at, village, NEW.honour, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_green_cards AFTER INSERT OR UPDATE OF revoked_at ON green_cards
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_green_cards();

-- What happened before this migration: each deed counted once at its present status.
SELECT moralbank_stats_event('enrolled', enrolled_at, village_id, '', 1, 0) FROM citizens;
SELECT moralbank_stats_event('deed_reported', d.created_at, d.village_id, s.code, 1, 0)
    FROM deeds d JOIN standards s ON s.id = d.standard_id;
SELECT moralbank_stats_event('deed_status', d.updated_at, d.village_id, d.status, 1, 0) FROM deeds d;
SELECT moralbank_stats_event('deed_credited', d.updated_at, d.village_id, s.code, 1, COALESCE(d.points, 0))
    FROM deeds d JOIN standards s ON s.id = d.standard_id WHERE d.status = 'credited';
SELECT moralbank_stats_event('scanned', a.at, c.village_id, '', 1, 0)
    FROM access_log a LEFT JOIN citizens c ON c.id = a.citizen_id WHERE a.action = 'scan';
SELECT moralbank_stats_event(CASE WHEN r.granted = 1 THEN 'redeemed' ELSE 'refused' END, r.at, c.village_id, sc.code, 1,
    CASE WHEN r.granted = 1 THEN COALESCE(b.points_cost, 0) ELSE 0 END)
    FROM redemptions r JOIN benefits b ON b.id = r.benefit_id JOIN scenes sc ON sc.id = b.scene_id
    LEFT JOIN citizens c ON c.id = r.citizen_id;
SELECT moralbank_stats_event('green_card', g.issued_at, c.village_id, g.honour, 1, 0)
    FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id;
SELECT moralbank_stats_event('green_card_revoked', g.revoked_at, c.village_id, g.honour, 1, 0)
    FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id WHERE g.revoked_at IS NOT NULL;
