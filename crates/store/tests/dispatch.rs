#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Volunteer dispatch on both backends: a request from asking to points (exactly once, under a
//! retried confirmation), each step only by its party, the matcher's hard constraints in what
//! is sent, concurrent sign-ups that never over-fill a shift, an expired or declined offer that
//! moves on to the next candidate, site codes used once, hours by hand with a second approver,
//! a no-show that costs nothing, and leaving.

use domain::dispatch::matcher::{Availability, TermCode};
use domain::dispatch::{Ask, Confirmation, ManualHours, OfferStatus, OfferStep, TaskStatus};
use domain::{ConsentVersion, PersonName, Phone, ResidentId, ENROLMENT_CONSENT_VERSION};
use moralbank_store::dispatch::offers::Choice;
use moralbank_store::dispatch::service::{Scanned, SiteScan};
use moralbank_store::dispatch::tasks::{Filer, Who};
use moralbank_store::dispatch::volunteers::{Certificate, Joining};
use moralbank_store::evaluation::Rules;
use moralbank_store::{HouseholdChoice, NewCitizen, Store, StoreError};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// The offers' life in these tests.
const EXPIRY: i64 = 4 * HOUR;

fn rid(seq: u32) -> ResidentId {
    let first17 = format!("33028119800101{seq:03}");
    let check = ResidentId::check_char(&first17).unwrap();
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

fn person(village: &str, n: u32, household: HouseholdChoice) -> NewCitizen {
    NewCitizen {
        name: PersonName::parse("陈志强").unwrap(),
        resident_id: rid(n),
        phone: Phone::parse(&format!("1391234{n:04}")).unwrap(),
        village_id: village.to_string(),
        household,
        consent: ConsentVersion::parse_current(
            ENROLMENT_CONSENT_VERSION,
            ENROLMENT_CONSENT_VERSION,
        )
        .unwrap(),
    }
}

fn code_of(e: &StoreError) -> &'static str {
    match e {
        StoreError::Invalid(f) => f.0[0].code,
        StoreError::Conflict(f) => f.code,
        StoreError::NotFound { .. } => "not_found",
        other => panic!("not a refusal: {other:?}"),
    }
}

struct World {
    /// Two villages of one town, and a village of another town.
    village: String,
    neighbour: String,
    far: String,
    alliance: String,
    organiser: Who,
    second: Who,
    now: i64,
}

async fn world(store: &Store) -> World {
    store.fixtures().seed_city(3, 7).await.unwrap();
    let villages = store.registry().villages().await.unwrap();
    let (v, town) = &villages[0];
    let neighbour = villages
        .iter()
        .find(|(x, t)| t.id == town.id && x.id != v.id)
        .unwrap();
    let far = villages.iter().find(|(_, t)| t.id != town.id).unwrap();
    store
        .evaluation()
        .ensure_default_standards("staff:admin")
        .await
        .unwrap();
    let alliance = store
        .accounts()
        .create_partner("余姚市邻里守望志愿服务联盟", "volunteer_alliance")
        .await
        .unwrap()
        .id;
    store
        .evaluation()
        .trust_partners(
            "volunteer-hour",
            std::slice::from_ref(&alliance),
            "staff:admin",
        )
        .await
        .unwrap();
    let staff = |n: &str| Who::Staff {
        actor: format!("staff:{n}"),
        partner_id: Some(alliance.clone()),
        clerk_of: None,
    };
    World {
        village: v.id.clone(),
        neighbour: neighbour.0.id.clone(),
        far: far.0.id.clone(),
        organiser: staff("organiser"),
        second: staff("second"),
        alliance,
        now: moralbank_store::now_ms(),
    }
}

async fn resident(store: &Store, village: &str, n: u32) -> String {
    store
        .enrol_confirmed_for_tests(&person(village, n, HouseholdChoice::New))
        .await
        .citizen_id
}

async fn volunteer(store: &Store, w: &World, village: &str, n: u32, first_aid: bool) -> String {
    let id = resident(store, village, n).await;
    join(store, w, &id, first_aid).await;
    id
}

