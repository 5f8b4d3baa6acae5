//! `moralbank bench dispatch`: the volunteer matcher (`domain::dispatch::matcher`) on a
//! synthetic city, in memory (no database: the matcher is pure, and loading its candidates is
//! the store's benchmark).
//!
//! The city is made the same every run (seeded): 21 towns, 305 villages of skewed sizes on a
//! 45 × 35 km map, `--volunteers` volunteers, each serving their home village and 0–2 of its
//! nearest neighbours in their town, with declared skills, a first-aid certificate for 15 %
//! (some expired, some expiring), a weekly availability pattern, and for most a history of
//! services in the 30 days before the first day.
//!
//! * **batch**: `propose` on `--batch` requests (1–4 people, 10 % needing a valid first-aid
//!   certificate, a 2–4 h window in the next 7 days) against every volunteer, `--open-slots`
//!   assignments already holding their busy windows; median, p99 and max over `--rounds`.
//! * **quarter**: `--days` days of `--batch` requests a day, dispatched once a day by the
//!   matcher, and separately by a greedy nearest-available baseline on the same requests (for
//!   each slot in order, the first eligible volunteer of the lowest id in the slot's village,
//!   else its town, else the city). Each day refreshes what the matcher is told: busy
//!   windows, minutes over the rolling `FAIRNESS_PERIOD_DAYS` (90: services done and those
//!   assigned ahead), no-shows over 60 days (2 % of services, the same ones under both
//!   policies), newcomers.
//!   Figures among the volunteers eligible for at least one slot of the quarter (its hard
//!   constraints, busy windows aside): the Gini coefficient and max/median of assignments,
//!   the fill rate, and the distance travelled: from the volunteer's home village centre to
//!   the slot's village centre, 0.5 km within a village.

