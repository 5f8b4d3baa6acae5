-- The technology supermarket (issue 18): enterprises (partners of kind `enterprise` verified by
-- the office), the expert pool (contacts sealed, a phone hash so an enrolled resident can claim
-- their own profile), achievements, demands (the confidential detail sealed), brokers' pins,
-- introductions with double opt-in and every reveal of contacts, matchmaking events with
-- sessions, sign-ups and wait lists, contracts as the registration office needs them, free
-- consultations to cooperatives (points through a standard), and the events of all of these.
CREATE TABLE market_enterprises (
    partner_id TEXT PRIMARY KEY REFERENCES partners(id),
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('company', 'cooperative', 'institution')),
    industry TEXT NOT NULL,
    town_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    contact_name_enc BLOB NOT NULL,
    contact_phone_enc BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('verified', 'suspended')),
    verified_by TEXT NOT NULL,
    verified_at BIGINT NOT NULL
);

CREATE TABLE market_experts (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,               -- E000123: the office's number, on its spreadsheet
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    institution TEXT NOT NULL,
    discipline TEXT NOT NULL,
    industries TEXT NOT NULL,                -- space-separated GB/T 4754 codes
    keywords TEXT NOT NULL,                  -- one per line
    summary TEXT NOT NULL,
    region TEXT NOT NULL,                    -- a town id, or ningbo / province / elsewhere
    availability TEXT NOT NULL CHECK (availability IN ('available', 'limited', 'unavailable')),
    key_id TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    email_enc BLOB NOT NULL,
    phone_hmac BLOB NOT NULL,
    consent_source TEXT NOT NULL,            -- import:<id> (the office's record) or self
    consent_on TEXT NOT NULL,                -- the day consent was given
    citizen_id TEXT UNIQUE,                  -- the resident who claimed the profile
    consent_version TEXT,                    -- the text they agreed to on claiming
    updated_at BIGINT NOT NULL
);
CREATE INDEX market_experts_phone ON market_experts(phone_hmac);

CREATE TABLE market_achievements (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    keywords TEXT NOT NULL,
    industry TEXT NOT NULL,
    discipline TEXT NOT NULL,
    trl BIGINT NOT NULL CHECK (trl BETWEEN 1 AND 9),
    ip_kind TEXT NOT NULL,
    ip_number TEXT NOT NULL,
    licensing TEXT NOT NULL,
    price_band TEXT NOT NULL,
    owner_expert_id TEXT REFERENCES market_experts(id),
    owner_partner_id TEXT REFERENCES partners(id),
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((owner_expert_id IS NULL) <> (owner_partner_id IS NULL))
);

CREATE TABLE market_demands (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES partners(id),
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    key_id TEXT NOT NULL,
    detail_enc BLOB NOT NULL,
    industry TEXT NOT NULL,
    budget TEXT NOT NULL,
    deadline TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'matched', 'contracted', 'closed')),
    form_token TEXT UNIQUE,                  -- the form's one-time token: sent twice, one demand
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX market_demands_enterprise ON market_demands(enterprise_id, created_at);
CREATE INDEX market_demands_status ON market_demands(status, created_at);

CREATE TABLE market_pins (
    demand_id TEXT NOT NULL REFERENCES market_demands(id),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('expert', 'achievement')),
    target_id TEXT NOT NULL,
    pinned_by TEXT NOT NULL,
    pinned_at BIGINT NOT NULL,
    PRIMARY KEY (demand_id, target_kind, target_id)
);

CREATE TABLE market_introductions (
    id TEXT PRIMARY KEY,
    demand_id TEXT NOT NULL REFERENCES market_demands(id),
    enterprise_id TEXT NOT NULL REFERENCES partners(id),
    target_kind TEXT NOT NULL CHECK (target_kind IN ('expert', 'achievement')),
    target_id TEXT NOT NULL,
    expert_id TEXT REFERENCES market_experts(id),      -- who answers: the expert ...
    owner_partner_id TEXT REFERENCES partners(id),     -- ... or the achievement's owning organisation
    message TEXT NOT NULL,
    event_id TEXT,                                     -- met at this matchmaking event
    status TEXT NOT NULL CHECK (status IN ('asked', 'accepted', 'declined', 'withdrawn')),
    reason TEXT,                                       -- a decline's reason code
    asked_by TEXT NOT NULL,
    asked_at BIGINT NOT NULL,
    answered_by TEXT,
    answered_at BIGINT,
    UNIQUE (demand_id, target_kind, target_id)
);
CREATE INDEX market_introductions_expert ON market_introductions(expert_id, asked_at);
CREATE INDEX market_introductions_owner ON market_introductions(owner_partner_id, asked_at);
CREATE INDEX market_introductions_enterprise ON market_introductions(enterprise_id, asked_at);

-- Every time contacts were shown, to whom (the market's access log).
CREATE TABLE market_reveals (
    id TEXT PRIMARY KEY,
    introduction_id TEXT NOT NULL REFERENCES market_introductions(id),
    viewer_kind TEXT NOT NULL,
    viewer_id TEXT NOT NULL,
    viewer_label TEXT NOT NULL,
    whose TEXT NOT NULL CHECK (whose IN ('expert', 'enterprise')),
    at BIGINT NOT NULL
);
CREATE INDEX market_reveals_introduction ON market_reveals(introduction_id, at);

CREATE TABLE market_events (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    theme TEXT NOT NULL,
    venue TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE market_sessions (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES market_events(id),
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    capacity BIGINT NOT NULL CHECK (capacity > 0),
    taken BIGINT NOT NULL DEFAULT 0,
    CHECK (taken <= capacity)
);
CREATE INDEX market_sessions_event ON market_sessions(event_id, starts_at);

CREATE TABLE market_signups (
    session_id TEXT NOT NULL REFERENCES market_sessions(id),
    enterprise_id TEXT NOT NULL REFERENCES partners(id),
    status TEXT NOT NULL CHECK (status IN ('signed', 'waiting', 'cancelled')),
    queued_at BIGINT NOT NULL,               -- the wait list's order
    seq BIGINT NOT NULL,                     -- ties within one millisecond
    ticket TEXT NOT NULL UNIQUE,             -- what the QR at the door carries
    checked_in_at BIGINT,
    reminded_at BIGINT,
    PRIMARY KEY (session_id, enterprise_id)
);

CREATE TABLE market_contracts (
    id TEXT PRIMARY KEY,
    introduction_id TEXT NOT NULL UNIQUE REFERENCES market_introductions(id),
    demand_id TEXT NOT NULL REFERENCES market_demands(id),
    enterprise_id TEXT NOT NULL REFERENCES partners(id),
    kind TEXT NOT NULL CHECK (kind IN ('development', 'transfer', 'consulting', 'service')),
    amount_band TEXT NOT NULL,
    signed_on TEXT NOT NULL,
    registration_no TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    registered_at BIGINT
);

CREATE TABLE market_consultations (
    id TEXT PRIMARY KEY,
    expert_id TEXT NOT NULL REFERENCES market_experts(id),
    citizen_id TEXT NOT NULL,
    cooperative_id TEXT NOT NULL REFERENCES partners(id),
    day TEXT NOT NULL,
    hours BIGINT NOT NULL,
    topic TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'confirmed', 'refused')),
    deed_id TEXT,
    credit_refusal TEXT,
    created_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    UNIQUE (expert_id, cooperative_id, day)
);
CREATE INDEX market_consultations_cooperative ON market_consultations(cooperative_id, status);

CREATE TABLE market_log (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX market_log_subject ON market_log(subject_id, at);
CREATE INDEX market_log_action ON market_log(action, at);
