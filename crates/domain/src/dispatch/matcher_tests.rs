use super::search::Pool;
use super::*;
use crate::dispatch::fairness;
use crate::time::{DAY_MS, HOUR_MS};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// 2026-01-05 00:00 in Beijing, a Monday (2026-01-04T16:00Z).
const MONDAY: i64 = 1_767_542_400_000;

fn at(day: i64, hour: i64) -> i64 {
    MONDAY + day * DAY_MS + hour * HOUR_MS
}

fn place(village: &str, town: &str) -> Place {
    Place {
        village_id: village.into(),
        town_id: town.into(),
    }
}

fn candidate(id: &str, village: &str, town: &str) -> Candidate {
    Candidate {
        id: id.into(),
        household_id: format!("h-{id}"),
        home: place(village, town),
        serves: vec![],
        skills: vec![],
        certificates: vec![],
        availability: Availability::always(),
        busy: vec![],
        recent_minutes: 0,
        recent_no_shows: 0,
        newcomer: false,
    }
}

fn slot(key: &str, village: &str, town: &str, starts_at: i64, ends_at: i64) -> Slot {
    Slot {
        key: key.into(),
        place: place(village, town),
        starts_at,
        ends_at,
        certificates: vec![],
        skills: vec![],
        excluded_household: None,
        excluded: vec![],
    }
}

fn hours(from: u32, to: u32) -> u32 {
    ((1u32 << to) - 1) & !((1u32 << from) - 1)
}

/// Weights the examples below are worked out with, whatever the defaults are tuned to.
fn weights() -> Weights {
    Weights {
        same_town: 30,
        other_town: 100,
        missing_skill: 25,
        has_skill: -10,
        fairness: 40,
        no_show: 50,
        newcomer: -20,
    }
}

fn assigned(p: &Proposal) -> Vec<(&str, &str)> {
    p.offers
        .iter()
        .map(|o| (o.slot_key.as_str(), o.volunteer_id.as_str()))
        .collect()
}

#[test]
fn each_hard_constraint_refuses_with_its_own_reason() {
    let c = candidate("a", "v1", "t1");
    let s = slot("s", "v1", "t1", at(0, 9), at(0, 11));
    assert_eq!(eligibility(&c, &s), Ok(()));

    let excluded = Slot {
        excluded: vec!["a".into()],
        excluded_household: Some("h-a".into()),
        ..s.clone()
    };
    assert_eq!(
        eligibility(&c, &excluded),
        Err(Ineligible::Excluded),
        "the first reason that applies"
    );
    let own = Slot {
        excluded_household: Some("h-a".into()),
        ..s.clone()
    };
    assert_eq!(eligibility(&c, &own), Err(Ineligible::OwnHousehold));

    let first_aid = Slot {
        certificates: vec!["first-aid".into()],
        ..s.clone()
    };
    assert_eq!(
        eligibility(&c, &first_aid),
        Err(Ineligible::CertificateMissing)
    );
    let mut expired = c.clone();
    expired.certificates = vec![
        ("first-aid".into(), at(0, 10)),
        ("driving".into(), at(9, 0)),
    ];
    assert_eq!(
        eligibility(&expired, &first_aid),
        Err(Ineligible::CertificateExpired),
        "valid at the start is not enough"
    );
    let mut renewed = expired.clone();
    renewed.certificates.push(("first-aid".into(), at(0, 11)));
    assert_eq!(
        eligibility(&renewed, &first_aid),
        Ok(()),
        "valid until the very end, with an older one expired"
    );

    let mut evenings = c.clone();
    evenings.availability = Availability([hours(18, 22); 7]);
    assert_eq!(eligibility(&evenings, &s), Err(Ineligible::Unavailable));

    let mut busy = c.clone();
    busy.busy = vec![(at(0, 7), at(0, 9)), (at(0, 10), at(0, 12))];
    assert_eq!(eligibility(&busy, &s), Err(Ineligible::Busy));
    busy.busy = vec![(at(0, 7), at(0, 9)), (at(0, 11), at(0, 12))];
    assert_eq!(
        eligibility(&busy, &s),
        Ok(()),
        "windows that only touch do not overlap"
    );
    assert_eq!(
        Ineligible::CertificateExpired.as_str(),
        "certificate_expired"
    );
}

