-- Enrolment that proves who enrols (issue 13).
--
-- * otp_codes.purpose: a code proves the phone for signing in or for enrolling, never both.
-- * otp_phones: one row per phone that asked for a code. Issuing a code upserts the phone's row
--   first, in the transaction that counts the phone's recent codes and inserts the new one: the
--   row's lock makes concurrent requests for one phone, on any number of servers, take turns,
--   so the send limits (5 an hour, 60 s apart) hold under races.
-- * citizens: the real-name step. identity_confirmed_at/_by/_method say when, by whom (a staff
--   id, `verifier:<name>` or `system:...`) and how (`in_person`: a clerk saw the ID card;
--   `verifier`: an official real-name service; `existing`: enrolled before this step existed)
--   the record was confirmed to be the person it names; NULL while unconfirmed. Every citizen
--   enrolled before this migration counts as confirmed.
-- * An ID number is no longer unique among all records, only among confirmed ones: enrolment
--   never tells a caller that an ID number is taken (that would tell anyone who is enrolled);
--   a second record with the same number stays unconfirmed until the village office sees the
--   ID card, and at most one record per ID number can ever be confirmed (a partial unique
--   index). The phone stays unique: it is proven by a code before the record is made.
--
-- SQLite cannot drop a column's UNIQUE: citizens is rebuilt and copied. No table has a foreign
-- key to it and no trigger names it; its indexes are made again below.
ALTER TABLE otp_codes ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in'
    CHECK (purpose IN ('sign_in', 'enrol'));

CREATE TABLE otp_phones (
    phone_hmac BLOB PRIMARY KEY,
    last_request_at BIGINT NOT NULL
);

CREATE TABLE citizens_new (
    id TEXT PRIMARY KEY,
    village_id TEXT NOT NULL,
    household_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    name_enc BLOB NOT NULL,
    name_hmac BLOB NOT NULL,
    name_masked TEXT NOT NULL,
    resident_id_enc BLOB NOT NULL,
    resident_id_hmac BLOB NOT NULL,
    resident_id_masked TEXT NOT NULL,
    phone_enc BLOB NOT NULL,
    phone_hmac BLOB NOT NULL UNIQUE,
    phone_masked TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    identity_confirmed_at BIGINT,
    identity_confirmed_by TEXT,
    identity_method TEXT CHECK (identity_method IN ('in_person', 'verifier', 'existing')),
    CHECK ((identity_confirmed_at IS NULL) = (identity_method IS NULL))
);
INSERT INTO citizens_new (id, village_id, household_id, key_id, name_enc, name_hmac, name_masked,
    resident_id_enc, resident_id_hmac, resident_id_masked, phone_enc, phone_hmac, phone_masked,
    enrolled_at, identity_confirmed_at, identity_confirmed_by, identity_method)
SELECT id, village_id, household_id, key_id, name_enc, name_hmac, name_masked,
    resident_id_enc, resident_id_hmac, resident_id_masked, phone_enc, phone_hmac, phone_masked,
    enrolled_at, enrolled_at, 'system:migration-0013', 'existing'
FROM citizens;
DROP TABLE citizens;
ALTER TABLE citizens_new RENAME TO citizens;
CREATE INDEX citizens_village ON citizens(village_id, enrolled_at);
CREATE INDEX citizens_household ON citizens(household_id);
CREATE INDEX citizens_name ON citizens(name_hmac);
CREATE INDEX citizens_masked ON citizens(id, name_masked);
CREATE INDEX citizens_resident_id ON citizens(resident_id_hmac);
CREATE UNIQUE INDEX citizens_confirmed_resident_id ON citizens(resident_id_hmac)
    WHERE identity_confirmed_at IS NOT NULL;
-- The few unconfirmed records, for the credit run's check without reading citizens' rows.
CREATE INDEX citizens_unconfirmed ON citizens(id) WHERE identity_confirmed_at IS NULL;
