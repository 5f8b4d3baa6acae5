-- Foundation: regions, households, citizens (personal fields encrypted), consents, staff,
-- partners and API keys, sessions, one-time codes, the access log.
-- Ids are UUIDv7 text; times are Unix milliseconds; booleans are 0/1 integers.
CREATE TABLE regions (
    id TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES regions(id),
    level TEXT NOT NULL CHECK (level IN ('city', 'town', 'village')),
    code TEXT NOT NULL UNIQUE,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_id, code);

CREATE TABLE households (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    head_citizen_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX households_village ON households(village_id);

CREATE TABLE citizens (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    name_enc BLOB NOT NULL,
    name_hmac BLOB NOT NULL,
    name_masked TEXT NOT NULL,
    resident_id_enc BLOB NOT NULL,
    resident_id_hmac BLOB NOT NULL UNIQUE,
    resident_id_masked TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_hmac BLOB NOT NULL UNIQUE,
    phone_masked TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL
);
CREATE INDEX citizens_village ON citizens(village_id, enrolled_at);
CREATE INDEX citizens_household ON citizens(household_id);
CREATE INDEX citizens_name ON citizens(name_hmac);

CREATE TABLE household_invites (
    code_hash BLOB PRIMARY KEY,
    household_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX household_invites_household ON household_invites(household_id);

CREATE TABLE consent_texts (
    purpose TEXT NOT NULL,
    version TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (purpose, version)
);

CREATE TABLE consents (
    id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    version TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    withdrawn_at BIGINT
);
CREATE INDEX consents_citizen ON consents(citizen_id);

-- What remains of a withdrawn resident: only the fact and the time, no personal data.
CREATE TABLE withdrawals (
    citizen_id TEXT PRIMARY KEY,
    withdrawn_at BIGINT NOT NULL
);

CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    region_id TEXT REFERENCES regions(id),
    partner_id TEXT REFERENCES partners(id),
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners(id),
    prefix TEXT NOT NULL UNIQUE,
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_partner ON api_keys(partner_id);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('staff', 'citizen')),
    subject_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions(subject_id);

CREATE TABLE otp_codes (
    id TEXT PRIMARY KEY,
    phone_hmac BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX otp_codes_phone ON otp_codes(phone_hmac, created_at);

CREATE TABLE access_log (
    id TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX access_log_citizen ON access_log(citizen_id, at);