#[test]
fn availability_reads_and_writes_its_text_form() {
    let a = Availability::parse("8-12,14-18;;;;;0-24;18-22").expect("parse");
    assert_eq!(a.0[0], hours(8, 12) | hours(14, 18));
    assert_eq!(a.0[1], 0);
    assert_eq!(a.0[5], hours(0, 24));
    assert_eq!(a.to_text(), "8-12,14-18;;;;;0-24;18-22");
    assert_eq!(Availability::parse(&a.to_text()), Ok(a));

    let messy = Availability::parse(" 14-18 , 8-12,10-14,; 0-1,1-2 ;;;;;").expect("parse");
    assert_eq!(
        messy.to_text(),
        "8-18;0-2;;;;;",
        "overlaps and neighbours join"
    );
    assert_eq!(Availability::default().to_text(), ";;;;;;");
    assert_eq!(Availability::parse(";;;;;;"), Ok(Availability::default()));
    assert_eq!(
        Availability::always().to_text(),
        "0-24;0-24;0-24;0-24;0-24;0-24;0-24"
    );
    let every_other = Availability([0xAA_AAAA; 7]).to_text();
    assert_eq!(
        every_other.len(),
        440,
        "the longest text: 1-2,3-4,…,23-24 each day"
    );
    assert!(every_other.len() <= AVAILABILITY_CHARS_MAX);
}

#[test]
fn availability_text_errors_name_the_field_and_the_problem() {
    let cases = [
        ("8-12", "availability_days"),
        ("", "availability_days"),
        (";;;;;;;", "availability_days"),
        ("8;;;;;;", "availability_range"),
        ("a-b;;;;;;", "availability_range"),
        ("+8-9;;;;;;", "availability_range"),
        ("8-9-10;;;;;;", "availability_range"),
        ("008-9;;;;;;", "availability_range"),
        ("12-8;;;;;;", "availability_hours"),
        ("5-5;;;;;;", "availability_hours"),
        ("0-25;;;;;;", "availability_hours"),
    ];
    for (text, code) in cases {
        let e = Availability::parse(text).expect_err(text);
        assert_eq!((e.field.as_str(), e.code), ("availability", code), "{text}");
    }
    let long = format!("{};;;;;;", "1-2,".repeat(130));
    assert_eq!(
        Availability::parse(&long).map_err(|e| e.code),
        Err("availability_too_long")
    );
}

#[test]
fn a_window_needs_every_hour_it_touches_in_beijing_time() {
    // 2026-01-05T00:00Z is 08:00 on Monday in Beijing.
    let utc_midnight = 1_767_571_200_000;
    let mornings = Availability([hours(8, 10), 0, 0, 0, 0, 0, 0]);
    assert!(mornings.covers(utc_midnight, utc_midnight + 2 * HOUR_MS));
    assert!(!mornings.covers(utc_midnight, utc_midnight + 2 * HOUR_MS + 1));
    assert!(
        mornings.covers(at(0, 8) + 30 * 60_000, at(0, 9) + 10 * 60_000),
        "8:30 to 9:10 needs the hours 8 and 9"
    );
    assert!(!mornings.covers(at(0, 7) + 59 * 60_000, at(0, 9)));
    assert!(mornings.covers(at(7, 8), at(7, 9)), "every Monday");
    assert!(!mornings.covers(at(1, 8), at(1, 9)), "not Tuesday");
}