use crate::bench::code::median;
use crate::bench::http::{loadavg, round1};
use crate::error::{CliError, Result};
use domain::dispatch::fairness::{gini, max_over_median};
use domain::dispatch::matcher::{
    eligibility, propose, Availability, Candidate, Place, Proposal, Slot, Weights,
};
use domain::dispatch::{FAIRNESS_PERIOD_DAYS, SKILLS};
use domain::time::{CST_OFFSET_MS, DAY_MS, HOUR_MS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct DispatchOptions {
    /// Volunteers in the simulated city.
    #[arg(long, default_value_t = 50_000)]
    pub volunteers: usize,
    /// Open slots already assigned before the timed batch (busy windows).
    #[arg(long, default_value_t = 3_000)]
    pub open_slots: usize,
    /// Requests in the timed batch.
    #[arg(long, default_value_t = 300)]
    pub batch: usize,
    /// Days simulated for the fairness figures (a quarter).
    #[arg(long, default_value_t = 90)]
    pub days: usize,
    /// Timed batches (the median and p99 are reported).
    #[arg(long, default_value_t = 9)]
    pub rounds: usize,
}

const CITY_SEED: u64 = 11;
const BATCH_SEED: u64 = 12;
const QUARTER_SEED: u64 = 13;
const TOWNS: usize = 21;
const VILLAGES: usize = 305;
const MAP_KM: (f64, f64) = (45.0, 35.0);
/// How far a village's centre lies from its town's, at most.
const VILLAGE_SPREAD_KM: f64 = 5.0;
/// A trip within one's own village.
const IN_VILLAGE_KM: f64 = 0.5;
/// The share of volunteers declaring each of the skills, in `SKILLS`' order (first-aid,
/// elderly-care, driving, tutoring, repair, medical, counselling, sign-language, publicity).
const SKILL_SHARES: [f64; SKILLS.len()] = [0.10, 0.30, 0.25, 0.10, 0.10, 0.03, 0.03, 0.02, 0.10];
const CERTIFIED_SHARE: f64 = 0.15;
const NEWCOMER_SHARE: f64 = 0.35;
const FIRST_AID_REQUEST_SHARE: f64 = 0.10;
/// Services that end in a no-show, under both policies.
const NO_SHOW_SHARE: f64 = 0.02;
/// The period whose minutes the hours term compares: the product's.
const RECENT_MS: i64 = FAIRNESS_PERIOD_DAYS * DAY_MS;
const PENALTY_MS: i64 = 60 * DAY_MS;
/// The first day's dispatch: Monday 2026-01-05 08:00 in Beijing.
const START: i64 = 1_767_542_400_000 + 8 * HOUR_MS;

pub fn dispatch(opts: DispatchOptions) -> Result<()> {
    if opts.volunteers == 0 || opts.batch == 0 || opts.days == 0 || opts.rounds == 0 {
        return Err(CliError::Usage(
            "--volunteers, --batch, --days and --rounds must be positive".into(),
        ));
    }
    println!("{}", run(&opts)?);
    Ok(())
}

fn run(o: &DispatchOptions) -> Result<Value> {
    let load_start = loadavg();
    let w = Weights::default();
    let t = Instant::now();
    let city = City::new(o.volunteers, &mut StdRng::seed_from_u64(CITY_SEED));
    let city_s = t.elapsed().as_secs_f64();
    eprintln!(
        "timing {} batches of {} requests against {} volunteers",
        o.rounds, o.batch, o.volunteers
    );
    let batch = timed_batch(&city, o, &w)?;
    eprintln!(
        "simulating {} days of {} requests, matcher and baseline",
        o.days, o.batch
    );
    let quarter = quarter(&city, o, &w)?;
    let (m, b) = (&quarter["matcher"], &quarter["baseline"]);
    let figure = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let goals = json!({
        "batch_p50_le_1000_ms": figure(&batch, "ms_p50") <= 1000.0,
        "gini_le_0_3": figure(m, "gini") <= 0.3,
        "gini_below_baseline": figure(m, "gini") < figure(b, "gini"),
        "distance_le_1_2_baseline":
            figure(m, "distance_km_mean") <= 1.2 * figure(b, "distance_km_mean"),
    });
    Ok(json!({
        "bench": "dispatch", "volunteers": o.volunteers, "towns": TOWNS, "villages": VILLAGES,
        "city_seconds": round1(city_s), "weights": w,
        "batch": batch, "quarter": quarter, "goals": goals,
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    }))
}

struct Village {
    id: String,
    town: usize,
    at: (f64, f64),
    /// The two nearest villages of the same town, nearest first.
    neighbours: Vec<usize>,
}

/// One service in a volunteer's history: its window and whether they failed to come.
#[derive(Clone)]
struct Service {
    start: i64,
    end: i64,
    no_show: bool,
}

struct City {
    villages: Vec<Village>,
    village_of: HashMap<String, usize>,
    towns: Vec<String>,
    /// Cumulative village sizes: people and requests are spread alike.
    cumulative: Vec<f64>,
    /// The volunteers as of the first day, without busy windows.
    volunteers: Vec<Candidate>,
    home: Vec<usize>,
    residents: Vec<Vec<usize>>,
    /// By village, the volunteers who live in or serve it; by town, those who live in it;
    /// everyone: each list in id order, for the baseline.
    serving: Vec<Vec<usize>>,
    town_people: Vec<Vec<usize>>,
    everyone: Vec<usize>,
    /// Services in the 30 days before the first day.
    history: Vec<Vec<Service>>,
}

impl City {
    fn new(n: usize, rng: &mut StdRng) -> Self {
        let towns: Vec<String> = (0..TOWNS).map(|t| format!("town-{t:02}")).collect();
        let centres: Vec<(f64, f64)> = (0..TOWNS)
            .map(|_| (rng.gen_range(0.0..MAP_KM.0), rng.gen_range(0.0..MAP_KM.1)))
            .collect();
        let mut villages: Vec<Village> = (0..VILLAGES)
            .map(|v| {
                let town = v % TOWNS;
                let (r, a) = (
                    VILLAGE_SPREAD_KM * rng.gen::<f64>().sqrt(),
                    rng.gen_range(0.0..std::f64::consts::TAU),
                );
                Village {
                    id: format!("village-{v:03}"),
                    town,
                    at: (centres[town].0 + r * a.cos(), centres[town].1 + r * a.sin()),
                    neighbours: vec![],
                }
            })
            .collect();
        for v in 0..VILLAGES {
            let mut near: Vec<usize> = (0..VILLAGES)
                .filter(|&u| u != v && villages[u].town == villages[v].town)
                .collect();
            near.sort_by(|&a, &b| {
                km(villages[v].at, villages[a].at).total_cmp(&km(villages[v].at, villages[b].at))
            });
            near.truncate(2);
            villages[v].neighbours = near;
        }
        // Sizes skewed: a few large villages, many small ones (0.2 to 3.2).
        let mut cumulative = Vec::with_capacity(VILLAGES);
        let mut sum = 0.0;
        for _ in 0..VILLAGES {
            sum += 0.2 + 3.0 * rng.gen::<f64>().powi(3);
            cumulative.push(sum);
        }
        let village_of = villages
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.clone(), i))
            .collect();
        let mut city = City {
            villages,
            village_of,
            towns,
            cumulative,
            volunteers: Vec::with_capacity(n),
            home: Vec::with_capacity(n),
            residents: vec![Vec::new(); VILLAGES],
            history: Vec::with_capacity(n),
            serving: vec![Vec::new(); VILLAGES],
            town_people: vec![Vec::new(); TOWNS],
            everyone: (0..n).collect(),
        };
        for i in 0..n {
            city.add_volunteer(i, rng);
            let v = city.home[i];
            city.serving[v].push(i);
            city.town_people[city.villages[v].town].push(i);
            for u in &city.volunteers[i].serves {
                city.serving[city.village_of[u]].push(i);
            }
        }
        city
    }

    fn pick_village(&self, rng: &mut StdRng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.gen_range(0.0..total);
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(VILLAGES - 1)
    }

    fn place(&self, v: usize) -> Place {
        Place {
            village_id: self.villages[v].id.clone(),
            town_id: self.towns[self.villages[v].town].clone(),
        }
    }

    fn add_volunteer(&mut self, i: usize, rng: &mut StdRng) {
        let v = self.pick_village(rng);
        // A quarter of volunteers share a household with the village's previous one.
        let household = match self.residents[v].last() {
            Some(&prev) if rng.gen_bool(0.25) => self.volunteers[prev].household_id.clone(),
            _ => format!("household-{i:06}"),
        };
        let serves = self.villages[v]
            .neighbours
            .iter()
            .take(rng.gen_range(0..=2))
            .map(|&u| self.villages[u].id.clone())
            .collect();
        let mut skills: Vec<String> = SKILLS
            .iter()
            .zip(SKILL_SHARES)
            .filter(|(_, share)| rng.gen_bool(*share))
            .map(|(k, _)| (*k).to_string())
            .collect();
        let mut certificates = Vec::new();
        if rng.gen_bool(CERTIFIED_SHARE) {
            // Valid from six months ago to two years ahead: some expired, some expiring.
            certificates.push((
                "first-aid".to_string(),
                START + rng.gen_range(-180..720) * DAY_MS,
            ));
            if !skills.iter().any(|k| k == "first-aid") {
                skills.push("first-aid".into());
            }
        }
        let newcomer = rng.gen_bool(NEWCOMER_SHARE);
        let history = if newcomer {
            vec![]
        } else {
            (0..rng.gen_range(0..=3))
                .map(|_| {
                    let start =
                        START - rng.gen_range(1..=30) * DAY_MS + rng.gen_range(0..10) * HOUR_MS;
                    Service {
                        start,
                        end: start + rng.gen_range(2..=4) * HOUR_MS,
                        no_show: rng.gen_bool(NO_SHOW_SHARE),
                    }
                })
                .collect()
        };
        self.volunteers.push(Candidate {
            id: format!("v{i:06}"),
            household_id: household,
            home: self.place(v),
            serves,
            skills,
            certificates,
            availability: pattern(rng),
            busy: vec![],
            recent_minutes: 0,
            recent_no_shows: 0,
            newcomer,
        });
        self.home.push(v);
        self.residents[v].push(i);
        self.history.push(history);
    }
}

