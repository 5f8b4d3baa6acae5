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

pub use availability::{Availability, AVAILABILITY_CHARS_MAX};
use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use serde::Serialize;
use std::collections::{BinaryHeap, HashMap};

/// Candidates each slot keeps at least (when the batch has that many slots): up to this many
/// slots, the pre-selection loses nothing and [`propose`] is exact.
pub const SHORTLIST_MIN: usize = 8;
/// Slots solved together by one Kuhn–Munkres at most (its time grows with the cube): a larger
/// group of slots sharing candidates is solved town by town.
pub const GROUP_SLOTS_MAX: usize = 64;
/// Where a pair's cost is capped when choosing, so the "unfilled" and "forbidden" costs below
/// never overflow whatever the weights. Sane weights give costs of a few hundred.
const COST_CAP: i64 = 1_000_000_000;
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
    /// Minutes of service in the recent period (e.g. the last 30 days).
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
    /// so the matcher spreads the work among the people of a village (and those who serve
    /// it) and leaves it only for someone who has served less *and* is new or the village has
    /// nobody free: at 30 it travelled for a fifth of the slots and nearly doubled the
    /// distance for a Gini lower by 0.02.
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
    if s.excluded.iter().any(|id| *id == c.id) {
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
/// [−fairness, 2 × fairness] (so a newcomer's bonus cannot be outweighed by hours alone).
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
        let detail = format!(
            "{:.1} h vs median {:.1} h",
            c.recent_minutes as f64 / 60.0,
            median_minutes as f64 / 60.0
        );
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
/// there are slots of its town in the batch, at most the batch's slots. That is exact up to
/// [`SHORTLIST_MIN`] slots, and close beyond where slots of a town compete among themselves;
/// a slot left unfilled while someone eligible is free then takes the cheapest of them.
/// Deterministic for the same slots and candidates in any order: equal costs go to the lower
/// volunteer id when shortlisting, and the columns are solved in id order.
pub fn propose(slots: &[Slot], candidates: &[Candidate], w: &Weights) -> Proposal {
    let pool = Pool::new(candidates, w);
    let views: Vec<View<'_>> = slots.iter().map(|s| pool.view(s)).collect();
    let mut town_slots: HashMap<Option<u32>, usize> = HashMap::new();
    for v in &views {
        *town_slots.entry(v.town).or_default() += 1;
    }
    let lengths: Vec<usize> = views
        .iter()
        .map(|v| (SHORTLIST_MIN + town_slots[&v.town]).min(slots.len()))
        .collect();
    let shortlists: Vec<Vec<Choice>> = views
        .iter()
        .zip(&lengths)
        .map(|(v, &k)| pool.shortlist(v, k, w, &[]))
        .collect();
    let mut assigned: Vec<Option<u32>> = vec![None; slots.len()];
    let mut taken = vec![false; candidates.len()];
    for group in components(&shortlists) {
        if group.len() <= GROUP_SLOTS_MAX {
            solve(
                &pool,
                &views,
                &shortlists,
                &group,
                w,
                &mut assigned,
                &mut taken,
            );
            continue;
        }
        // Towns linked by a few volunteers who could go to either: each town in turn (in the
        // order of its first slot) takes what the towns before it left.
        let mut towns: Vec<(Option<u32>, Vec<usize>)> = Vec::new();
        for &n in &group {
            match towns.iter_mut().find(|(t, _)| *t == views[n].town) {
                Some((_, part)) => part.push(n),
                None => towns.push((views[n].town, vec![n])),
            }
        }
        for (_, part) in towns {
            solve(
                &pool,
                &views,
                &shortlists,
                &part,
                w,
                &mut assigned,
                &mut taken,
            );
        }
    }
    // A full shortlist taken by other slots may hide someone eligible and free: give such a
    // slot its cheapest free candidate, so no slot is left unfilled while someone who could
    // take it is free (never needed up to `SHORTLIST_MIN` slots).
    for (n, v) in views.iter().enumerate() {
        if assigned[n].is_none() && shortlists[n].len() == lengths[n] {
            if let Some(c) = pool.shortlist(v, 1, w, &taken).first() {
                assigned[n] = Some(c.index);
                taken[c.index as usize] = true;
            }
        }
    }
    let mut proposal = Proposal::default();
    for (s, a) in slots.iter().zip(assigned) {
        match a {
            Some(i) => {
                let c = &candidates[i as usize];
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

/// A shortlisted candidate: its cost for the slot, its rank by id, its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Choice {
    cost: i64,
    rank: u32,
    index: u32,
}

/// A slot as the search reads it: its places and excluded household as interned ids (`None`:
/// no candidate has it), the hours it needs (`None`: never covered), the skills it wants.
struct View<'s> {
    slot: &'s Slot,
    village: Option<u32>,
    town: Option<u32>,
    household: Option<u32>,
    need: Option<[u32; 7]>,
    wanted: Vec<&'s str>,
}

/// The candidates of one call, indexed for the shortlists: by village (home or served) and by
/// town, each list ordered by the slot-independent cost so a search can stop early. Village,
/// town and household ids are interned, so the search compares integers, not text.
struct Pool<'a> {
    candidates: &'a [Candidate],
    median: i64,
    base: Vec<i64>,
    rank: Vec<u32>,
    ids: HashMap<&'a str, u32>,
    /// Per candidate: home village, home town, household (interned), villages served.
    homes: Vec<(u32, u32, u32)>,
    serves: Vec<Vec<u32>>,
    by_village: HashMap<u32, Vec<u32>>,
    by_town: HashMap<u32, Vec<u32>>,
    all: Vec<u32>,
}

impl<'a> Pool<'a> {
    fn new(candidates: &'a [Candidate], w: &Weights) -> Self {
        let mut order: Vec<u32> = (0..candidates.len() as u32).collect();
        order.sort_by(|&a, &b| candidates[a as usize].id.cmp(&candidates[b as usize].id));
        // Ranks follow ids; a repeated id keeps its first candidate (stable sort) only.
        let mut rank = vec![u32::MAX; candidates.len()];
        let mut live = Vec::with_capacity(candidates.len());
        for (r, &i) in order.iter().enumerate() {
            let repeated =
                r > 0 && candidates[order[r - 1] as usize].id == candidates[i as usize].id;
            if !repeated {
                rank[i as usize] = r as u32;
                live.push(i);
            }
        }
        let mut minutes: Vec<i64> = live
            .iter()
            .map(|&i| candidates[i as usize].recent_minutes)
            .collect();
        let median = super::fairness::median(&mut minutes).unwrap_or(0);
        let base: Vec<i64> = candidates.iter().map(|c| base_cost(c, median, w)).collect();
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut intern = |s: &'a str| {
            let next = ids.len() as u32;
            *ids.entry(s).or_insert(next)
        };
        let homes: Vec<(u32, u32, u32)> = candidates
            .iter()
            .map(|c| {
                let village = intern(&c.home.village_id);
                (village, intern(&c.home.town_id), intern(&c.household_id))
            })
            .collect();
        let serves: Vec<Vec<u32>> = candidates
            .iter()
            .map(|c| c.serves.iter().map(|v| intern(v)).collect())
            .collect();
        let mut all = live;
        all.sort_by_key(|&i| (base[i as usize], rank[i as usize]));
        let mut by_village: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut by_town: HashMap<u32, Vec<u32>> = HashMap::new();
        for &i in &all {
            let (village, town, _) = homes[i as usize];
            by_town.entry(town).or_default().push(i);
            by_village.entry(village).or_default().push(i);
            let mut seen = vec![village];
            for &v in &serves[i as usize] {
                if !seen.contains(&v) {
                    seen.push(v);
                    by_village.entry(v).or_default().push(i);
                }
            }
        }
        Self {
            candidates,
            median,
            base,
            rank,
            ids,
            homes,
            serves,
            by_village,
            by_town,
            all,
        }
    }

    fn view<'s>(&self, s: &'s Slot) -> View<'s> {
        View {
            slot: s,
            village: self.ids.get(s.place.village_id.as_str()).copied(),
            town: self.ids.get(s.place.town_id.as_str()).copied(),
            household: (s.excluded_household.as_deref()).and_then(|h| self.ids.get(h).copied()),
            need: availability::hours_needed(s.starts_at, s.ends_at),
            wanted: unique(&s.skills),
        }
    }

    /// [`distance`] on interned ids.
    fn distance(&self, i: u32, v: &View<'_>) -> TermCode {
        let (village, town, _) = self.homes[i as usize];
        if v.village
            .is_some_and(|x| x == village || self.serves[i as usize].contains(&x))
        {
            TermCode::SameVillage
        } else if v.town == Some(town) {
            TermCode::SameTown
        } else {
            TermCode::OtherTown
        }
    }

    /// [`eligibility`] as a yes or no, cheapest and most selective checks first.
    fn eligible(&self, i: u32, v: &View<'_>) -> bool {
        let (c, s) = (&self.candidates[i as usize], v.slot);
        let ok = v.need.is_some_and(|need| c.availability.has(&need))
            && v.household != Some(self.homes[i as usize].2)
            && !s.excluded.iter().any(|x| *x == c.id)
            && certificates(c, s).is_ok()
            && !busy(c, s);
        debug_assert_eq!(ok, eligibility(c, s).is_ok());
        ok
    }

    /// The cost of an eligible pair (what [`terms`] adds up to), `None` for an ineligible one.
    fn cost(&self, i: u32, v: &View<'_>, w: &Weights) -> Option<i64> {
        if !self.eligible(i, v) {
            return None;
        }
        Some(self.cost_in(i, v, self.distance(i, v), w))
    }

    fn cost_in(&self, i: u32, v: &View<'_>, d: TermCode, w: &Weights) -> i64 {
        let c = &self.candidates[i as usize];
        self.base[i as usize]
            .saturating_add(distance_cost(d, w))
            .saturating_add(skills_cost(c, v.slot, &v.wanted, w))
    }

    /// The `k` cheapest eligible candidates for a slot (fewer when fewer are eligible),
    /// cheapest first, none of those `taken` (by index; missing means not taken). Each tier
    /// (village, town, city) is searched in order of the slot-independent cost and left as
    /// soon as even the best skills could not beat the `k`-th found.
    fn shortlist(&self, v: &View<'_>, k: usize, w: &Weights, taken: &[bool]) -> Vec<Choice> {
        let wanted = v.wanted.len() as i64;
        let skills_floor = wanted.saturating_mul(w.has_skill.min(w.missing_skill));
        let mut best: BinaryHeap<Choice> = BinaryHeap::with_capacity(k + 1);
        let tiers = [
            (
                TermCode::SameVillage,
                v.village.and_then(|x| self.by_village.get(&x)),
            ),
            (
                TermCode::SameTown,
                v.town.and_then(|x| self.by_town.get(&x)),
            ),
            (TermCode::OtherTown, Some(&self.all)),
        ];
        for (tier, list) in tiers {
            let Some(list) = list else { continue };
            let floor = distance_cost(tier, w).saturating_add(skills_floor);
            for &i in list {
                let bound = self.base[i as usize].saturating_add(floor);
                if best.len() == k && best.peek().is_some_and(|b| bound > b.cost) {
                    break;
                }
                // Lists overlap (a town holds its villages): each candidate counts in its tier.
                if self.distance(i, v) != tier
                    || taken.get(i as usize).copied().unwrap_or(false)
                    || !self.eligible(i, v)
                {
                    continue;
                }
                let choice = Choice {
                    cost: self.cost_in(i, v, tier, w),
                    rank: self.rank[i as usize],
                    index: i,
                };
                if best.len() < k {
                    best.push(choice);
                } else if best.peek().is_some_and(|b| choice < *b) {
                    best.pop();
                    best.push(choice);
                }
            }
        }
        best.into_sorted_vec()
    }
}

