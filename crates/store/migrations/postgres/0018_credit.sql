-- Moral credit loans (issue 16): each bank's published credit-line tables, households'
-- consents to one bank and each adult member's authorisation, the reports issued under them,
-- the banks' decisions and their monthly loan books. Nothing here is personal data beyond ids:
-- a report's text names the household only by its pseudonym for that bank.
CREATE TABLE credit_tables (
    bank_id TEXT NOT NULL REFERENCES partners(id),
    version BIGINT NOT NULL,
    posted_rate_bp BIGINT NOT NULL,
    rows_json TEXT NOT NULL,                 -- [{"tier","max_line_yuan","rate_discount_bp"}]
    published_by TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, version)
);

CREATE TABLE credit_consents (
    id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    bank_id TEXT NOT NULL REFERENCES partners(id),
    purpose TEXT NOT NULL,
    lookback_months BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'authorised', 'used', 'revoked', 'expired')),
    adults BIGINT NOT NULL,                  -- adult members who must authorise, when asked
    requested_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    authorised_at BIGINT,
    used_at BIGINT,
    closed_at BIGINT,                        -- revoked or expired
    closed_by TEXT
);
CREATE INDEX credit_consents_household ON credit_consents(household_id, created_at);
CREATE INDEX credit_consents_bank ON credit_consents(bank_id, created_at);
CREATE INDEX credit_consents_open ON credit_consents(status, expires_at);

-- The adults who must authorise a consent, listed when it is asked for; `at` is when each did.
CREATE TABLE credit_authorisations (
    consent_id TEXT NOT NULL REFERENCES credit_consents(id),
    citizen_id TEXT NOT NULL,
    at BIGINT,
    PRIMARY KEY (consent_id, citizen_id)
);
CREATE INDEX credit_authorisations_citizen ON credit_authorisations(citizen_id);

CREATE TABLE credit_reports (
    id TEXT PRIMARY KEY,                     -- the report's jti, hex
    consent_id TEXT NOT NULL UNIQUE REFERENCES credit_consents(id),
    household_id TEXT NOT NULL,
    bank_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tier BIGINT NOT NULL,
    credit_points BIGINT NOT NULL,
    body TEXT NOT NULL                       -- the signed text, MBCR1:…
);
CREATE INDEX credit_reports_household ON credit_reports(household_id, issued_at);

CREATE TABLE credit_decisions (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL UNIQUE REFERENCES credit_reports(id),
    bank_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('approved', 'declined', 'referred')),
    amount_yuan BIGINT,
    rate_bp BIGINT,
    term_months BIGINT,
    loan_ref TEXT,
    reasons TEXT NOT NULL,                   -- space-separated codes
    reasons_text TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_by_label TEXT NOT NULL,
    decided_at BIGINT NOT NULL,
    request_hash BYTEA NOT NULL              -- tells a retry from a different decision
);
CREATE UNIQUE INDEX credit_decisions_loan ON credit_decisions(bank_id, loan_ref);
CREATE INDEX credit_decisions_household ON credit_decisions(household_id, decided_at);

CREATE TABLE credit_loan_months (
    bank_id TEXT NOT NULL,
    loan_ref TEXT NOT NULL,
    month BIGINT NOT NULL,                   -- yyyymm
    household_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('disbursed', 'repaid', 'closed')),
    outstanding_yuan BIGINT NOT NULL CHECK (outstanding_yuan >= 0),
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (bank_id, loan_ref, month)
);
CREATE INDEX credit_loan_months_month ON credit_loan_months(month);

-- A household's deeds still in publicity are counted in its report.
CREATE INDEX deeds_household ON deeds(household_id, status);