fn km(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// A weekly availability pattern: weekday evenings, weekends, mornings, weekday daytime
/// (retired), evenings and weekends, or always.
fn pattern(rng: &mut StdRng) -> Availability {
    let hours = |from: u32, to: u32| ((1u32 << to) - 1) & !((1u32 << from) - 1);
    let (weekdays, weekend) = match rng.gen_range(0..100) {
        0..25 => (hours(18, 22), 0),
        25..45 => (0, hours(8, 20)),
        45..60 => (hours(7, 12), hours(7, 12)),
        60..75 => (hours(8, 18), 0),
        75..90 => (hours(18, 22), hours(8, 22)),
        _ => (hours(0, 24), hours(0, 24)),
    };
    Availability([
        weekdays, weekdays, weekdays, weekdays, weekdays, weekend, weekend,
    ])
}

/// A 2–4 h window (in half hours) starting between 8:00 and 19:30 on one of the next 7 days,
/// at least an hour after `now`.
fn window(now: i64, rng: &mut StdRng) -> (i64, i64) {
    let midnight = now - (now + CST_OFFSET_MS).rem_euclid(DAY_MS);
    let half_hour = HOUR_MS / 2;
    let mut start = midnight + rng.gen_range(0..7) * DAY_MS + rng.gen_range(16..40) * half_hour;
    if start < now + HOUR_MS {
        start += 7 * DAY_MS;
    }
    (start, start + rng.gen_range(4..=8) * half_hour)
}

/// `n` requests made at `now`, one slot per person, keyed `{tag}{request}#{person}`.
fn requests(city: &City, now: i64, n: usize, tag: &str, rng: &mut StdRng) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(n * 2);
    for r in 0..n {
        let v = city.pick_village(rng);
        let people = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4][rng.gen_range(0..10)];
        let (starts_at, ends_at) = window(now, rng);
        let certificates = if rng.gen_bool(FIRST_AID_REQUEST_SHARE) {
            vec!["first-aid".to_string()]
        } else {
            vec![]
        };
        let wanted = match rng.gen_range(0..20) {
            0..10 => 0,
            10..17 => 1,
            _ => 2,
        };
        let skills: Vec<String> = (0..wanted)
            .map(|_| SKILLS[rng.gen_range(1..SKILLS.len())].to_string())
            .collect();
        // Most requesters are a volunteer's household in the village; the rest are not.
        let household = match city.residents[v].len() {
            0 => format!("requester-{tag}{r}"),
            k if rng.gen_bool(0.6) => city.volunteers[city.residents[v][rng.gen_range(0..k)]]
                .household_id
                .clone(),
            _ => format!("requester-{tag}{r}"),
        };
        for p in 0..people {
            slots.push(Slot {
                key: format!("{tag}{r}#{p}"),
                place: city.place(v),
                starts_at,
                ends_at,
                certificates: certificates.clone(),
                skills: skills.clone(),
                excluded_household: Some(household.clone()),
                excluded: vec![],
            });
        }
    }
    slots
}