#[test]
fn a_window_across_midnight_needs_both_days() {
    let mut late = Availability::default();
    late.0[0] = hours(22, 24);
    assert!(!late.covers(at(0, 23), at(1, 1)));
    late.0[1] = hours(0, 1);
    assert!(late.covers(at(0, 23), at(1, 1)));
    assert!(!late.covers(at(0, 23), at(1, 1) + 1));
}

#[test]
fn a_window_across_the_week_boundary_needs_sunday_and_monday() {
    let mut a = Availability::default();
    a.0[6] = hours(23, 24);
    assert!(!a.covers(at(6, 23), at(7, 1)));
    a.0[0] = hours(0, 1);
    assert!(a.covers(at(6, 23), at(7, 1)));
    assert!(a.covers(at(-1, 23), at(0, 1)), "the week before, too");
}

#[test]
fn empty_reversed_and_over_a_week_long_windows_are_never_covered() {
    let a = Availability::always();
    assert!(a.covers(at(0, 0), at(7, 0)));
    assert!(!a.covers(at(0, 0), at(7, 0) + 1));
    assert!(!a.covers(at(0, 5), at(0, 5)));
    assert!(!a.covers(at(0, 6), at(0, 5)));
    assert!(!a.covers(i64::MIN, i64::MAX));
    assert!(!a.covers(i64::MAX - 1, i64::MAX));
}

#[test]
fn terms_explain_the_cost_largest_first() {
    let mut c = candidate("a", "v2", "t1");
    c.skills = vec!["elderly-care".into()];
    c.certificates = vec![("first-aid".into(), at(30, 0))];
    c.recent_minutes = 600;
    c.recent_no_shows = 1;
    let mut s = slot("s", "v1", "t1", at(0, 9), at(0, 11));
    s.skills = vec![
        "elderly-care".into(),
        "driving".into(),
        "elderly-care".into(),
    ];
    s.certificates = vec!["first-aid".into()];
    let w = weights();
    let t = terms(&c, &s, 300, &w);
    let codes: Vec<(TermCode, i64, &str)> = t
        .iter()
        .map(|t| (t.code, t.cost, t.detail.as_str()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (TermCode::NoShows, 50, "1"),
            (TermCode::MoreHours, 40, "10.0"),
            (TermCode::SameTown, 30, "t1"),
            (TermCode::MissingSkill, 25, "driving"),
            (TermCode::HasSkill, -10, "elderly-care"),
            (TermCode::HasSkill, 0, "first-aid"),
        ]
    );
    let pool = Pool::new(std::slice::from_ref(&c), &w);
    let alone = terms(&c, &s, pool.median, &w);
    assert_eq!(
        pool.cost(0, &pool.view(&s), &w),
        Some(total(&alone)),
        "the shortcut agrees"
    );

    c.newcomer = true;
    c.recent_no_shows = 0;
    c.recent_minutes = 0;
    c.serves = vec!["v1".into()];
    let t = terms(&c, &s, 300, &w);
    assert_eq!(t[0].code, TermCode::FewerHours);
    assert_eq!(t[0].cost, -40);
    assert!(t
        .iter()
        .any(|t| t.code == TermCode::SameVillage && t.cost == 0));
    assert!(t
        .iter()
        .any(|t| t.code == TermCode::Newcomer && t.cost == -20));
}

#[test]
fn the_hours_term_is_relative_to_the_median_and_bounded() {
    let w = weights();
    assert_eq!(fairness_cost(300, 300, &w), 0);
    assert_eq!(fairness_cost(450, 300, &w), 20);
    assert_eq!(fairness_cost(150, 300, &w), -20);
    assert_eq!(fairness_cost(0, 300, &w), -40);
    assert_eq!(
        fairness_cost(10_000, 300, &w),
        80,
        "at most twice the weight"
    );
    assert_eq!(
        fairness_cost(90, 0, &w),
        60,
        "an hour's scale while the median is 0"
    );
    assert_eq!(fairness_cost(i64::MAX, i64::MIN, &w), 80);
    let odd = Weights { fairness: -40, ..w };
    assert_eq!(
        fairness_cost(10_000, 300, &odd),
        -80,
        "a negative weight does not panic"
    );
}

