//! The volunteer matcher: whom to propose for each place of a batch of requests and activity
//! shifts, and why. Pure: the caller loads the candidates and the slots and stores the offers.
//!
//! A pair (candidate, slot) is either refused by a hard constraint ([`eligibility`]) or given a
//! cost, the sum of a few integer [`Term`]s (distance, skills, hours served against the median,
//! no-shows, newcomers) that also explain the choice to an organiser. [`propose`] fills as many
//! slots as it can, then minimises the total cost, giving a volunteer at most one slot per batch.
//!
//! A city has tens of thousands of volunteers, so the assignment is not solved on the whole
//! slots × candidates matrix: each slot first keeps its cheapest eligible candidates, searched
//! in its village, then its town, then the rest of the city, and a search stops as soon as
//! nobody further can be cheaper (candidates are indexed by their slot-independent cost). Slots
//! that share no candidate are then solved apart, each group by Kuhn–Munkres.

mod availability;
mod search;

pub use availability::{Availability, AVAILABILITY_CHARS_MAX};
pub use search::{GROUP_SLOTS_MAX, SHORTLIST_MIN};

use search::Pool;
use serde::Serialize;

/// The scale of the hours term never goes below an hour, so a city where most volunteers have
/// not served yet (median 0) still compares hours sensibly.
const FAIRNESS_SCALE_MIN_MINUTES: i64 = 60;

/// Where a place is: its village and its town (region ids, text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub village_id: String,
    pub town_id: String,
}

/// A volunteer as the matcher sees them.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The volunteer's (citizen) id.
    pub id: String,
    pub household_id: String,
    pub home: Place,
    /// Villages they said they serve (besides home).
    pub serves: Vec<String>,
    /// Skills they declared, e.g. `first-aid`, `elderly-care`, `driving`.
    pub skills: Vec<String>,
    /// Certificates: (skill, valid until, Unix ms). One valid at a slot's end also counts as
    /// holding the skill.
    pub certificates: Vec<(String, i64)>,
    pub availability: Availability,
    /// Windows they are already assigned to (accepted, or offered and unanswered): [start,
    /// end) Unix ms.
    pub busy: Vec<(i64, i64)>,
    /// Minutes of service in the recent period (`FAIRNESS_PERIOD_DAYS`, the last 90 days).
    pub recent_minutes: i64,
    /// No-shows in the penalty period; 0 for most.
    pub recent_no_shows: u32,
    /// Never completed a service.
    pub newcomer: bool,
}

/// One place to fill: one person of a request's or an activity shift's people.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The caller's key for this slot (e.g. `request-id#2`), returned as is.
    pub key: String,
    pub place: Place,
    pub starts_at: i64,
    pub ends_at: i64,
    /// Certificates that must be valid at `ends_at` (hard), e.g. `first-aid`.
    pub certificates: Vec<String>,
    /// Skills wanted (soft: a cost when missing, a bonus when held).
    pub skills: Vec<String>,
    /// The requester's household: never one of its members (hard).
    pub excluded_household: Option<String>,
    /// Volunteers never to propose for this slot (already offered, declined, expired).
    pub excluded: Vec<String>,
}

/// Weights of the cost terms: integers, lower total cost is better, a negative weight is a
/// bonus. The same village always costs 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Weights {
    /// The slot is in the volunteer's town but not a village they live in or serve.
    pub same_town: i64,
    /// The slot is in another town.
    pub other_town: i64,
    /// Per wanted skill the volunteer does not hold.
    pub missing_skill: i64,
    /// Per wanted skill the volunteer holds (negative: a bonus).
    pub has_skill: i64,
    /// The hours term's scale: a volunteer who served the median's worth of hours more than
    /// the median costs this much (at most twice it; at least minus it).
    pub fairness: i64,
    /// Per no-show in the penalty period.
    pub no_show: i64,
    /// For someone who never completed a service (negative: a bonus to let newcomers in).
    pub newcomer: i64,
}

