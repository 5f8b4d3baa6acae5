-- Evaluation fairness: which partners a standard's version trusts to submit deeds that skip the
-- committee, and one chair per village committee.

CREATE TABLE standard_partners (
    standard_id TEXT NOT NULL REFERENCES standards(id),   -- one version of a standard
    partner_id TEXT NOT NULL,
    PRIMARY KEY (standard_id, partner_id)
);

-- Only evaluators are marked chair (the store checks), so one per region is one per village.
CREATE UNIQUE INDEX staff_one_chair ON staff(region_id) WHERE is_chair = 1;
