-- Evaluation (公民道德评议): the versioned catalogue of point standards, deeds and their
-- review by the village committee (votes with recusal), publicity with objections, appeals to
-- the town, the deed's event history (append-only) and the residents' inbox.

-- Staff who are also residents (committee members are villagers): recusal needs their household.
ALTER TABLE staff ADD COLUMN citizen_id TEXT;
ALTER TABLE staff ADD COLUMN is_chair BIGINT NOT NULL DEFAULT 0;

CREATE TABLE standards (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    version BIGINT NOT NULL,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    points_min BIGINT NOT NULL CHECK (points_min >= 1),
    points_max BIGINT NOT NULL CHECK (points_max >= points_min),
    cap_points BIGINT,                     -- most points per person per period, if any
    cap_period TEXT NOT NULL CHECK (cap_period IN ('none', 'month', 'year')),
    evidence_zh TEXT NOT NULL,
    evidence_en TEXT NOT NULL,
    awarder TEXT NOT NULL CHECK (awarder IN ('committee', 'partner')),
    active BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (code, version)
);

CREATE TABLE deeds (
    id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,              -- who did the deed (and gets the points)
    village_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('own', 'nomination', 'partner')),
    reporter_id TEXT NOT NULL,             -- citizen id, or partner id for 'partner'
    idem_key TEXT UNIQUE,                  -- partner submissions: '<partner>/<key>'
    request_hash BLOB,
    standard_id TEXT NOT NULL REFERENCES standards(id),
    deed_date TEXT NOT NULL,               -- yyyy-mm-dd
    place TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('review', 'publicity', 'paused', 'rejected', 'appealed', 'credited', 'closed')),
    round BIGINT NOT NULL,                 -- the committee's voting round (an objection starts a new one)
    points BIGINT,
    duplicate_of TEXT,
    decided_at BIGINT,
    publicity_ends_at BIGINT,
    appeal_deadline BIGINT,
    ledger_index BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deeds_queue ON deeds(village_id, status, created_at);
CREATE INDEX deeds_due ON deeds(status, publicity_ends_at);
CREATE INDEX deeds_citizen ON deeds(citizen_id, created_at);
CREATE INDEX deeds_same ON deeds(citizen_id, standard_id, deed_date);
CREATE INDEX deeds_reporter ON deeds(reporter_id, created_at);

CREATE TABLE deed_evidence (
    deed_id TEXT NOT NULL REFERENCES deeds(id),
    sha256 TEXT NOT NULL,                  -- the file is stored by this name, outside the database
    content_type TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (deed_id, sha256)
);

CREATE TABLE deed_votes (
    deed_id TEXT NOT NULL REFERENCES deeds(id),
    round BIGINT NOT NULL,
    staff_id TEXT NOT NULL,
    approve BIGINT NOT NULL,
    points BIGINT,
    comment TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (deed_id, round, staff_id)
);

CREATE TABLE deed_objections (
    id TEXT PRIMARY KEY,
    deed_id TEXT NOT NULL REFERENCES deeds(id),
    round BIGINT NOT NULL,                 -- the round the objection opened
    citizen_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('upheld', 'dismissed')),
    decided_at BIGINT,
    UNIQUE (deed_id, citizen_id)
);
CREATE INDEX deed_objections_citizen ON deed_objections(citizen_id, at);

CREATE TABLE deed_appeals (
    deed_id TEXT PRIMARY KEY REFERENCES deeds(id),   -- one appeal per deed
    citizen_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    outcome TEXT CHECK (outcome IN ('reversed', 'upheld')),
    decided_by TEXT,
    decided_at BIGINT,
    comment TEXT
);

CREATE TABLE deed_events (
    id TEXT PRIMARY KEY,
    deed_id TEXT NOT NULL REFERENCES deeds(id),
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX deed_events_deed ON deed_events(deed_id, at, id);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('citizen', 'staff')),
    recipient_id TEXT NOT NULL,
    deed_id TEXT,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_inbox ON notifications(recipient_kind, recipient_id, at);

CREATE TRIGGER deed_events_no_update BEFORE UPDATE ON deed_events
BEGIN SELECT RAISE(ABORT, 'deed_events is append-only'); END;
CREATE TRIGGER deed_events_no_delete BEFORE DELETE ON deed_events
BEGIN SELECT RAISE(ABORT, 'deed_events is append-only'); END;
CREATE TRIGGER deed_votes_no_update BEFORE UPDATE ON deed_votes
BEGIN SELECT RAISE(ABORT, 'deed_votes is append-only'); END;
CREATE TRIGGER deed_votes_no_delete BEFORE DELETE ON deed_votes
BEGIN SELECT RAISE(ABORT, 'deed_votes is append-only'); END;