/// Groups of slots linked by shared shortlisted candidates (each group in the slots' order,
/// groups in order of their first slot); slots with an empty shortlist are in no group.
fn components(shortlists: &[Vec<Choice>]) -> Vec<Vec<usize>> {
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut parent: Vec<usize> = (0..shortlists.len()).collect();
    let mut first_slot: HashMap<u32, usize> = HashMap::new();
    for (s, list) in shortlists.iter().enumerate() {
        for choice in list {
            let other = *first_slot.entry(choice.index).or_insert(s);
            let (a, b) = (root(&mut parent, s), root(&mut parent, other));
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    for s in (0..shortlists.len()).filter(|&s| !shortlists[s].is_empty()) {
        let r = root(&mut parent, s);
        let g = *group_of_root.entry(r).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(s);
    }
    groups
}

/// Solve one group by Kuhn–Munkres on its slots × (its candidates not yet `taken`, in id
/// order, + one "unfilled" column per slot), and mark whom it assigns as taken. Leaving a slot
/// unfilled costs more than any difference in cost a filled slot can make up, so the most
/// slots are filled first; an ineligible pair costs more still, so it is never chosen while an
/// "unfilled" column is free (there always is one).
fn solve(
    pool: &Pool<'_>,
    views: &[View<'_>],
    shortlists: &[Vec<Choice>],
    group: &[usize],
    w: &Weights,
    assigned: &mut [Option<u32>],
    taken: &mut [bool],
) {
    let mut columns: Vec<Choice> = group
        .iter()
        .flat_map(|&s| shortlists[s].iter().copied())
        .filter(|c| !taken[c.index as usize])
        .collect();
    columns.sort_by_key(|c| c.rank);
    columns.dedup_by_key(|c| c.index);
    let costs: Vec<Vec<Option<i64>>> = group
        .iter()
        .map(|&s| {
            columns
                .iter()
                .map(|c| pool.cost(c.index, &views[s], w))
                .map(|c| c.map(|x| x.clamp(-COST_CAP, COST_CAP)))
                .collect()
        })
        .collect();
    let largest = costs
        .iter()
        .flatten()
        .flatten()
        .map(|c| c.abs())
        .max()
        .unwrap_or(0);
    // Filling k + 1 slots instead of k can cost at most (2k + 1) × largest more.
    let rows = group.len() as i64;
    let unfilled = (2 * rows + 1) * largest + 1;
    let forbidden = 2 * unfilled;
    let width = columns.len() + group.len();
    let matrix = Matrix::from_fn(group.len(), width, |(r, col)| match costs[r].get(col) {
        Some(Some(cost)) => *cost,
        Some(None) => forbidden,
        None => unfilled,
    });
    let (_, chosen) = kuhn_munkres_min(&matrix);
    for (r, col) in chosen.into_iter().enumerate() {
        if let Some(Some(_)) = costs[r].get(col) {
            assigned[group[r]] = Some(columns[col].index);
            taken[columns[col].index as usize] = true;
        }
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;