#[test]
fn term_codes_have_stable_names() {
    for code in TermCode::ALL {
        assert_eq!(TermCode::parse(code.as_str()), Some(code));
        let json = serde_json::to_string(&code).expect("json");
        assert_eq!(json, format!("\"{}\"", code.as_str()));
    }
    assert_eq!(TermCode::parse("far"), None);
}

#[test]
fn two_places_of_one_request_get_two_people() {
    let (start, end) = (at(2, 9), at(2, 12));
    let slots = [
        slot("r#1", "v1", "t1", start, end),
        slot("r#2", "v1", "t1", start, end),
    ];
    let mut best = candidate("a", "v1", "t1");
    best.newcomer = true;
    let cands = [best, candidate("b", "v1", "t1"), candidate("c", "v9", "t9")];
    let p = propose(&slots, &cands, &Weights::default());
    let mut people: Vec<&str> = assigned(&p).into_iter().map(|(_, v)| v).collect();
    people.sort_unstable();
    assert_eq!(people, vec!["a", "b"]);
    assert!(p.unfilled.is_empty());
}

#[test]
fn a_place_nobody_eligible_can_take_stays_unfilled() {
    let mut s = slot("r#1", "v1", "t1", at(2, 9), at(2, 12));
    s.certificates = vec!["first-aid".into()];
    let slots = [s, slot("r#2", "v1", "t1", at(2, 9), at(2, 12))];
    let cands = [candidate("a", "v1", "t1")];
    let p = propose(&slots, &cands, &Weights::default());
    assert_eq!(assigned(&p), vec![("r#2", "a")]);
    assert_eq!(p.unfilled, vec!["r#1".to_string()]);
    let none = propose(&slots, &[], &Weights::default());
    assert_eq!(none.unfilled.len(), 2);
    assert!(propose(&[], &cands, &Weights::default()).offers.is_empty());
}

#[test]
fn fewer_hours_win_in_the_village_and_the_village_wins_over_the_town() {
    let s = [slot("r#1", "v1", "t1", at(2, 9), at(2, 12))];
    let mut busy_one = candidate("a", "v1", "t1");
    busy_one.recent_minutes = 900;
    let mut rested = candidate("b", "v1", "t1");
    rested.recent_minutes = 120;
    let mut neighbour = candidate("c", "v2", "t1");
    neighbour.recent_minutes = 120;
    let median_filler: Vec<Candidate> = (0..5)
        .map(|i| {
            let mut c = candidate(&format!("z{i}"), "v8", "t8");
            c.recent_minutes = 300;
            c
        })
        .collect();
    let mut all = vec![busy_one, rested, neighbour];
    all.extend(median_filler);
    let p = propose(&s, &all, &weights());
    assert_eq!(assigned(&p), vec![("r#1", "b")]);
    all.remove(1);
    let p = propose(&s, &all, &weights());
    assert_eq!(
        assigned(&p),
        vec![("r#1", "c")],
        "the town's rested volunteer (30 − 24) before the village's tired one (+80)"
    );
}

#[test]
fn the_same_input_in_any_order_gives_the_same_proposal() {
    let slots: Vec<Slot> = (0..6)
        .map(|i| slot(&format!("r#{i}"), "v1", "t1", at(1, 8 + i), at(1, 10 + i)))
        .collect();
    // Everyone alike: only the tie-breaks decide.
    let cands: Vec<Candidate> = (0..9)
        .map(|i| candidate(&format!("c{i}"), if i % 2 == 0 { "v1" } else { "v2" }, "t1"))
        .collect();
    let w = Weights::default();
    let p = propose(&slots, &cands, &w);
    let mut reversed = cands.clone();
    reversed.reverse();
    let q = propose(&slots, &reversed, &w);
    assert_eq!(p.offers, q.offers);
    assert_eq!(p.offers, propose(&slots, &cands, &w).offers);
    let mut ids: Vec<&str> = p.offers.iter().map(|o| o.volunteer_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        vec!["c0", "c1", "c2", "c4", "c6", "c8"],
        "the village's five, then the town's lowest id"
    );
}