async fn join(store: &Store, w: &World, id: &str, first_aid: bool) {
    let certificates = if first_aid {
        vec![Certificate {
            skill: "first-aid".into(),
            number: "RC-2026-001".into(),
            valid_until: w.now + 365 * DAY,
        }]
    } else {
        Vec::new()
    };
    store
        .dispatch()
        .join(
            id,
            &Joining {
                alliances: vec![w.alliance.clone()],
                skills: vec!["elderly-care".into()],
                serves: Vec::new(),
                availability: Availability::always(),
                certificates,
            },
            w.now,
        )
        .await
        .unwrap();
}

fn ask(w: &World, people: u32, certificates: &[&str], in_days: i64) -> Ask {
    let starts = w.now + in_days * DAY;
    Ask {
        category: "neighbourhood",
        title: "陪同老人复查".into(),
        place: "村卫生室".into(),
        starts_at: starts,
        ends_at: starts + 3 * HOUR,
        people,
        skills: vec!["elderly-care".into()],
        certificates: certificates.iter().map(|c| c.to_string()).collect(),
        notes: String::new(),
    }
}

/// A request filed by `requester` and accepted by the alliance: its id and shift.
async fn accepted(store: &Store, w: &World, requester: &str, a: &Ask) -> (String, String) {
    let d = store.dispatch();
    let t = d
        .file_request(requester, &w.alliance, a, &Filer::Resident, None, w.now)
        .await
        .unwrap();
    d.review(&t.id, &w.organiser, true, "", w.now)
        .await
        .unwrap();
    let shift = d.shifts(&t.id).await.unwrap()[0].id.clone();
    (t.id, shift)
}

/// Propose and send every proposed offer of `task`.
async fn dispatch(store: &Store, w: &World, task: &str) -> Vec<String> {
    let d = store.dispatch();
    let places = d
        .propose(&w.alliance, &[task.to_string()], w.now)
        .await
        .unwrap();
    let choices: Vec<Choice> = places
        .iter()
        .filter_map(|p| {
            p.offer.as_ref().map(|o| Choice {
                shift_id: p.shift_id.clone(),
                volunteer_id: o.volunteer_id.clone(),
            })
        })
        .collect();
    d.send_offers(&w.organiser, &choices, EXPIRY, w.now)
        .await
        .unwrap();
    choices.into_iter().map(|c| c.volunteer_id).collect()
}

async fn offer_of(store: &Store, task: &str, volunteer: &str) -> moralbank_store::dispatch::Offer {
    store
        .dispatch()
        .task_offers(task)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.volunteer_id == volunteer)
        .unwrap()
}

fn scan(shift: &str, code: &str) -> SiteScan {
    SiteScan {
        shift_id: shift.to_string(),
        code_id: code.to_string(),
    }
}