/// What the matcher is told about each volunteer at `now`, from their services (older than
/// both periods forgotten): busy windows still ahead, minutes over the fairness period
/// (including those assigned ahead, so one day's batch sees the previous days'), no-shows,
/// and whether they have completed a service yet.
fn refresh(cands: &mut [Candidate], log: &mut [Vec<Service>], now: i64) {
    for (c, services) in cands.iter_mut().zip(log.iter_mut()) {
        services.retain(|s| s.end > now - PENALTY_MS.max(RECENT_MS));
        c.busy = services
            .iter()
            .filter(|s| s.end > now)
            .map(|s| (s.start, s.end))
            .collect();
        let done = |s: &&Service| s.end <= now;
        c.recent_minutes = services
            .iter()
            .filter(|s| s.start >= now - RECENT_MS && !(s.no_show && s.end <= now))
            .map(|s| (s.end - s.start) / 60_000)
            .sum();
        let penalised = |s: &&Service| s.no_show && s.end > now - PENALTY_MS;
        c.recent_no_shows = services.iter().filter(done).filter(penalised).count() as u32;
        c.newcomer = c.newcomer && !services.iter().filter(done).any(|s| !s.no_show);
    }
}

fn timed_batch(city: &City, o: &DispatchOptions, w: &Weights) -> Result<Value> {
    let mut rng = StdRng::seed_from_u64(BATCH_SEED);
    let mut cands = city.volunteers.clone();
    let mut log = city.history.clone();
    for _ in 0..o.open_slots {
        let (start, end) = window(START, &mut rng);
        log[rng.gen_range(0..cands.len())].push(Service {
            start,
            end,
            no_show: false,
        });
    }
    refresh(&mut cands, &mut log, START);
    let slots = requests(city, START, o.batch, "b", &mut rng);
    let mut times = Vec::with_capacity(o.rounds);
    let mut last = Proposal::default();
    for _ in 0..o.rounds {
        let t = Instant::now();
        last = propose(&slots, &cands, w);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    check(&slots, &cands, &last)?;
    times.sort_by(f64::total_cmp);
    Ok(json!({
        "requests": o.batch, "slots": slots.len(), "open_slots": o.open_slots,
        "filled": last.offers.len(), "unfilled": last.unfilled.len(), "rounds": o.rounds,
        "ms_p50": round1(median(&mut times.clone())),
        "ms_p99": round1(percentile(&times, 0.99)),
        "ms_max": round1(times.last().copied().unwrap_or(0.0)),
    }))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// The matcher's own rules, checked on its answer: every offer eligible, nobody twice, every
/// slot answered once.
fn check(slots: &[Slot], cands: &[Candidate], p: &Proposal) -> Result<()> {
    let by_id: HashMap<&str, &Candidate> = cands.iter().map(|c| (c.id.as_str(), c)).collect();
    let by_key: HashMap<&str, &Slot> = slots.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut people = HashSet::new();
    for o in &p.offers {
        let (Some(c), Some(s)) = (
            by_id.get(o.volunteer_id.as_str()),
            by_key.get(o.slot_key.as_str()),
        ) else {
            return Err(CliError::Check(format!("an offer names nothing: {o:?}")));
        };
        if eligibility(c, s).is_err() || !people.insert(&o.volunteer_id) {
            return Err(CliError::Check(format!(
                "offer {} → {} breaks a rule",
                o.slot_key, o.volunteer_id
            )));
        }
    }
    if p.offers.len() + p.unfilled.len() != slots.len() {
        return Err(CliError::Check(
            "a slot was answered twice or not at all".into(),
        ));
    }
    Ok(())
}

/// What one policy did over the quarter.
#[derive(Default)]
struct Figures {
    counts: Vec<u64>,
    slots: usize,
    filled: usize,
    km: f64,
    /// Filled slots in a village the volunteer lives in or serves, in their town, elsewhere.
    classes: [usize; 3],
    ms: Vec<f64>,
}

#[derive(Clone, Copy)]
enum Policy<'a> {
    Matcher(&'a Weights),
    Greedy,
}

fn quarter(city: &City, o: &DispatchOptions, w: &Weights) -> Result<Value> {
    let days: Vec<Vec<Slot>> = (0..o.days)
        .map(|d| {
            let mut rng = StdRng::seed_from_u64(QUARTER_SEED + d as u64);
            requests(city, day(d), o.batch, &format!("d{d}-"), &mut rng)
        })
        .collect();
    let eligible: Vec<bool> = city
        .volunteers
        .iter()
        .map(|c| days.iter().flatten().any(|s| eligibility(c, s).is_ok()))
        .collect();
    let t = Instant::now();
    let matcher = simulate(city, &days, Policy::Matcher(w))?;
    let matcher_s = t.elapsed().as_secs_f64();
    let baseline = simulate(city, &days, Policy::Greedy)?;
    let (m, b) = (
        summary(city, &matcher, &eligible),
        summary(city, &baseline, &eligible),
    );
    let ratio = |k: &str| match (m[k].as_f64(), b[k].as_f64()) {
        (Some(x), Some(y)) if y > 0.0 => json!((x / y * 1000.0).round() / 1000.0),
        _ => Value::Null,
    };
    let ratios = json!({
        "gini": ratio("gini"), "distance_km": ratio("distance_km_mean"),
        "fill_rate": ratio("fill_rate"),
    });
    Ok(json!({
        "days": o.days, "requests": o.days * o.batch, "slots": matcher.slots,
        "eligible_volunteers": eligible.iter().filter(|e| **e).count(),
        "matcher_seconds": round1(matcher_s),
        "matcher_ms_per_day_p50": round1(median(&mut matcher.ms.clone())),
        "matcher": m, "baseline": b, "ratios": ratios,
    }))
}

/// The `d`-th day's dispatch time.
fn day(d: usize) -> i64 {
    START + d as i64 * DAY_MS
}

fn simulate(city: &City, days: &[Vec<Slot>], policy: Policy<'_>) -> Result<Figures> {
    let mut cands = city.volunteers.clone();
    let mut log = city.history.clone();
    let index: HashMap<&str, usize> = city
        .volunteers
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut f = Figures {
        counts: vec![0; cands.len()],
        ..Figures::default()
    };
    for (d, slots) in days.iter().enumerate() {
        refresh(&mut cands, &mut log, day(d));
        let picks: Vec<(usize, usize)> = match policy {
            Policy::Matcher(w) => {
                let t = Instant::now();
                let p = propose(slots, &cands, w);
                f.ms.push(t.elapsed().as_secs_f64() * 1000.0);
                check(slots, &cands, &p)?;
                let slot_of: HashMap<&str, usize> = slots
                    .iter()
                    .enumerate()
                    .map(|(n, s)| (s.key.as_str(), n))
                    .collect();
                p.offers
                    .iter()
                    .map(|o| (slot_of[o.slot_key.as_str()], index[o.volunteer_id.as_str()]))
                    .collect()
            }
            Policy::Greedy => greedy(city, slots, &mut cands),
        };
        f.slots += slots.len();
        for (n, v) in picks {
            let s = &slots[n];
            log[v].push(Service {
                start: s.starts_at,
                end: s.ends_at,
                no_show: no_show(v, d, n),
            });
            f.counts[v] += 1;
            f.filled += 1;
            let (home, to) = (city.home[v], city.village_of[&s.place.village_id]);
            f.km += if home == to {
                IN_VILLAGE_KM
            } else {
                km(city.villages[home].at, city.villages[to].at)
            };
            f.classes[class(&cands[v], s)] += 1;
        }
    }
    Ok(f)
}

/// The baseline: each slot in order to the first eligible volunteer by id in the nearest
/// class (the slot's village, its town, the city), who is then busy for that window.
fn greedy(city: &City, slots: &[Slot], cands: &mut [Candidate]) -> Vec<(usize, usize)> {
    let mut picks = Vec::new();
    for (n, s) in slots.iter().enumerate() {
        let v = city.village_of[&s.place.village_id];
        let tiers: [&[usize]; 3] = [
            &city.serving[v],
            &city.town_people[city.villages[v].town],
            &city.everyone,
        ];
        let found = tiers.iter().enumerate().find_map(|(tier, list)| {
            list.iter()
                .copied()
                .find(|&i| class(&cands[i], s) == tier && eligibility(&cands[i], s).is_ok())
        });
        if let Some(i) = found {
            cands[i].busy.push((s.starts_at, s.ends_at));
            picks.push((n, i));
        }
    }
    picks
}

/// 0 for a village the volunteer lives in or serves, 1 for their town, 2 for elsewhere: the
/// matcher's own distance classes.
fn class(c: &Candidate, s: &Slot) -> usize {
    if c.home.village_id == s.place.village_id || c.serves.contains(&s.place.village_id) {
        0
    } else if c.home.town_id == s.place.town_id {
        1
    } else {
        2
    }
}

/// Whether volunteer `v` fails to come to slot `n` of day `d`: a hash, so both policies see
/// the same no-shows for the same assignment.
fn no_show(v: usize, d: usize, n: usize) -> bool {
    let mut x = (v as u64) << 32 ^ (d as u64) << 20 ^ n as u64;
    // splitmix64's finaliser.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x as f64 / u64::MAX as f64) < NO_SHOW_SHARE
}

/// The Gini the counts would have if each availability pattern's assignments were shared as
/// evenly as whole numbers allow among its volunteers: the part of the inequality that comes
/// from when people are free (weekday daytime slots can only go to those free then), not from
/// whom the policy picks.
fn gini_even_within_availability(city: &City, f: &Figures, eligible: &[bool]) -> f64 {
    let mut groups: BTreeMap<[u32; 7], (u64, u64)> = BTreeMap::new();
    for (i, c) in city
        .volunteers
        .iter()
        .enumerate()
        .filter(|(i, _)| eligible[*i])
    {
        let g = groups.entry(c.availability.0).or_default();
        g.0 += 1;
        g.1 += f.counts[i];
    }
    let mut even = Vec::with_capacity(eligible.len());
    for (n, total) in groups.into_values() {
        let (each, more) = (total / n, total % n);
        even.extend((0..n).map(|k| each + u64::from(k < more)));
    }
    gini(&even)
}

fn summary(city: &City, f: &Figures, eligible: &[bool]) -> Value {
    let counts: Vec<u64> = f
        .counts
        .iter()
        .zip(eligible)
        .filter(|(_, e)| **e)
        .map(|(c, _)| *c)
        .collect();
    let even = gini_even_within_availability(city, f, eligible);
    let filled = f.filled.max(1) as f64;
    let share = |k: usize| (f.classes[k] as f64 / filled * 1000.0).round() / 1000.0;
    json!({
        "fill_rate": (f.filled as f64 / f.slots.max(1) as f64 * 1000.0).round() / 1000.0,
        "gini": (gini(&counts) * 1000.0).round() / 1000.0,
        "gini_even_within_availability": (even * 1000.0).round() / 1000.0,
        "max_over_median": max_over_median(&counts).map(|x| (x * 100.0).round() / 100.0),
        "max": counts.iter().max(),
        "served_share": (counts.iter().filter(|c| **c > 0).count() as f64 / counts.len().max(1) as f64 * 1000.0).round() / 1000.0,
        "distance_km_mean": (f.km / filled * 100.0).round() / 100.0,
        "same_village_share": share(0), "same_town_share": share(1), "other_town_share": share(2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_city_runs_and_reports_every_figure() {
        let o = DispatchOptions {
            volunteers: 2_000,
            open_slots: 100,
            batch: 20,
            days: 3,
            rounds: 1,
        };
        let v = run(&o).expect("run");
        assert!(v["batch"]["filled"].as_u64().unwrap_or(0) > 0);
        let q = &v["quarter"];
        assert_eq!(q["days"], 3);
        for policy in ["matcher", "baseline"] {
            for figure in ["fill_rate", "gini", "distance_km_mean", "served_share"] {
                assert!(q[policy][figure].is_number(), "{policy} {figure}");
            }
        }
        assert!(v["goals"]["batch_p50_le_1000_ms"].is_boolean());
    }

    #[test]
    fn windows_fall_in_the_days_ahead_in_daytime() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1_000 {
            let (start, end) = window(START, &mut rng);
            assert!((START + HOUR_MS..START + 8 * DAY_MS).contains(&start));
            assert!((2 * HOUR_MS..=4 * HOUR_MS).contains(&(end - start)));
            let hour = (start + CST_OFFSET_MS).rem_euclid(DAY_MS) / HOUR_MS;
            assert!((8..20).contains(&hour), "{hour}");
        }
    }

    #[test]
    fn the_greedy_baseline_keeps_picking_the_first_volunteer_of_the_village() {
        let city = City::new(500, &mut StdRng::seed_from_u64(CITY_SEED));
        let v = city.home[0];
        let mut cands = city.volunteers.clone();
        for c in &mut cands {
            c.availability = Availability::always();
        }
        let slots: Vec<Slot> = (0..3)
            .map(|d| Slot {
                key: format!("s{d}"),
                place: city.place(v),
                starts_at: day(d) + 2 * HOUR_MS,
                ends_at: day(d) + 4 * HOUR_MS,
                certificates: vec![],
                skills: vec![],
                excluded_household: None,
                excluded: vec![],
            })
            .collect();
        let picks = greedy(&city, &slots, &mut cands);
        let first = city.serving[v][0];
        assert_eq!(picks, vec![(0, first), (1, first), (2, first)]);
    }
}