#[test]
fn a_volunteer_listed_twice_counts_once() {
    let (start, end) = (at(2, 9), at(2, 12));
    let slots = [
        slot("r#1", "v1", "t1", start, end),
        slot("r#2", "v1", "t1", start + DAY_MS, end + DAY_MS),
    ];
    let cands = [candidate("a", "v1", "t1"), candidate("a", "v1", "t1")];
    let p = propose(&slots, &cands, &Weights::default());
    assert_eq!(p.offers.len(), 1);
    assert_eq!(p.unfilled, vec!["r#2".to_string()]);
}

#[test]
fn a_slot_left_out_of_its_shortlist_still_takes_a_free_volunteer() {
    // Twelve slots in twelve towns share one shortlist of nine cheap volunteers who serve
    // every village; the three slots left over find their own village's volunteer after.
    let w = Weights::default();
    let slots: Vec<Slot> = (0..12)
        .map(|i| {
            let v = format!("v{i}");
            slot(&format!("r#{i}"), &v, &format!("t{i}"), at(1, 9), at(1, 11))
        })
        .collect();
    let mut cands: Vec<Candidate> = (0..9)
        .map(|i| {
            let mut c = candidate(&format!("n{i:02}"), "x", "tx");
            c.serves = (0..12).map(|v| format!("v{v}")).collect();
            c.newcomer = true;
            c.recent_minutes = 0;
            c
        })
        .collect();
    for i in 0..12 {
        let mut c = candidate(&format!("p{i:02}"), &format!("v{i}"), &format!("t{i}"));
        c.recent_minutes = 6_000;
        cands.push(c);
    }
    let p = propose(&slots, &cands, &w);
    assert!(p.unfilled.is_empty(), "{:?}", p.unfilled);
    assert_eq!(p.offers.len(), 12);
}

#[test]
fn a_group_larger_than_the_limit_is_solved_town_by_town_and_keeps_every_rule() {
    // Volunteers of one town serve a village of the other: every slot shares candidates.
    let mut cands: Vec<Candidate> = (0..100)
        .map(|i| {
            let mut c = candidate(&format!("a{i:03}"), "v0", "t0");
            c.serves = vec!["v1".into()];
            c.recent_minutes = i * 7;
            c
        })
        .collect();
    cands.extend((0..20).map(|i| candidate(&format!("b{i:03}"), "v1", "t1")));
    let slots: Vec<Slot> = (0..(GROUP_SLOTS_MAX as i64 + 6))
        .map(|i| {
            let (v, t) = if i % 2 == 0 {
                ("v0", "t0")
            } else {
                ("v1", "t1")
            };
            slot(&format!("r#{i}"), v, t, at(0, 8 + i % 6), at(0, 10 + i % 6))
        })
        .collect();
    let p = propose(&slots, &cands, &Weights::default());
    check_invariants(&slots, &cands, &p).expect("every rule");
    assert!(p.unfilled.is_empty(), "{:?}", p.unfilled);
}

// Random small cities: four villages in two towns, three skills.

const VILLAGES: [(&str, &str); 4] = [("v0", "t0"), ("v1", "t0"), ("v2", "t1"), ("v3", "t1")];
const SKILLS: [&str; 3] = ["first-aid", "driving", "elderly-care"];

fn availability() -> impl Strategy<Value = Availability> {
    prop_oneof![
        3 => Just(Availability::always()),
        2 => (0u32..24, 1u32..25).prop_map(|(from, n)| Availability([hours(from, (from + n).min(24)); 7])),
        1 => prop::array::uniform7(0u32..(1 << 24)).prop_map(Availability),
    ]
}

