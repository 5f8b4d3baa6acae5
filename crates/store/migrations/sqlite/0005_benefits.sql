-- Service scenes (道德医/租/阅/游/行 and any the admin adds) and the benefits partners offer in
-- them: a condition (minimum tier and/or a badge) and a kind — eligibility only, a quota per
-- period, or a points cost spent through the ledger.
CREATE TABLE scenes (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE benefits (
    id TEXT PRIMARY KEY,
    scene_id TEXT NOT NULL REFERENCES scenes(id),
    partner_id TEXT NOT NULL REFERENCES partners(id),
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL,
    description_zh TEXT NOT NULL,
    description_en TEXT NOT NULL,
    min_tier BIGINT NOT NULL CHECK (min_tier >= 1),
    badge TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('eligibility', 'quota', 'points')),
    quota BIGINT,
    quota_period TEXT CHECK (quota_period IN ('month', 'year')),
    points_cost BIGINT,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CHECK ((kind = 'quota') = (quota IS NOT NULL AND quota_period IS NOT NULL)),
    CHECK ((kind = 'points') = (points_cost IS NOT NULL))
);
CREATE INDEX benefits_scene ON benefits(scene_id, min_tier);