impl Default for Weights {
    /// Tuned on `moralbank bench dispatch` (docs/BENCHMARKS.md, "Dispatch"). Going to another
    /// village of the town costs more than the hours term can add (at most twice `fairness`),
    /// so the matcher shares the work among the people of a village (and those who serve it)
    /// and leaves it only for someone who has served less *and* is new, or when the village
    /// has nobody free. With `same_town` at 30 it sent a fifth of the slots to another
    /// village, 1.9 times the baseline's distance, for a Gini lower by only 0.017.
    fn default() -> Self {
        Self {
            same_town: 90,
            other_town: 200,
            missing_skill: 25,
            has_skill: -10,
            fairness: 40,
            no_show: 50,
            newcomer: -20,
        }
    }
}

/// One term of an offer's cost: what it is and how much it adds (negative: a bonus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    pub code: TermCode,
    pub cost: i64,
    /// A detail for display: the village or town, the skill, the hours, the no-shows.
    pub detail: String,
}

/// What a term is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TermCode {
    SameVillage,
    SameTown,
    OtherTown,
    HasSkill,
    MissingSkill,
    FewerHours,
    MoreHours,
    NoShows,
    Newcomer,
}

impl TermCode {
    const ALL: [TermCode; 9] = [
        TermCode::SameVillage,
        TermCode::SameTown,
        TermCode::OtherTown,
        TermCode::HasSkill,
        TermCode::MissingSkill,
        TermCode::FewerHours,
        TermCode::MoreHours,
        TermCode::NoShows,
        TermCode::Newcomer,
    ];

    /// The stable name (as serialised), for storage and translations.
    pub fn as_str(self) -> &'static str {
        match self {
            TermCode::SameVillage => "same_village",
            TermCode::SameTown => "same_town",
            TermCode::OtherTown => "other_town",
            TermCode::HasSkill => "has_skill",
            TermCode::MissingSkill => "missing_skill",
            TermCode::FewerHours => "fewer_hours",
            TermCode::MoreHours => "more_hours",
            TermCode::NoShows => "no_shows",
            TermCode::Newcomer => "newcomer",
        }
    }

    /// The code a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A proposed volunteer for a slot, with the cost and its terms, largest |cost| first; the
/// terms' costs add up to `cost`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub slot_key: String,
    pub volunteer_id: String,
    pub cost: i64,
    pub terms: Vec<Term>,
}

/// The matcher's answer: one offer per filled slot (in the slots' order), and the keys of the
/// slots nobody eligible could fill.
#[derive(Debug, Clone, Default)]
pub struct Proposal {
    pub offers: Vec<Offer>,
    pub unfilled: Vec<String>,
}

/// Why a candidate may not take a slot (hard constraints), the first that applies in this
/// order: for tests and for the organiser's "why not".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    /// Named in the slot's exclusions (already offered, declined, expired).
    Excluded,
    /// A member of the requester's household.
    OwnHousehold,
    /// Holds no certificate the slot requires.
    CertificateMissing,
    /// Holds it, but it is no longer valid when the slot ends.
    CertificateExpired,
    /// Not available at some hour of the slot.
    Unavailable,
    /// Already assigned to an overlapping window.
    Busy,
}

impl Ineligible {
    /// The stable name, for translations.
    pub fn as_str(self) -> &'static str {
        match self {
            Ineligible::Excluded => "excluded",
            Ineligible::OwnHousehold => "own_household",
            Ineligible::CertificateMissing => "certificate_missing",
            Ineligible::CertificateExpired => "certificate_expired",
            Ineligible::Unavailable => "unavailable",
            Ineligible::Busy => "busy",
        }
    }
}

/// Whether `c` may take `s`, or the first hard constraint that refuses it. A certificate is
/// valid at the slot's end when its `valid_until` is at or after `ends_at`.
pub fn eligibility(c: &Candidate, s: &Slot) -> Result<(), Ineligible> {
    if s.excluded.contains(&c.id) {
        return Err(Ineligible::Excluded);
    }
    if s.excluded_household.as_deref() == Some(c.household_id.as_str()) {
        return Err(Ineligible::OwnHousehold);
    }
    certificates(c, s)?;
    if !c.availability.covers(s.starts_at, s.ends_at) {
        return Err(Ineligible::Unavailable);
    }
    if busy(c, s) {
        return Err(Ineligible::Busy);
    }
    Ok(())
}