type CandidateParts = (
    usize,
    Vec<usize>,
    Vec<usize>,
    Option<i64>,
    Availability,
    Vec<(i64, i64)>,
    i64,
    u32,
    bool,
    usize,
);

fn candidates(max: usize) -> impl Strategy<Value = Vec<Candidate>> {
    let parts = (
        0..4usize,
        prop::collection::vec(0..4usize, 0..=2),
        prop::collection::vec(0..3usize, 0..=2),
        prop::option::of(-24i64..240),
        availability(),
        prop::collection::vec((0i64..170, 1i64..6), 0..=2),
        0i64..600,
        0u32..3,
        any::<bool>(),
        0..6usize,
    );
    prop::collection::vec(parts, 0..=max).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, p)| build_candidate(i, p))
            .collect()
    })
}

fn build_candidate(i: usize, p: CandidateParts) -> Candidate {
    let (village, serves, skills, certificate, availability, busy, minutes, no_shows, new, h) = p;
    let (v, t) = VILLAGES[village];
    Candidate {
        id: format!("c{i:02}"),
        household_id: format!("h{h}"),
        home: place(v, t),
        serves: serves.iter().map(|&s| VILLAGES[s].0.to_string()).collect(),
        skills: skills.iter().map(|&s| SKILLS[s].to_string()).collect(),
        certificates: certificate
            .map(|until| ("first-aid".to_string(), at(0, until)))
            .into_iter()
            .collect(),
        availability,
        busy: busy
            .iter()
            .map(|&(s, n)| (at(0, s), at(0, s + n)))
            .collect(),
        recent_minutes: minutes,
        recent_no_shows: no_shows,
        newcomer: new,
    }
}

fn slots(max: usize) -> impl Strategy<Value = Vec<Slot>> {
    let parts = (
        0..4usize,
        0i64..160,
        any::<bool>(),
        1i64..5,
        prop::bool::weighted(0.3),
        prop::collection::vec(0..3usize, 0..=2),
        prop::option::of(0..6usize),
        prop::collection::vec(0..30usize, 0..=3),
    );
    prop::collection::vec(parts, 1..=max).prop_map(|all| {
        all.into_iter()
            .enumerate()
            .map(|(i, (village, hour, half, n, cert, skills, h, excluded))| {
                let (v, t) = VILLAGES[village];
                let start = at(0, hour) + if half { 30 * 60_000 } else { 0 };
                Slot {
                    key: format!("s{i}"),
                    place: place(v, t),
                    starts_at: start,
                    ends_at: start + n * HOUR_MS,
                    certificates: if cert {
                        vec!["first-aid".into()]
                    } else {
                        vec![]
                    },
                    skills: skills.iter().map(|&s| SKILLS[s].to_string()).collect(),
                    excluded_household: h.map(|h| format!("h{h}")),
                    excluded: excluded.iter().map(|c| format!("c{c:02}")).collect(),
                }
            })
            .collect()
    })
}

fn median_of(cands: &[Candidate]) -> i64 {
    let mut m: Vec<i64> = cands.iter().map(|c| c.recent_minutes).collect();
    fairness::median(&mut m).unwrap_or(0)
}

