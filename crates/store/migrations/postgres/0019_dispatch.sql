-- Volunteer dispatch (issue 17): volunteers (residents who opted in, with their own consent),
-- the alliances they serve, their certificates; tasks (a resident's request or an alliance's
-- activity) with their shifts; offers and sign-ups; service records with their proofs; site
-- codes used. Points for hours are deeds of the alliance's trusted standard (the `deeds` table).
CREATE TABLE volunteers (
    citizen_id TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    village_id TEXT NOT NULL,
    town_id TEXT NOT NULL,
    skills TEXT NOT NULL,                    -- space-separated skill codes
    serves TEXT NOT NULL,                    -- space-separated village ids besides home
    availability TEXT NOT NULL,              -- the weekly hours, text form (matcher::Availability)
    consent_version TEXT NOT NULL,
    joined_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1         -- 0: left (no offers; the record stays theirs)
);
CREATE INDEX volunteers_town ON volunteers(town_id, village_id);

CREATE TABLE volunteer_alliances (
    citizen_id TEXT NOT NULL REFERENCES volunteers(citizen_id),
    alliance_id TEXT NOT NULL REFERENCES partners(id),
    PRIMARY KEY (alliance_id, citizen_id)
);
CREATE INDEX volunteer_alliances_citizen ON volunteer_alliances(citizen_id);

CREATE TABLE volunteer_certificates (
    citizen_id TEXT NOT NULL REFERENCES volunteers(citizen_id),
    skill TEXT NOT NULL,
    number TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    PRIMARY KEY (citizen_id, skill)
);

CREATE TABLE dispatch_tasks (
    id TEXT PRIMARY KEY,
    alliance_id TEXT NOT NULL REFERENCES partners(id),
    kind TEXT NOT NULL CHECK (kind IN ('request', 'activity')),
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    requester_id TEXT,                       -- the resident helped (a request)
    household_id TEXT,                       -- theirs: never one of its members is sent
    filed_by TEXT NOT NULL,                  -- citizen:<id> or staff:<id> (a clerk for them)
    village_id TEXT NOT NULL,
    town_id TEXT NOT NULL,
    place TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    people BIGINT NOT NULL,
    skills TEXT NOT NULL,
    certificates TEXT NOT NULL,
    notes TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requested', 'rejected', 'accepted', 'dispatched', 'in_service', 'closed', 'cancelled')),
    reason TEXT NOT NULL DEFAULT '',         -- a rejection's or cancellation's reason
    reviewed_by TEXT,
    reviewed_at BIGINT,
    dispatched_at BIGINT,                    -- the first offer
    served_at BIGINT,                        -- the first check-in
    closed_by TEXT,
    closed_at BIGINT,
    report TEXT NOT NULL DEFAULT '',
    rating BIGINT,
    comment TEXT NOT NULL DEFAULT '',
    rated_at BIGINT,
    idem_key TEXT UNIQUE,                    -- a form's token: a request sent twice is made once
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dispatch_tasks_alliance ON dispatch_tasks(alliance_id, status, starts_at);
CREATE INDEX dispatch_tasks_requester ON dispatch_tasks(requester_id, created_at);
CREATE INDEX dispatch_tasks_village ON dispatch_tasks(village_id, starts_at);

-- A request has one shift (its window, its people); an activity one or more.
CREATE TABLE dispatch_shifts (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES dispatch_tasks(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    filled BIGINT NOT NULL DEFAULT 0,        -- accepted places; never above capacity
    CHECK (filled >= 0 AND filled <= capacity)
);
CREATE INDEX dispatch_shifts_task ON dispatch_shifts(task_id);

CREATE TABLE dispatch_offers (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES dispatch_tasks(id),
    shift_id TEXT NOT NULL REFERENCES dispatch_shifts(id),
    volunteer_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('offered', 'accepted', 'declined', 'expired', 'withdrawn', 'waitlisted', 'cancelled', 'no_show')),
    cost BIGINT NOT NULL,
    terms TEXT NOT NULL,                     -- the matcher's terms, JSON: why this volunteer
    offered_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    answered_at BIGINT,
    starts_at BIGINT NOT NULL,               -- the shift's window, for the busy check
    ends_at BIGINT NOT NULL,
    UNIQUE (task_id, volunteer_id)           -- one offer per task and volunteer: a no is final
);
CREATE INDEX dispatch_offers_volunteer ON dispatch_offers(volunteer_id, status, starts_at);
CREATE INDEX dispatch_offers_open ON dispatch_offers(status, expires_at);
CREATE INDEX dispatch_offers_shift ON dispatch_offers(shift_id, status);

CREATE TABLE dispatch_service (
    offer_id TEXT PRIMARY KEY REFERENCES dispatch_offers(id),
    task_id TEXT NOT NULL,
    volunteer_id TEXT NOT NULL,
    alliance_id TEXT NOT NULL,
    check_in_at BIGINT,
    check_in_by TEXT,                        -- site_code or staff:<id>
    check_out_at BIGINT,
    check_out_by TEXT,
    attendance TEXT,                         -- site_code, organiser_scan or manual
    manual_minutes BIGINT,
    manual_reason TEXT,
    manual_by TEXT,
    manual_approved_by TEXT,
    confirmation TEXT,                       -- requester, clerk_phone, clerk_paper or roster
    confirmed_by TEXT,
    confirmed_at BIGINT,
    minutes BIGINT,                          -- counted once both proofs are in
    hours BIGINT,
    deed_id TEXT,                            -- the points' deed, exactly once
    credit_refusal TEXT,                     -- why no points (a cap reached, under an hour)
    credited_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX dispatch_service_volunteer ON dispatch_service(volunteer_id, check_in_at);
CREATE INDEX dispatch_service_task ON dispatch_service(task_id);
CREATE INDEX dispatch_service_alliance ON dispatch_service(alliance_id, minutes);

-- A site code is used once per volunteer (a replay is refused).
CREATE TABLE dispatch_code_uses (
    code_id TEXT NOT NULL,
    volunteer_id TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    action TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (code_id, volunteer_id)
);

-- Every step on a task or offer: who, when, what and why (the task's history).
CREATE TABLE dispatch_events (
    id TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    offer_id TEXT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,                     -- citizen:<id>, staff:<id> or system
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dispatch_events_task ON dispatch_events(task_id, at);

-- The dashboard's roll-ups (migration 0016): requests asked for [category], and service hours
-- counted [category; `amount` = hours], where the service was.
CREATE FUNCTION moralbank_stats_dispatch_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'request' THEN
        PERFORM moralbank_stats_event('dispatch_request', NEW.created_at, NEW.village_id, NEW.category, 1, 0);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_dispatch_tasks AFTER INSERT ON dispatch_tasks
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_dispatch_tasks();

CREATE FUNCTION moralbank_stats_volunteer_hours() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.hours IS NULL AND NEW.hours IS NOT NULL THEN
        PERFORM moralbank_stats_event('volunteer_hours', NEW.updated_at, t.village_id, t.category, 1, NEW.hours)
            FROM dispatch_tasks t WHERE t.id = NEW.task_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER stats_volunteer_hours AFTER UPDATE OF hours ON dispatch_service
    FOR EACH ROW EXECUTE FUNCTION moralbank_stats_volunteer_hours();