/// Every certificate the slot requires is held and valid at its end.
fn certificates(c: &Candidate, s: &Slot) -> Result<(), Ineligible> {
    for required in &s.certificates {
        let mut held = c
            .certificates
            .iter()
            .filter(|(k, _)| k == required)
            .peekable();
        if held.peek().is_none() {
            return Err(Ineligible::CertificateMissing);
        }
        if !held.any(|(_, until)| *until >= s.ends_at) {
            return Err(Ineligible::CertificateExpired);
        }
    }
    Ok(())
}

fn busy(c: &Candidate, s: &Slot) -> bool {
    c.busy
        .iter()
        .any(|&(b0, b1)| b0 < s.ends_at && s.starts_at < b1)
}

/// How far the slot is for the candidate: a village they live in or serve, their town, another.
fn distance(c: &Candidate, s: &Slot) -> TermCode {
    let v = &s.place.village_id;
    if c.home.village_id == *v || c.serves.iter().any(|x| x == v) {
        TermCode::SameVillage
    } else if c.home.town_id == s.place.town_id {
        TermCode::SameTown
    } else {
        TermCode::OtherTown
    }
}

fn distance_cost(d: TermCode, w: &Weights) -> i64 {
    match d {
        TermCode::SameTown => w.same_town,
        TermCode::OtherTown => w.other_town,
        _ => 0,
    }
}

/// The hours term: `fairness × (minutes − median) / max(median, 60)`, within
/// [−fairness, 2 × fairness]: a long record delays a volunteer behind those who served less,
/// but never outweighs distance or skills by more than that.
fn fairness_cost(minutes: i64, median: i64, w: &Weights) -> i64 {
    let scale = i128::from(median.max(FAIRNESS_SCALE_MIN_MINUTES));
    let raw = i128::from(w.fairness) * (i128::from(minutes) - i128::from(median)) / scale;
    let (a, b) = (-i128::from(w.fairness), 2 * i128::from(w.fairness));
    let clamped = raw.clamp(a.min(b), a.max(b));
    i64::try_from(clamped).unwrap_or(if clamped < 0 { i64::MIN } else { i64::MAX })
}

fn no_show_cost(c: &Candidate, w: &Weights) -> i64 {
    w.no_show.saturating_mul(i64::from(c.recent_no_shows))
}

/// The part of a candidate's cost that does not depend on the slot: hours, no-shows, newcomer.
fn base_cost(c: &Candidate, median: i64, w: &Weights) -> i64 {
    let newcomer = if c.newcomer { w.newcomer } else { 0 };
    fairness_cost(c.recent_minutes, median, w)
        .saturating_add(no_show_cost(c, w))
        .saturating_add(newcomer)
}

/// Holds a skill: declared, or a certificate for it valid at `at`.
fn holds(c: &Candidate, skill: &str, at: i64) -> bool {
    c.skills.iter().any(|k| k == skill)
        || c.certificates
            .iter()
            .any(|(k, until)| k == skill && *until >= at)
}

/// Each text once, in its first order (a slot listing a skill twice wants it once).
fn unique(items: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i.as_str()) {
            out.push(i);
        }
    }
    out
}

fn skills_cost(c: &Candidate, s: &Slot, wanted: &[&str], w: &Weights) -> i64 {
    wanted.iter().fold(0i64, |sum, k| {
        let cost = if holds(c, k, s.ends_at) {
            w.has_skill
        } else {
            w.missing_skill
        };
        sum.saturating_add(cost)
    })
}

