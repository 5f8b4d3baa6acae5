-- Moral green cards (道德绿卡): issued by the admin to recognised good people, revoked only with
-- a reason (the row keeps who and why). An active card is a badge on the resident's code.
CREATE TABLE green_cards (
    id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,
    card_no TEXT NOT NULL UNIQUE,
    honour TEXT NOT NULL CHECK (honour IN ('moral-model', 'yuyao-good-person', 'ningbo-good-person', 'brave-deed')),
    citation TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    issued_by TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    revoke_reason TEXT
);
CREATE INDEX green_cards_citizen ON green_cards(citizen_id, valid_until);
CREATE INDEX green_cards_issued ON green_cards(issued_at);
