-- The deeds' statistics trigger writes its deltas in one statement instead of calling
-- moralbank_stats_event two or three times: the same rows, fewer PL/pgSQL calls a deed (the
-- SQLite migration of the same number does the same for its triggers).
CREATE OR REPLACE FUNCTION moralbank_stats_deeds() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at BIGINT := CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE NEW.updated_at END;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status = OLD.status THEN
        RETURN NULL;
    END IF;
    INSERT INTO stats_deltas (metric, day, village_id, town_id, key, n, amount)
    SELECT e.metric, to_char(to_timestamp((at + 28800000) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
           COALESCE(NEW.village_id, ''),
           COALESCE((SELECT parent_id FROM regions WHERE id = NEW.village_id), ''), e.key, 1, e.amount
    FROM (SELECT 'deed_reported' AS metric, s.code AS key, 0::BIGINT AS amount
              FROM standards s WHERE TG_OP = 'INSERT' AND s.id = NEW.standard_id
          UNION ALL SELECT 'deed_status', NEW.status, 0
          UNION ALL SELECT 'deed_credited', s.code, COALESCE(NEW.points, 0)::BIGINT
              FROM standards s WHERE NEW.status = 'credited' AND s.id = NEW.standard_id) e;
    RETURN NULL;
END $$;