/// The best a proposal can do, by trying every assignment: (most slots filled, least cost).
fn brute_force(slots: &[Slot], cands: &[Candidate], w: &Weights) -> (usize, i64) {
    let median = median_of(cands);
    let costs: Vec<Vec<Option<i64>>> = slots
        .iter()
        .map(|s| {
            cands
                .iter()
                .map(|c| {
                    eligibility(c, s)
                        .ok()
                        .map(|()| total(&terms(c, s, median, w)))
                })
                .collect()
        })
        .collect();
    fn walk(costs: &[Vec<Option<i64>>], row: usize, used: &mut Vec<bool>) -> (usize, i64) {
        let Some(options) = costs.get(row) else {
            return (0, 0);
        };
        let mut best = walk(costs, row + 1, used);
        for (col, cost) in options.iter().enumerate() {
            if let (Some(cost), false) = (cost, used[col]) {
                used[col] = true;
                let (n, rest) = walk(costs, row + 1, used);
                used[col] = false;
                let this = (n + 1, rest + cost);
                if this.0 > best.0 || (this.0 == best.0 && this.1 < best.1) {
                    best = this;
                }
            }
        }
        best
    }
    walk(&costs, 0, &mut vec![false; cands.len()])
}

fn check_invariants(
    slots: &[Slot],
    cands: &[Candidate],
    p: &Proposal,
) -> Result<(), TestCaseError> {
    let w = Weights::default();
    let median = median_of(cands);
    let by_id: HashMap<&str, &Candidate> = cands.iter().map(|c| (c.id.as_str(), c)).collect();
    let by_key: HashMap<&str, &Slot> = slots.iter().map(|s| (s.key.as_str(), s)).collect();
    let mut volunteers = HashSet::new();
    let mut answered: Vec<&str> = p.unfilled.iter().map(String::as_str).collect();
    for o in &p.offers {
        let (c, s) = (by_id[o.volunteer_id.as_str()], by_key[o.slot_key.as_str()]);
        prop_assert_eq!(eligibility(c, s), Ok(()));
        prop_assert!(
            volunteers.insert(&o.volunteer_id),
            "{} twice",
            o.volunteer_id
        );
        prop_assert_eq!(&o.terms, &terms(c, s, median, &w));
        prop_assert_eq!(o.cost, o.terms.iter().map(|t| t.cost).sum::<i64>());
        prop_assert!(o
            .terms
            .windows(2)
            .all(|t| t[0].cost.abs() >= t[1].cost.abs()));
        answered.push(&o.slot_key);
    }
    answered.sort_unstable();
    let mut keys: Vec<&str> = slots.iter().map(|s| s.key.as_str()).collect();
    keys.sort_unstable();
    prop_assert_eq!(answered, keys, "every slot offered or unfilled, once");
    for key in &p.unfilled {
        let free = cands
            .iter()
            .filter(|c| !volunteers.contains(&c.id))
            .find(|c| eligibility(c, by_key[key.as_str()]).is_ok());
        prop_assert!(
            free.is_none(),
            "{key} unfilled while {:?} is free",
            free.map(|c| &c.id)
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn proposals_keep_every_rule(slots in slots(12), cands in candidates(30)) {
        let w = Weights::default();
        let p = propose(&slots, &cands, &w);
        check_invariants(&slots, &cands, &p)?;
        let mut reversed = cands.clone();
        reversed.reverse();
        let q = propose(&slots, &reversed, &w);
        prop_assert_eq!(&p.offers, &q.offers, "the candidates' order does not matter");
        prop_assert_eq!(&p.unfilled, &q.unfilled);
    }

    #[test]
    fn proposals_are_optimal_on_tiny_instances(slots in slots(5), cands in candidates(7)) {
        let w = Weights::default();
        let p = propose(&slots, &cands, &w);
        check_invariants(&slots, &cands, &p)?;
        let (filled, cost) = brute_force(&slots, &cands, &w);
        prop_assert_eq!(p.offers.len(), filled, "the most slots filled");
        prop_assert_eq!(p.offers.iter().map(|o| o.cost).sum::<i64>(), cost, "at the least cost");
    }

    #[test]
    fn any_availability_survives_its_text_form(days in prop::array::uniform7(0u32..(1 << 24))) {
        let a = Availability(days);
        let text = a.to_text();
        prop_assert!(text.len() <= 440);
        prop_assert_eq!(Availability::parse(&text), Ok(a));
    }
}
