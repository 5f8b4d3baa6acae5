-- Redemptions: every code a resident's page shows is recorded (code id → resident), so a
-- partner's scan resolves to the resident without the code naming them; a code id opens a
-- quota or points benefit once; quotas are counted per resident, benefit and period.
CREATE TABLE issued_codes (
    code_id TEXT PRIMARY KEY,              -- hex of the code's cti
    citizen_id TEXT NOT NULL,
    printed BIGINT NOT NULL,
    expires_at BIGINT NOT NULL             -- unix seconds
);
CREATE INDEX issued_codes_expiry ON issued_codes(expires_at);

CREATE TABLE redemptions (
    id TEXT PRIMARY KEY,
    idem_key TEXT NOT NULL UNIQUE,         -- '<partner>/<key>'
    request_hash BYTEA NOT NULL,
    benefit_id TEXT NOT NULL REFERENCES benefits(id),
    citizen_id TEXT,
    code_id TEXT NOT NULL,
    consumes BIGINT NOT NULL,              -- 1 for quota and points benefits
    granted BIGINT NOT NULL,
    reason TEXT NOT NULL,                  -- why refused, or 'granted'
    ledger_index BIGINT,
    at BIGINT NOT NULL
);
CREATE UNIQUE INDEX redemptions_code_once ON redemptions(code_id) WHERE consumes = 1 AND granted = 1;
CREATE INDEX redemptions_citizen ON redemptions(citizen_id, at);

CREATE TABLE benefit_usage (
    citizen_id TEXT NOT NULL,
    benefit_id TEXT NOT NULL,
    period TEXT NOT NULL,                  -- yyyy or yyyy-mm
    used BIGINT NOT NULL,
    PRIMARY KEY (citizen_id, benefit_id, period)
);