/// The cost terms of a candidate for a slot (assumed eligible), largest |cost| first.
/// `median_minutes` is the median `recent_minutes` among the candidates considered.
///
/// Zero-cost terms are listed too, because they explain: `SameVillage` ("lives in or serves
/// the village"), and a `HasSkill` of cost 0 for each required certificate the slot does not
/// also want as a skill (the certificate is a hard constraint, not a preference).
pub fn terms(c: &Candidate, s: &Slot, median_minutes: i64, w: &Weights) -> Vec<Term> {
    let mut out = Vec::new();
    let d = distance(c, s);
    let place = match d {
        TermCode::SameVillage => &s.place.village_id,
        _ => &s.place.town_id,
    };
    out.push(term(d, distance_cost(d, w), place.clone()));
    let wanted = unique(&s.skills);
    for k in &wanted {
        if holds(c, k, s.ends_at) {
            out.push(term(TermCode::HasSkill, w.has_skill, (*k).to_string()));
        } else {
            out.push(term(
                TermCode::MissingSkill,
                w.missing_skill,
                (*k).to_string(),
            ));
        }
    }
    for k in unique(&s.certificates) {
        if !wanted.contains(&k) {
            out.push(term(TermCode::HasSkill, 0, k.to_string()));
        }
    }
    let hours = fairness_cost(c.recent_minutes, median_minutes, w);
    if hours != 0 {
        let code = if hours < 0 {
            TermCode::FewerHours
        } else {
            TermCode::MoreHours
        };
        // Hours in the period, as a number the pages put in their own words.
        let detail = format!("{:.1}", c.recent_minutes as f64 / 60.0);
        out.push(term(code, hours, detail));
    }
    if c.recent_no_shows > 0 {
        let n = c.recent_no_shows.to_string();
        out.push(term(TermCode::NoShows, no_show_cost(c, w), n));
    }
    if c.newcomer {
        out.push(term(TermCode::Newcomer, w.newcomer, String::new()));
    }
    // Stable: among equal sizes the order above (distance, skills, hours, …) stays.
    out.sort_by_key(|t| std::cmp::Reverse(t.cost.unsigned_abs()));
    out
}

fn term(code: TermCode, cost: i64, detail: String) -> Term {
    Term { code, cost, detail }
}

/// The sum of the terms' costs, as [`Offer::cost`] holds it.
fn total(terms: &[Term]) -> i64 {
    terms.iter().fold(0i64, |sum, t| sum.saturating_add(t.cost))
}

/// Propose one volunteer per slot: as many slots filled as the constraints allow, then the
/// least total cost (Kuhn–Munkres), never an ineligible pair, a volunteer at most once per
/// batch (so two slots of one request never get the same person, and overlapping slots are
/// safe). Candidates repeating an id count once (the first).
///
/// Each slot keeps its cheapest eligible candidates: at least [`SHORTLIST_MIN`] plus as many as
/// there are slots of its town in the batch, at most the batch's slots. Slots sharing
/// shortlisted candidates are solved together, up to [`GROUP_SLOTS_MAX`] of them; a larger
/// group (towns that borrow each other's volunteers) is solved town by town, each town taking
/// whom the towns before it left. That is exact up to [`SHORTLIST_MIN`] slots, and close beyond
/// where slots of a town compete among themselves; a slot then left unfilled while someone
/// eligible is free takes the cheapest of them.
///
/// Deterministic for the same slots and candidates (of distinct ids) in any order: equal costs
/// go to the lower volunteer id when shortlisting, and the columns are solved in id order.
pub fn propose(slots: &[Slot], candidates: &[Candidate], w: &Weights) -> Proposal {
    let pool = Pool::new(candidates, w);
    let mut proposal = Proposal::default();
    for (s, a) in slots.iter().zip(search::assign(&pool, slots, w)) {
        match a {
            Some(i) => {
                let c = &candidates[i];
                let terms = terms(c, s, pool.median, w);
                proposal.offers.push(Offer {
                    slot_key: s.key.clone(),
                    volunteer_id: c.id.clone(),
                    cost: total(&terms),
                    terms,
                });
            }
            None => proposal.unfilled.push(s.key.clone()),
        }
    }
    proposal
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