async fn a_request_goes_from_asking_to_points_exactly_once(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let rules = Rules::default();
    let requester = resident(&store, &w.village, 1).await;
    // Their own household never serves them, however near.
    let code = store
        .registry()
        .create_household_invite(&requester)
        .await
        .unwrap();
    let spouse = store
        .enrol_confirmed_for_tests(&person(
            &w.village,
            2,
            HouseholdChoice::Join { invite_code: code },
        ))
        .await
        .citizen_id;
    join(&store, &w, &spouse, true).await;
    let near = volunteer(&store, &w, &w.village, 3, true).await;
    let _far = volunteer(&store, &w, &w.far, 4, true).await;
    let no_cert = volunteer(&store, &w, &w.village, 5, false).await;

    let t = d
        .file_request(
            &requester,
            &w.alliance,
            &ask(&w, 1, &["first-aid"], 2),
            &Filer::Resident,
            Some("form-1"),
            w.now,
        )
        .await
        .unwrap();
    assert_eq!(t.status, TaskStatus::Requested);
    // The same form sent again makes no second request.
    let again = d
        .file_request(
            &requester,
            &w.alliance,
            &ask(&w, 1, &["first-aid"], 2),
            &Filer::Resident,
            Some("form-1"),
            w.now,
        )
        .await
        .unwrap();
    assert_eq!(again.id, t.id);
    // Only the alliance reviews; only after review is it dispatched.
    let e = d
        .review(&t.id, &Who::Citizen(requester.clone()), true, "", w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_yours");
    let e = d
        .propose(&w.alliance, std::slice::from_ref(&t.id), w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_reviewed");
    d.review(&t.id, &w.organiser, true, "", w.now)
        .await
        .unwrap();

    let places = d
        .propose(&w.alliance, std::slice::from_ref(&t.id), w.now)
        .await
        .unwrap();
    assert_eq!(places.len(), 1);
    let offer = places[0].offer.clone().unwrap();
    // The nearest holder of a valid first-aid certificate, never the household nor one without it.
    assert_eq!(offer.volunteer_id, near);
    assert!(offer.terms.iter().any(|x| x.code == TermCode::SameVillage));
    assert_eq!(offer.terms.iter().map(|x| x.cost).sum::<i64>(), offer.cost);
    for alt in &places[0].alternates {
        assert_ne!(alt.volunteer_id, spouse);
        assert_ne!(alt.volunteer_id, no_cert);
    }
    // A hand-made choice is re-checked: the requester's own household is refused.
    let shift = places[0].shift_id.clone();
    let bad = Choice {
        shift_id: shift.clone(),
        volunteer_id: spouse.clone(),
    };
    let e = d
        .send_offers(&w.organiser, &[bad], EXPIRY, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_own_household");
    let bad = Choice {
        shift_id: shift.clone(),
        volunteer_id: no_cert.clone(),
    };
    let e = d
        .send_offers(&w.organiser, &[bad], EXPIRY, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_certificate_missing");
    let good = Choice {
        shift_id: shift.clone(),
        volunteer_id: near.clone(),
    };
    d.send_offers(&w.organiser, &[good], EXPIRY, w.now)
        .await
        .unwrap();
    assert_eq!(
        d.task(&t.id).await.unwrap().unwrap().status,
        TaskStatus::Dispatched
    );

    let o = offer_of(&store, &t.id, &near).await;
    assert_eq!(o.status, OfferStatus::Offered);
    // Nobody else answers it.
    let e = d
        .answer(&o.id, &no_cert, true, EXPIRY, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_found");
    d.answer(&o.id, &near, true, EXPIRY, w.now).await.unwrap();

    // Check-in only near the time; each code once; check-out with a later code.
    let e = d
        .scan_site(&near, &scan(&shift, "c1"), &rules, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_now");
    let start = o.starts_at;
    assert_eq!(
        d.scan_site(&near, &scan(&shift, "c1"), &rules, start - 10 * 60_000)
            .await
            .unwrap(),
        Scanned::CheckedIn
    );
    let e = d
        .scan_site(&near, &scan(&shift, "c1"), &rules, start + 60_000)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_code_used");
    let e = d
        .scan_site(&no_cert, &scan(&shift, "c2"), &rules, start)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_no_place");
    assert_eq!(
        d.task(&t.id).await.unwrap().unwrap().status,
        TaskStatus::InService
    );
    assert_eq!(
        d.scan_site(
            &near,
            &scan(&shift, "c9"),
            &rules,
            start + 3 * HOUR + 5 * 60_000
        )
        .await
        .unwrap(),
        Scanned::CheckedOut
    );
    // Attendance alone earns nothing: the requester confirms.
    let s = &d.task_service(&t.id).await.unwrap()[0];
    assert_eq!(s.minutes, None);
    let e = d
        .confirm(
            &t.id,
            &w.organiser,
            Confirmation::Requester,
            &rules,
            start + 4 * HOUR,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_yours");
    let e = d
        .confirm(
            &t.id,
            &w.organiser,
            Confirmation::Roster,
            &rules,
            start + 4 * HOUR,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_requester_confirms");
    let n = d
        .confirm(
            &t.id,
            &Who::Citizen(requester.clone()),
            Confirmation::Requester,
            &rules,
            start + 4 * HOUR,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let s = d.task_service(&t.id).await.unwrap()[0].clone();
    assert_eq!(
        (s.minutes, s.hours),
        (Some(180), Some(3)),
        "arrived 10 minutes early, left 5 minutes late: only the window counts"
    );
    let deed = s.deed_id.clone().expect("points submitted");
    let points = store
        .count_for_tests(&format!("SELECT points FROM deeds WHERE id = '{deed}'"))
        .await
        .unwrap();
    assert_eq!(points, 6, "3 hours at the standard's 2 points an hour");
    // A retried confirmation finds nothing to confirm; a retry of the points (as after a crash
    // between the two, simulated) finds the same deed by its key.
    let e = d
        .confirm(
            &t.id,
            &Who::Citizen(requester.clone()),
            Confirmation::Requester,
            &rules,
            start + 5 * HOUR,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_nothing_to_confirm");
    store
        .execute_raw(&format!("UPDATE dispatch_service SET minutes = NULL, hours = NULL, deed_id = NULL, confirmed_at = NULL WHERE offer_id = '{}'", s.offer_id))
        .await
        .unwrap();
    d.confirm(
        &t.id,
        &Who::Citizen(requester.clone()),
        Confirmation::Requester,
        &rules,
        start + 6 * HOUR,
    )
    .await
    .unwrap();
    assert_eq!(
        d.task_service(&t.id).await.unwrap()[0].deed_id.as_deref(),
        Some(deed.as_str())
    );
    let deeds = store
        .count_for_tests(&format!(
            "SELECT COUNT(*) FROM deeds WHERE citizen_id = '{near}'"
        ))
        .await
        .unwrap();
    assert_eq!(deeds, 1, "hours credited exactly once");

    // 评单 once, then closed; a closed task takes no offers.
    let who = Who::Citizen(requester.clone());
    d.rate(&t.id, &who, 5, "很及时", start + 6 * HOUR)
        .await
        .unwrap();
    let e = d
        .rate(&t.id, &who, 4, "", start + 6 * HOUR)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_already_rated");
    let closed = d
        .close(&t.id, &w.organiser, "陪同复查顺利", start + 7 * HOUR)
        .await
        .unwrap();
    assert_eq!(closed.status, TaskStatus::Closed);
    let e = d
        .propose(&w.alliance, std::slice::from_ref(&t.id), start + 7 * HOUR)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_task_ended");
    let rec = d.my_record(&near, start + 7 * HOUR).await.unwrap();
    assert_eq!((rec.services, rec.hours), (1, 3));
    let f = &d.figures(&w.alliance).await.unwrap()[0];
    assert_eq!(
        (f.requests, f.closed, f.hours, f.volunteers_active),
        (1, 1, 3, 1)
    );
    assert!(d.task_events(&t.id).await.unwrap().len() >= 8);
}

async fn concurrent_sign_ups_never_overfill_a_shift(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let mut ids = Vec::new();
    for n in 0..8 {
        ids.push(volunteer(&store, &w, &w.village, 10 + n, false).await);
    }
    let a = ask(&w, 3, &[], 3);
    let t = d
        .publish_activity(
            &w.alliance,
            "staff:organiser",
            &w.village,
            &a,
            &[(a.starts_at, a.ends_at, 3)],
            Some("activity-form-1"),
            w.now,
        )
        .await
        .unwrap();
    // The same form sent again publishes nothing new.
    let again = d
        .publish_activity(
            &w.alliance,
            "staff:organiser",
            &w.village,
            &a,
            &[(a.starts_at, a.ends_at, 3)],
            Some("activity-form-1"),
            w.now,
        )
        .await
        .unwrap();
    assert_eq!(again.id, t.id);
    let shift = d.shifts(&t.id).await.unwrap()[0].id.clone();
    let mut joins = Vec::new();
    for id in &ids {
        let (store, shift, id, now) = (store.clone(), shift.clone(), id.clone(), w.now);
        joins.push(tokio::spawn(async move {
            store.dispatch().sign_up(&shift, &id, now).await
        }));
    }
    let mut statuses = Vec::new();
    for j in joins {
        statuses.push(j.await.unwrap().unwrap().status);
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == OfferStatus::Accepted)
        .count();
    assert_eq!(accepted, 3, "{statuses:?}");
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == OfferStatus::Waitlisted)
            .count(),
        5
    );
    assert_eq!(d.shifts(&t.id).await.unwrap()[0].filled, 3);
    // A place given up goes to the first on the wait list.
    let first = d
        .task_offers(&t.id)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.status == OfferStatus::Accepted)
        .unwrap();
    d.cancel_place(&first.id, &first.volunteer_id, EXPIRY, w.now)
        .await
        .unwrap();
    let offers = d.task_offers(&t.id).await.unwrap();
    assert_eq!(
        offers
            .iter()
            .filter(|o| o.status == OfferStatus::Accepted)
            .count(),
        3
    );
    assert_eq!(d.shifts(&t.id).await.unwrap()[0].filled, 3);
    // Signing up twice is refused.
    let e = d.sign_up(&shift, &ids[1], w.now).await.unwrap_err();
    assert_eq!(code_of(&e), "dispatch_signed_up");
}

async fn a_declined_or_expired_offer_moves_on_and_never_returns(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let requester = resident(&store, &w.village, 30).await;
    let a = volunteer(&store, &w, &w.village, 31, false).await;
    let b = volunteer(&store, &w, &w.neighbour, 32, false).await;
    let c = volunteer(&store, &w, &w.far, 33, false).await;
    let (task, _) = accepted(&store, &w, &requester, &ask(&w, 1, &[], 2)).await;
    let sent = dispatch(&store, &w, &task).await;
    assert_eq!(sent, vec![a.clone()], "the same village first");
    // Unanswered past its time: expired, and the next candidate is offered by the system.
    let n = d.sweep(EXPIRY, w.now + EXPIRY + 1).await.unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        offer_of(&store, &task, &a).await.status,
        OfferStatus::Expired
    );
    let second = offer_of(&store, &task, &b).await;
    assert_eq!(second.status, OfferStatus::Offered);
    // An answer after the expiry is refused; a decline is final and moves on again.
    d.answer(&second.id, &b, false, EXPIRY, w.now + EXPIRY + 2)
        .await
        .unwrap();
    let third = offer_of(&store, &task, &c).await;
    assert_eq!(third.status, OfferStatus::Offered);
    d.answer(&third.id, &c, true, EXPIRY, w.now + EXPIRY + 3)
        .await
        .unwrap();
    // Nobody left: nothing more is offered, and nobody was offered twice.
    assert_eq!(
        d.refill(&task, EXPIRY, w.now + EXPIRY + 4).await.unwrap(),
        0
    );
    let offers = d.task_offers(&task).await.unwrap();
    assert_eq!(offers.len(), 3);
    let e = d
        .answer(
            &offer_of(&store, &task, &a).await.id,
            &a,
            true,
            EXPIRY,
            w.now,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_offer_closed");
    assert_eq!(d.shifts(&task).await.unwrap()[0].filled, 1);
}

async fn concurrent_accepts_take_each_place_once(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let requester = resident(&store, &w.village, 40).await;
    let mut vols = Vec::new();
    for n in 0..4 {
        vols.push(volunteer(&store, &w, &w.village, 41 + n, false).await);
    }
    let (task, shift) = accepted(&store, &w, &requester, &ask(&w, 2, &[], 2)).await;
    let sent = dispatch(&store, &w, &task).await;
    assert_eq!(sent.len(), 2, "one offer per open place");
    // A third offer for a full shift is refused.
    let spare = vols.iter().find(|v| !sent.contains(v)).unwrap().clone();
    let e = d
        .send_offers(
            &w.organiser,
            &[Choice {
                shift_id: shift.clone(),
                volunteer_id: spare,
            }],
            EXPIRY,
            w.now,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_full");
    // Both accept at once (twice each, as a retrying phone would): two places, never more.
    let mut joins = Vec::new();
    for v in sent.iter().chain(sent.iter()) {
        let o = offer_of(&store, &task, v).await;
        let (store, v) = (store.clone(), v.clone());
        joins.push(tokio::spawn(async move {
            store
                .dispatch()
                .answer(&o.id, &v, true, EXPIRY, w_now())
                .await
        }));
    }
    let mut ok = 0;
    for j in joins {
        if j.await.unwrap().is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, 2, "each offer is accepted once");
    assert_eq!(d.shifts(&task).await.unwrap()[0].filled, 2);
    // A resident has at most five requests open, however many are sent at once.
    let busy = resident(&store, &w.village, 49).await;
    let mut joins = Vec::new();
    for k in 0..8 {
        let (store, busy, alliance, a) = (
            store.clone(),
            busy.clone(),
            w.alliance.clone(),
            ask(&w, 1, &[], 2 + k),
        );
        joins.push(tokio::spawn(async move {
            store
                .dispatch()
                .file_request(&busy, &alliance, &a, &Filer::Resident, None, w_now())
                .await
        }));
    }
    let mut filed = 0;
    for j in joins {
        match j.await.unwrap() {
            Ok(_) => filed += 1,
            Err(e) => assert_eq!(code_of(&e), "dispatch_too_many_open"),
        }
    }
    assert_eq!(filed, domain::dispatch::OPEN_REQUESTS_MAX);
}

fn w_now() -> i64 {
    moralbank_store::now_ms()
}

async fn hours_by_hand_need_a_second_approver_and_a_no_show_costs_nothing(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let rules = Rules::default();
    let requester = resident(&store, &w.village, 50).await;
    let a = volunteer(&store, &w, &w.village, 51, false).await;
    let b = volunteer(&store, &w, &w.village, 52, false).await;
    let (task, _) = accepted(&store, &w, &requester, &ask(&w, 2, &[], 1)).await;
    dispatch(&store, &w, &task).await;
    for v in [&a, &b] {
        let o = offer_of(&store, &task, v).await;
        d.answer(&o.id, v, true, EXPIRY, w.now).await.unwrap();
    }
    let oa = offer_of(&store, &task, &a).await;
    let ob = offer_of(&store, &task, &b).await;
    let during = oa.starts_at + HOUR;
    // Before the start neither hours nor a no-show can be recorded.
    let hours = ManualHours::parse("120", "手机没电，未能扫码", 180).unwrap();
    let e = d
        .enter_manual(&oa.id, &w.organiser, &hours, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_started");
    let e = d
        .organiser_step(&ob.id, &w.organiser, OfferStep::NoShow, w.now)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_not_started");
    d.enter_manual(&oa.id, &w.organiser, &hours, during)
        .await
        .unwrap();
    let e = d
        .approve_manual(&oa.id, &w.organiser, &rules, during)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_same_approver");
    // Another alliance's staff cannot approve.
    let stranger = Who::Staff {
        actor: "staff:x".into(),
        partner_id: Some("other".into()),
        clerk_of: None,
    };
    let e = d
        .approve_manual(&oa.id, &stranger, &rules, during)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_found");
    d.approve_manual(&oa.id, &w.second, &rules, during)
        .await
        .unwrap();
    // Approved by hand, a request's hours still wait for its requester's confirmation.
    let waiting = d.task_service(&task).await.unwrap();
    assert!(waiting.iter().all(|s| s.minutes.is_none()), "{waiting:?}");
    d.confirm(
        &task,
        &Who::Citizen(requester.clone()),
        Confirmation::Requester,
        &rules,
        during + HOUR,
    )
    .await
    .unwrap();
    let s = d
        .task_service(&task)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.offer_id == oa.id)
        .unwrap();
    assert_eq!(
        (s.minutes, s.hours, s.attendance.as_deref()),
        (Some(120), Some(2), Some("manual"))
    );
    assert!(s.deed_id.is_some());
    // b never came: a no-show, visible to them, lowering their priority, costing no points.
    let before = store.ledger().points(&b, during).await.unwrap();
    d.organiser_step(&ob.id, &w.organiser, OfferStep::NoShow, during)
        .await
        .unwrap();
    let after = store.ledger().points(&b, during).await.unwrap();
    assert_eq!(before.balance, after.balance);
    assert_eq!(d.my_record(&b, during).await.unwrap().recent_no_shows, 1);
    let cand = d.candidates(&w.alliance, None, during).await.unwrap();
    assert_eq!(cand.iter().find(|c| c.id == b).unwrap().recent_no_shows, 1);
}

async fn leaving_frees_places_and_stops_offers(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let requester = resident(&store, &w.village, 60).await;
    let a = volunteer(&store, &w, &w.village, 61, false).await;
    let (task, _) = accepted(&store, &w, &requester, &ask(&w, 1, &[], 2)).await;
    dispatch(&store, &w, &task).await;
    let o = offer_of(&store, &task, &a).await;
    d.answer(&o.id, &a, true, EXPIRY, w.now).await.unwrap();
    assert_eq!(d.shifts(&task).await.unwrap()[0].filled, 1);
    d.leave(&a, w.now).await.unwrap();
    assert_eq!(
        offer_of(&store, &task, &a).await.status,
        OfferStatus::Withdrawn
    );
    assert_eq!(d.shifts(&task).await.unwrap()[0].filled, 0);
    assert!(d
        .candidates(&w.alliance, None, w.now)
        .await
        .unwrap()
        .is_empty());
    // Bad joining input names each field and changes nothing.
    let id = resident(&store, &w.village, 62).await;
    let e = d
        .join(
            &id,
            &Joining {
                alliances: vec![],
                skills: vec!["juggling".into()],
                serves: vec![w.far.clone(); 11],
                availability: Availability::default(),
                certificates: vec![Certificate {
                    skill: "driving".into(),
                    number: "x".into(),
                    valid_until: w.now + DAY,
                }],
            },
            w.now,
        )
        .await
        .unwrap_err();
    let StoreError::Invalid(f) = e else {
        panic!("invalid")
    };
    let fields: Vec<&str> = f.0.iter().map(|x| x.field.as_str()).collect();
    assert!(
        fields.starts_with(&["alliances", "skills", "serves"]),
        "{fields:?}"
    );
    assert!(fields.contains(&"availability") && fields.contains(&"certificates"));
    assert!(d.volunteer(&id).await.unwrap().is_none());
    // A withdrawal from Moral Bank removes the profile and cancels their open requests.
    let r = d
        .file_request(
            &requester,
            &w.alliance,
            &ask(&w, 1, &[], 3),
            &Filer::Resident,
            None,
            w.now,
        )
        .await
        .unwrap();
    store.registry().withdraw(&requester).await.unwrap();
    assert_eq!(
        d.task(&r.id).await.unwrap().unwrap().status,
        TaskStatus::Cancelled
    );
}

async fn an_activitys_later_shift_counts_its_own_hours_on_the_roster(store: Store) {
    let w = world(&store).await;
    let d = store.dispatch();
    let rules = Rules::default();
    let v = volunteer(&store, &w, &w.village, 70, false).await;
    let first = ask(&w, 2, &[], 1);
    let later = first.starts_at + 2 * DAY;
    // Published by the organiser, who organises it (not its "requester").
    let t = d
        .publish_activity(
            &w.alliance,
            "staff:organiser",
            &w.village,
            &first,
            &[
                (first.starts_at, first.ends_at, 2),
                (later, later + 2 * HOUR, 2),
            ],
            None,
            w.now,
        )
        .await
        .unwrap();
    let shifts = d.shifts(&t.id).await.unwrap();
    let second = shifts
        .iter()
        .find(|s| s.starts_at == later)
        .unwrap()
        .id
        .clone();
    d.sign_up(&second, &v, w.now).await.unwrap();
    d.scan_site(&v, &scan(&second, "a1"), &rules, later - 60_000)
        .await
        .unwrap();
    // The roster waits for the check-out; then confirms what the volunteer scanned themself.
    let e = d
        .confirm(
            &t.id,
            &w.organiser,
            Confirmation::Roster,
            &rules,
            later + HOUR,
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "dispatch_nothing_to_confirm");
    d.scan_site(&v, &scan(&second, "a2"), &rules, later + 2 * HOUR + 60_000)
        .await
        .unwrap();
    d.confirm(
        &t.id,
        &w.organiser,
        Confirmation::Roster,
        &rules,
        later + 3 * HOUR,
    )
    .await
    .unwrap();
    let s = &d.task_service(&t.id).await.unwrap()[0];
    assert_eq!(
        (s.minutes, s.hours),
        (Some(120), Some(2)),
        "the second shift's own window"
    );
    // The deed on the public board names the village and the hours, not the activity's words.
    let deed = s.deed_id.clone().unwrap();
    let rows = store
        .rows_for_tests(&format!(
            "SELECT place, description FROM deeds WHERE id = '{deed}'"
        ))
        .await
        .unwrap();
    assert!(
        !rows[0][0].contains("村卫生室") && rows[0][1].contains("2 小时"),
        "{rows:?}"
    );
    let closed = d
        .close(&t.id, &w.organiser, "两班次完成", later + 4 * HOUR)
        .await
        .unwrap();
    assert_eq!(closed.status, TaskStatus::Closed);
}

moralbank_store::on_both_backends!(
    a_request_goes_from_asking_to_points_exactly_once,
    concurrent_sign_ups_never_overfill_a_shift,
    a_declined_or_expired_offer_moves_on_and_never_returns,
    concurrent_accepts_take_each_place_once,
    hours_by_hand_need_a_second_approver_and_a_no_show_costs_nothing,
    leaving_frees_places_and_stops_offers,
    an_activitys_later_shift_counts_its_own_hours_on_the_roster,
);
