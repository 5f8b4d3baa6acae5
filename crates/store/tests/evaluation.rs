#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Evaluation's state machine on SQLite and PostgreSQL: every transition, every forbidden one,
//! recusal, caps, duplicates, objections, appeals, and crediting through the ledger exactly once
//! (across reruns, restarts and two servers), with a controlled clock.

use domain::deed::DeedStatus;
use domain::IdempotencyKey;
use domain::{Password, Role, Username};
use moralbank_store::evaluation::{
    AppealDecision, BoardCursor, NewDeed, NewStandard, Reporter, Rules, VoteInput,
};
use moralbank_store::ledger::{Sequencer, SequencerConfig};
use moralbank_store::{NewStaff, Staff, Store, StoreError};

const DAY: i64 = 86_400_000;
/// 2026-11-20 12:00 in Beijing.
const T0: i64 = 1_795_147_200_000;

struct Town {
    store: Store,
    seq: Sequencer,
    rules: Rules,
    /// Three evaluators of the first village; member 0 lives in citizen 0's household.
    members: Vec<Staff>,
    reviewer: Staff,
    other_reviewer: Staff,
    /// Citizens of the first village, by household: [0] and [1] share one, [2] is elsewhere.
    citizens: Vec<String>,
    /// The residents members 1 and 2 and the reviewer are linked to, each their own household.
    homes: Vec<String>,
    admin: String,
}

async fn staff(store: &Store, name: &str, role: Role, region: Option<String>) -> Staff {
    store
        .accounts()
        .create_staff(&NewStaff {
            username: Username::parse(name).unwrap(),
            display_name: format!("{name} 委员"),
            password: Password::parse("correct horse battery").unwrap(),
            role,
            region_id: region,
            partner_id: None,
        })
        .await
        .unwrap()
}

async fn town(store: Store) -> Town {
    let city = store.fixtures().seed_city(300, 5).await.unwrap();
    // A village with a household of two and someone from another household.
    let ids = store.citizen_ids(300).await;
    let mut villages: std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<String, Vec<String>>,
    > = Default::default();
    for id in &ids {
        let c = store.registry().citizen_summary(id).await.unwrap().unwrap();
        villages
            .entry(c.village_id)
            .or_default()
            .entry(c.household_id)
            .or_default()
            .push(id.clone());
    }
    let (village, households) = villages
        .into_iter()
        .find(|(_, hs)| hs.len() >= 2 && hs.values().any(|m| m.len() >= 2))
        .expect("a village with a household of two and another household");
    let pair = households.values().find(|m| m.len() >= 2).unwrap().clone();
    let single = households.values().find(|m| !m.contains(&pair[0])).unwrap()[0].clone();
    let citizens = vec![pair[0].clone(), pair[1].clone(), single];
    // Members 1 and 2 and the reviewer are villagers too, each in a household of their own.
    let mut homes = Vec::new();
    for n in 0..3 {
        let (phone, rid) = moralbank_store::fixtures::city::demo_identity(800_000 + n);
        let enrolled = store
            .enrol_confirmed_for_tests(&moralbank_store::NewCitizen {
                name: domain::PersonName::parse("李四清").unwrap(),
                resident_id: rid,
                phone,
                village_id: village.clone(),
                household: moralbank_store::HouseholdChoice::New,
                consent: domain::ConsentVersion::parse_current(
                    domain::ENROLMENT_CONSENT_VERSION,
                    domain::ENROLMENT_CONSENT_VERSION,
                )
                .unwrap(),
            })
            .await;
        homes.push(enrolled.citizen_id);
    }
    let town_id = store
        .registry()
        .region(&village)
        .await
        .unwrap()
        .unwrap()
        .parent_id
        .unwrap();
    let mut members = Vec::new();
    for i in 0..3 {
        members.push(
            staff(
                &store,
                &format!("member-{i}"),
                Role::Evaluator,
                Some(village.clone()),
            )
            .await,
        );
    }
    store
        .evaluation()
        .link_staff_citizen(&members[0].id, Some(&citizens[1]), true)
        .await
        .unwrap();
    for (m, home) in members[1..].iter().zip(&homes) {
        store
            .evaluation()
            .link_staff_citizen(&m.id, Some(home), false)
            .await
            .unwrap();
    }
    let reviewer = staff(
        &store,
        "reviewer",
        Role::TownReviewer,
        Some(town_id.clone()),
    )
    .await;
    store
        .evaluation()
        .link_staff_citizen(&reviewer.id, Some(&homes[2]), false)
        .await
        .unwrap();
    let other_town = store
        .registry()
        .region_children(&store.registry().city().await.unwrap().unwrap().id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.id != town_id)
        .unwrap();
    let _ = city;
    let other_reviewer = staff(
        &store,
        "other-reviewer",
        Role::TownReviewer,
        Some(other_town.id),
    )
    .await;
    store
        .evaluation()
        .ensure_default_standards("staff:admin")
        .await
        .unwrap();
    let (skey, _) = moralbank_ledger::generate_log_key("test/log");
    let (seq, _t) = Sequencer::start(
        store.clone(),
        moralbank_ledger::LogKey::from_private(&skey).unwrap(),
        SequencerConfig::default(),
    )
    .await
    .unwrap();
    Town {
        store,
        seq,
        rules: Rules::default(),
        members,
        reviewer,
        other_reviewer,
        citizens,
        homes,
        admin: "staff:admin".into(),
    }
}

fn report(citizen: &str, reporter: &str, code: &str, date: &str) -> NewDeed {
    NewDeed {
        citizen_id: citizen.into(),
        reporter: Reporter::Citizen(reporter.into()),
        standard_code: code.into(),
        deed_date: date.into(),
        place: "东山社区".into(),
        description: "连续一个月帮助独居老人买菜送药".into(),
        evidence: vec![],
        points: None,
    }
}

fn yes(points: i64) -> VoteInput {
    VoteInput {
        approve: true,
        points: Some(points),
        comment: String::new(),
    }
}

fn no(reason: &str) -> VoteInput {
    VoteInput {
        approve: false,
        points: None,
        comment: reason.into(),
    }
}

fn code(e: StoreError) -> &'static str {
    match e {
        StoreError::Invalid(f) => f.0[0].code,
        StoreError::Conflict(f) => f.code,
        StoreError::NotFound { .. } => "not_found",
        StoreError::RateLimited { .. } => "rate_limited",
        other => panic!("unexpected {other:?}"),
    }
}

async fn a_deed_goes_from_report_through_votes_and_publicity_to_credited_points(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let d = s
        .evaluation()
        .report_deed(
            &report(
                &t.citizens[2],
                &t.citizens[2],
                "neighbourly-help",
                "2026-11-18",
            ),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        (d.status, d.source.as_str(), d.standard.version),
        (DeedStatus::Review, "own", 1)
    );
    assert_eq!(
        s.evaluation()
            .committee_queue(&d.village_id, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.evaluation()
            .vote(&d.id, &t.members[1], &yes(10), &t.rules, T0 + 1)
            .await
            .unwrap(),
        DeedStatus::Review
    );
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.members[1], &yes(10), &t.rules, T0 + 2)
                .await
                .unwrap_err()
        ),
        "already_voted"
    );
    assert_eq!(
        s.evaluation()
            .vote(&d.id, &t.members[2], &yes(20), &t.rules, T0 + 3)
            .await
            .unwrap(),
        DeedStatus::Publicity
    );
    let d = s.evaluation().deed(&d.id).await.unwrap().unwrap();
    assert_eq!(
        (d.points, d.publicity_ends_at),
        (Some(10), Some(T0 + 3 + 7 * DAY)),
        "the median, rounded down"
    );
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.members[0], &yes(10), &t.rules, T0 + 4)
                .await
                .unwrap_err()
        ),
        "not_open_for_votes"
    );
    assert_eq!(
        s.evaluation()
            .publicity_board(&d.village_id, None, 10)
            .await
            .unwrap()
            .items[0]
            .id,
        d.id
    );

    // Nothing is credited before the period ends; then exactly once, however often it runs.
    assert_eq!(
        s.evaluation()
            .credit_due(&t.seq, T0 + 6 * DAY, 100)
            .await
            .unwrap()
            .credited,
        0
    );
    let end = T0 + 8 * DAY;
    assert_eq!(
        s.evaluation()
            .credit_due(&t.seq, end, 100)
            .await
            .unwrap()
            .credited,
        1
    );
    assert_eq!(
        s.evaluation()
            .credit_due(&t.seq, end, 100)
            .await
            .unwrap()
            .credited,
        0
    );
    let d = s.evaluation().deed(&d.id).await.unwrap().unwrap();
    assert_eq!(d.status, DeedStatus::Credited);
    let entries = s
        .ledger()
        .citizen_entries(&t.citizens[2], None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].amount, entries[0].rule.as_str()),
        (10, "standard:neighbourly-help@1")
    );
    assert_eq!(
        entries[0].approvers,
        [
            format!("staff:{}", t.members[1].id),
            format!("staff:{}", t.members[2].id)
        ]
    );
    assert_eq!(
        s.evaluation()
            .deed_by_ledger_index(entries[0].index as i64)
            .await
            .unwrap()
            .unwrap()
            .id,
        d.id
    );
    assert_eq!(
        code(
            s.evaluation()
                .object(&d.id, &t.citizens[0], "不实", &t.rules, end)
                .await
                .unwrap_err()
        ),
        "not_on_publicity"
    );
    // The explanation: every step with who and when, and the inbox.
    let detail = s.evaluation().deed_detail(&d.id).await.unwrap().unwrap();
    let actions: Vec<&str> = detail.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "own",
            "vote_approve",
            "vote_approve",
            "approved",
            "credited"
        ]
    );
    assert_eq!(detail.votes.len(), 2);
    let inbox = s
        .evaluation()
        .inbox("citizen", &t.citizens[2], 10)
        .await
        .unwrap();
    assert_eq!(
        inbox.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        ["deed_credited", "deed_publicity"]
    );
    assert_eq!(
        s.evaluation()
            .inbox("staff", &t.members[0].id, 10)
            .await
            .unwrap()[0]
            .kind,
        "deed_to_review"
    );
    assert_eq!(
        s.evaluation()
            .mark_read("citizen", &t.citizens[2], end)
            .await
            .unwrap(),
        2
    );
    // History cannot be edited afterwards.
    let e = s
        .execute_raw("UPDATE deed_events SET detail = 'x'")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = s.execute_raw("DELETE FROM deed_votes").await.unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

async fn committees_recuse_refuse_bad_votes_and_enforce_caps(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    // Member 0 lives in citizen 0's household: recused; also for a deed they reported.
    let d = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[0], &t.citizens[2], "filial-piety", "2026-11-01"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(d.source, "nomination");
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.members[0], &yes(10), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "recused"
    );
    let by_member = s
        .evaluation()
        .report_deed(
            &report(
                &t.citizens[2],
                &t.citizens[1],
                "neighbourly-help",
                "2026-11-02",
            ),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .vote(&by_member.id, &t.members[0], &yes(10), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "recused"
    );
    // Bad votes change nothing.
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.members[1], &no("  "), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "reason_required"
    );
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.members[1], &yes(51), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "out_of_range"
    );
    assert_eq!(
        code(
            s.evaluation()
                .vote(&d.id, &t.reviewer, &yes(10), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert!(s
        .evaluation()
        .deed_detail(&d.id)
        .await
        .unwrap()
        .unwrap()
        .votes
        .is_empty());
    // Caps: filial piety allows 100 a year.
    s.evaluation()
        .vote(&d.id, &t.members[1], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&d.id, &t.members[2], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    let mut second = report(&t.citizens[0], &t.citizens[2], "filial-piety", "2026-11-03");
    second.description = "另一件事".into();
    let d2 = s
        .evaluation()
        .report_deed(&second, &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&d2.id, &t.members[1], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&d2.id, &t.members[2], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    let mut third = second.clone();
    third.deed_date = "2026-11-04".into();
    let d3 = s
        .evaluation()
        .report_deed(&third, &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&d3.id, &t.members[1], &yes(10), &t.rules, T0)
        .await
        .unwrap();
    let e = s
        .evaluation()
        .vote(&d3.id, &t.members[2], &yes(10), &t.rules, T0)
        .await
        .unwrap_err();
    let StoreError::Conflict(f) = e else { panic!() };
    assert_eq!((f.field.as_str(), f.code), ("points", "cap_exceeded"));
    assert!(f.detail.contains("0 remain"), "{}", f.detail);
    // The same person, category and day again: flagged for the committee.
    let dup = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[0], &t.citizens[0], "filial-piety", "2026-11-01"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(dup.duplicate_of.as_deref(), Some(d.id.as_str()));
    // Bad reports: each field named.
    let mut bad = report(&t.citizens[0], &t.citizens[0], "nope", "2026-13-01");
    bad.place = " ".into();
    let StoreError::Invalid(errs) = s
        .evaluation()
        .report_deed(&bad, &t.rules, T0)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["place", "deed_date", "standard"]);
    let future = report(&t.citizens[0], &t.citizens[0], "charity", "2026-11-30");
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&future, &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "in_future"
    );
    // A resident reports at most `reports_per_day` deeds a day.
    let rules = Rules {
        reports_per_day: 2,
        ..Rules::default()
    };
    let r = |day: &str| report(&t.citizens[1], &t.citizens[1], "environment", day);
    s.evaluation()
        .report_deed(&r("2026-11-05"), &rules, T0)
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&r("2026-11-06"), &rules, T0)
                .await
                .unwrap_err()
        ),
        "rate_limited"
    );
    s.evaluation()
        .report_deed(&r("2026-11-06"), &rules, T0 + DAY + 1)
        .await
        .unwrap();
}

async fn an_upheld_objection_stops_the_points_and_a_dismissed_one_resumes_publicity(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let approve = |id: String| {
        let (s, m, rules) = (s.clone(), t.members.clone(), t.rules.clone());
        async move {
            s.evaluation()
                .vote(&id, &m[1], &yes(8), &rules, T0)
                .await
                .unwrap();
            s.evaluation()
                .vote(&id, &m[2], &yes(8), &rules, T0)
                .await
                .unwrap();
        }
    };
    let a = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[2], &t.citizens[2], "environment", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    let b = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[1], &t.citizens[1], "environment", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    approve(a.id.clone()).await;
    approve(b.id.clone()).await;
    // Nobody objects to their own deed, nor to one they nominated.
    assert_eq!(
        code(
            s.evaluation()
                .object(&a.id, &t.citizens[2], "我自己", &t.rules, T0 + DAY)
                .await
                .unwrap_err()
        ),
        "own_deed"
    );
    let nominated = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[0], &t.citizens[2], "environment", "2026-11-09"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    approve(nominated.id.clone()).await;
    assert_eq!(
        code(
            s.evaluation()
                .object(
                    &nominated.id,
                    &t.citizens[2],
                    "我推荐的",
                    &t.rules,
                    T0 + DAY
                )
                .await
                .unwrap_err()
        ),
        "own_deed"
    );
    assert_eq!(
        s.evaluation()
            .deed(&nominated.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        DeedStatus::Publicity,
        "refused objections change nothing"
    );
    s.evaluation()
        .object(
            &a.id,
            &t.citizens[0],
            "那天河道清洁活动取消了",
            &t.rules,
            T0 + DAY,
        )
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .object(&a.id, &t.citizens[0], "再次", &t.rules, T0 + DAY)
                .await
                .unwrap_err()
        ),
        "not_on_publicity"
    );
    s.evaluation()
        .object(&b.id, &t.citizens[2], "不实", &t.rules, T0 + DAY)
        .await
        .unwrap();
    let a_now = s.evaluation().deed(&a.id).await.unwrap().unwrap();
    assert_eq!((a_now.status, a_now.round), (DeedStatus::Paused, 2));
    assert_eq!(
        s.evaluation()
            .committee_queue(&a.village_id, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // A new round: members may vote again. a: objection upheld; b: dismissed.
    s.evaluation()
        .vote(
            &a.id,
            &t.members[1],
            &no("核实：活动当天取消"),
            &t.rules,
            T0 + 2 * DAY,
        )
        .await
        .unwrap();
    assert_eq!(
        s.evaluation()
            .vote(&a.id, &t.members[2], &no("同意"), &t.rules, T0 + 2 * DAY)
            .await
            .unwrap(),
        DeedStatus::Rejected
    );
    approve(b.id.clone()).await;
    let b_now = s.evaluation().deed(&b.id).await.unwrap().unwrap();
    assert_eq!(
        b_now.publicity_ends_at,
        Some(T0 + 7 * DAY),
        "publicity starts again"
    );
    let report_ = s
        .evaluation()
        .credit_due(&t.seq, T0 + 30 * DAY, 100)
        .await
        .unwrap();
    assert_eq!(report_.credited, 2, "b and the nominated deed");
    assert!(
        s.ledger()
            .citizen_entries(&t.citizens[2], None, 10)
            .await
            .unwrap()
            .is_empty(),
        "no points after an upheld objection"
    );
    assert_eq!(
        s.ledger()
            .citizen_entries(&t.citizens[1], None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let da = s.evaluation().deed_detail(&a.id).await.unwrap().unwrap();
    assert_eq!(da.objections[0].outcome.as_deref(), Some("upheld"));
    assert!(da.events.iter().any(|e| e.action == "objection_upheld"));
    let db = s.evaluation().deed_detail(&b.id).await.unwrap().unwrap();
    assert_eq!(db.objections[0].outcome.as_deref(), Some("dismissed"));
    // Each objector hears the outcome of their objection.
    let heard = |who: String, deed: String| async move {
        s.evaluation()
            .inbox("citizen", &who, 50)
            .await
            .unwrap()
            .into_iter()
            .filter(|n| n.deed_id.as_deref() == Some(deed.as_str()))
            .map(|n| n.kind)
            .filter(|k| k.starts_with("objection_"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        heard(t.citizens[0].clone(), a.id.clone()).await,
        ["objection_upheld"]
    );
    assert_eq!(
        heard(t.citizens[2].clone(), b.id.clone()).await,
        ["objection_dismissed"]
    );
    // Objections end with the period.
    let c = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[0], &t.citizens[0], "charity", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    s.evaluation()
        .vote(&c.id, &t.members[1], &yes(5), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&c.id, &t.members[2], &yes(5), &t.rules, T0)
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .object(&c.id, &t.citizens[2], "晚了", &t.rules, T0 + 7 * DAY)
                .await
                .unwrap_err()
        ),
        "publicity_ended"
    );
}

async fn a_rejection_is_appealed_once_and_the_town_decides_finally(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let reject = |id: String| {
        let (s, m, rules) = (s.clone(), t.members.clone(), t.rules.clone());
        async move {
            s.evaluation()
                .vote(&id, &m[1], &no("证据不足"), &rules, T0)
                .await
                .unwrap();
            assert_eq!(
                s.evaluation()
                    .vote(&id, &m[2], &no("证据不足"), &rules, T0)
                    .await
                    .unwrap(),
                DeedStatus::Rejected
            );
        }
    };
    let d = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[2], &t.citizens[2], "brave-deed", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .appeal(&d.id, &t.citizens[2], "x", T0)
                .await
                .unwrap_err()
        ),
        "not_rejected"
    );
    reject(d.id.clone()).await;
    assert_eq!(
        code(
            s.evaluation()
                .appeal(&d.id, &t.citizens[0], "我也要申诉", T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    s.evaluation()
        .appeal(&d.id, &t.citizens[2], "补充了派出所的证明", T0 + DAY)
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .appeal(&d.id, &t.citizens[2], "再申诉", T0 + DAY)
                .await
                .unwrap_err()
        ),
        "already_appealed"
    );
    assert_eq!(
        s.evaluation()
            .appeal_queue(&t.reviewer.region_id.clone().unwrap(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        code(
            s.evaluation()
                .decide_appeal(
                    &d.id,
                    &t.other_reviewer,
                    &AppealDecision {
                        reverse: true,
                        points: Some(100),
                        comment: "x".into()
                    },
                    &t.rules,
                    T0
                )
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert_eq!(
        code(
            s.evaluation()
                .decide_appeal(
                    &d.id,
                    &t.reviewer,
                    &AppealDecision {
                        reverse: true,
                        points: Some(999),
                        comment: "x".into()
                    },
                    &t.rules,
                    T0
                )
                .await
                .unwrap_err()
        ),
        "out_of_range"
    );
    assert_eq!(
        s.evaluation()
            .decide_appeal(
                &d.id,
                &t.reviewer,
                &AppealDecision {
                    reverse: true,
                    points: Some(100),
                    comment: "证明属实，改为通过".into()
                },
                &t.rules,
                T0 + 2 * DAY
            )
            .await
            .unwrap(),
        DeedStatus::Publicity
    );
    assert_eq!(
        code(
            s.evaluation()
                .decide_appeal(
                    &d.id,
                    &t.reviewer,
                    &AppealDecision {
                        reverse: false,
                        points: None,
                        comment: "再决定".into()
                    },
                    &t.rules,
                    T0
                )
                .await
                .unwrap_err()
        ),
        "no_open_appeal"
    );
    assert_eq!(
        s.evaluation()
            .credit_due(&t.seq, T0 + 10 * DAY, 100)
            .await
            .unwrap()
            .credited,
        1
    );
    let e = &s
        .ledger()
        .citizen_entries(&t.citizens[2], None, 10)
        .await
        .unwrap()[0];
    assert_eq!(
        (e.amount, e.approvers.clone()),
        (100, vec![format!("staff:{}", t.reviewer.id)])
    );
    // An upheld rejection is final; an appeal after the deadline is refused.
    let late = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[1], &t.citizens[1], "brave-deed", "2026-11-11"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    reject(late.id.clone()).await;
    assert_eq!(
        code(
            s.evaluation()
                .appeal(&late.id, &t.citizens[1], "晚了", T0 + 16 * DAY)
                .await
                .unwrap_err()
        ),
        "appeal_too_late"
    );
    let fin = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[0], &t.citizens[0], "brave-deed", "2026-11-12"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    reject(fin.id.clone()).await;
    s.evaluation()
        .appeal(&fin.id, &t.citizens[0], "请复核", T0)
        .await
        .unwrap();
    assert_eq!(
        s.evaluation()
            .decide_appeal(
                &fin.id,
                &t.reviewer,
                &AppealDecision {
                    reverse: false,
                    points: None,
                    comment: "维持原决定".into()
                },
                &t.rules,
                T0
            )
            .await
            .unwrap(),
        DeedStatus::Closed
    );
    assert_eq!(
        code(
            s.evaluation()
                .appeal(&fin.id, &t.citizens[0], "再来", T0)
                .await
                .unwrap_err()
        ),
        "already_appealed"
    );
    let _ = &t.admin;
}

async fn partner_submissions_are_idempotent_and_automatic_ones_skip_the_vote(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let partner = s
        .accounts()
        .create_partner("余姚市中心血站", "hospital")
        .await
        .unwrap();
    let library = s
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .unwrap();
    // A partner-awarded standard trusts no partner until the admin names them.
    let untrusted = NewDeed {
        reporter: Reporter::Partner {
            partner_id: partner.id.clone(),
            key: IdempotencyKey::parse("don-0").unwrap(),
        },
        ..report(&t.citizens[2], "", "blood-donation", "2026-11-15")
    };
    let StoreError::Invalid(e) = s
        .evaluation()
        .report_deed(&untrusted, &t.rules, T0)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(
        (e.0[0].field.as_str(), e.0[0].code),
        ("standard", "untrusted_partner")
    );
    let v2 = s
        .evaluation()
        .trust_partners(
            "blood-donation",
            std::slice::from_ref(&partner.id),
            &t.admin,
        )
        .await
        .unwrap();
    assert_eq!(
        (v2.version, v2.trusted_partners.clone()),
        (2, vec![partner.id.clone()])
    );
    // Trust is checked: only for a partner awarder, only known partners.
    let mut bad = moralbank_store::evaluation::default_catalogue()[3].clone();
    bad.trusted_partners = vec![partner.id.clone()];
    assert_eq!(
        code(
            s.evaluation()
                .save_standard(&bad, &t.admin)
                .await
                .unwrap_err()
        ),
        "not_allowed"
    );
    let mut bad = moralbank_store::evaluation::default_catalogue()[1].clone();
    bad.trusted_partners = vec![domain::new_id()];
    assert_eq!(
        code(
            s.evaluation()
                .save_standard(&bad, &t.admin)
                .await
                .unwrap_err()
        ),
        "unknown_partner"
    );
    assert_eq!(
        s.evaluation()
            .standard_current("blood-donation")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
    // Another partner's key is still refused for this standard.
    let other = NewDeed {
        reporter: Reporter::Partner {
            partner_id: library.id.clone(),
            key: IdempotencyKey::parse("lib-1").unwrap(),
        },
        ..untrusted.clone()
    };
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&other, &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "untrusted_partner"
    );
    let sub = |key: &str, code: &str, date: &str| NewDeed {
        reporter: Reporter::Partner {
            partner_id: partner.id.clone(),
            key: IdempotencyKey::parse(key).unwrap(),
        },
        ..report(&t.citizens[2], "", code, date)
    };
    let a = s
        .evaluation()
        .report_deed(&sub("don-1", "blood-donation", "2026-11-15"), &t.rules, T0)
        .await
        .unwrap();
    assert_eq!((a.status, a.points), (DeedStatus::Publicity, Some(20)));
    let again = s
        .evaluation()
        .report_deed(
            &sub("don-1", "blood-donation", "2026-11-15"),
            &t.rules,
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(again.id, a.id);
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&sub("don-1", "blood-donation", "2026-11-16"), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "idempotency_conflict"
    );
    // Automatic submissions respect the cap: blood donation, 60 points a year (20 each).
    s.evaluation()
        .report_deed(&sub("don-2", "blood-donation", "2026-11-16"), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .report_deed(&sub("don-3", "blood-donation", "2026-11-17"), &t.rules, T0)
        .await
        .unwrap();
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&sub("don-4", "blood-donation", "2026-11-18"), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "cap_exceeded"
    );
    assert_eq!(
        s.evaluation()
            .report_deed(&sub("don-3", "blood-donation", "2026-11-17"), &t.rules, T0)
            .await
            .unwrap()
            .points,
        Some(20),
        "a retry is still answered"
    );
    // A committee category from a partner still goes to the committee.
    let b = s
        .evaluation()
        .report_deed(
            &sub("help-1", "neighbourly-help", "2026-11-15"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    assert_eq!(b.status, DeedStatus::Review);
    // Publicity still applies; then the credit run pays once even with two writers racing.
    let (skey, _) = moralbank_ledger::generate_log_key("test/log2");
    let (seq2, _t2) = Sequencer::start(
        s.clone(),
        moralbank_ledger::LogKey::from_private(&skey).unwrap(),
        SequencerConfig::default(),
    )
    .await
    .unwrap();
    let end = T0 + 8 * DAY;
    let evaluation = s.evaluation();
    let (r1, r2) = tokio::join!(
        evaluation.credit_due(&t.seq, end, 100),
        evaluation.credit_due(&seq2, end, 100)
    );
    assert_eq!(r1.unwrap().credited + r2.unwrap().credited, 3);
    let entries = s
        .ledger()
        .citizen_entries(&t.citizens[2], None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 3, "each credited once");
    assert_eq!(entries[0].approvers, [format!("partner:{}", partner.id)]);
}

async fn standards_are_versioned_and_deeds_keep_their_version(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let d = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[2], &t.citizens[2], "charity", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    let mut edit: NewStandard = serde_json::from_value(serde_json::json!({
        "code": "charity", "name_zh": "慈善捐赠", "name_en": "Charitable donation", "points_min": 10, "points_max": 60,
        "cap_points": 120, "cap_period": "year", "evidence_zh": "捐赠凭证", "evidence_en": "Donation receipt", "awarder": "committee", "active": true
    })).unwrap();
    let v2 = s.evaluation().save_standard(&edit, &t.admin).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        s.evaluation()
            .standards()
            .await
            .unwrap()
            .iter()
            .find(|x| x.code == "charity")
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        s.evaluation()
            .deed(&d.id)
            .await
            .unwrap()
            .unwrap()
            .standard
            .version,
        1,
        "judged under the version it was reported with"
    );
    assert_eq!(
        s.evaluation()
            .standard_versions("charity")
            .await
            .unwrap()
            .len(),
        2
    );
    edit.points_max = 5;
    edit.cap_period = "weekly".into();
    let StoreError::Invalid(errs) = s
        .evaluation()
        .save_standard(&edit, &t.admin)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["points_max", "cap_period"]);
    assert_eq!(
        s.evaluation()
            .ensure_default_standards(&t.admin)
            .await
            .unwrap(),
        0,
        "seeded once"
    );
}

/// A crash after the ledger append but before the deed's status changed: the next run (on a
/// restarted writer) finds the deed still due, appends under the same key, gets the original
/// entry back, and marks the deed; the ledger holds one entry.
async fn a_credit_interrupted_after_the_append_is_finished_once_on_restart(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let d = s
        .evaluation()
        .report_deed(
            &report(&t.citizens[2], &t.citizens[2], "charity", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    s.evaluation()
        .vote(&d.id, &t.members[1], &yes(7), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&d.id, &t.members[2], &yes(7), &t.rules, T0)
        .await
        .unwrap();
    // The first run got as far as the ledger.
    let entry = moralbank_store::ledger::NewEntry::award(
        &t.citizens[2],
        7,
        &format!(
            "issuance:{}",
            s.registry()
                .village_and_town(&d.village_id)
                .await
                .unwrap()
                .1
                .code
        ),
        "standard:charity@1",
        "慈善捐赠：连续一个月帮助独居老人买菜送药",
        "deed",
        vec![
            format!("staff:{}", t.members[1].id),
            format!("staff:{}", t.members[2].id),
        ],
    );
    let first = t
        .seq
        .append_unruled(format!("system:evaluation/deed/{}", d.id), entry)
        .await
        .unwrap();
    drop(t.seq);
    let (skey, _) = moralbank_ledger::generate_log_key("test/log");
    let (restarted, _t) = Sequencer::start(
        s.clone(),
        moralbank_ledger::LogKey::from_private(&skey).unwrap(),
        SequencerConfig::default(),
    )
    .await
    .unwrap();
    let r = s
        .evaluation()
        .credit_due(&restarted, T0 + 8 * DAY, 100)
        .await
        .unwrap();
    assert_eq!((r.credited, r.failed), (1, 0));
    let deed = s.evaluation().deed(&d.id).await.unwrap().unwrap();
    assert_eq!(
        (deed.status, deed.ledger_index),
        (DeedStatus::Credited, Some(first.index as i64))
    );
    assert_eq!(
        s.ledger()
            .citizen_entries(&t.citizens[2], None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn every_member_is_linked_checked_and_recused_and_the_chair_breaks_a_tie(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let field = |e: StoreError| match e {
        StoreError::Invalid(f) => (f.0[0].field.clone(), f.0[0].code),
        StoreError::Conflict(f) => (f.field.clone(), f.code),
        other => panic!("unexpected {other:?}"),
    };
    // Links are checked against the member's role, village or town, and other links.
    let admin = staff(s, "admin-x", Role::Admin, None).await;
    assert_eq!(
        field(
            s.evaluation()
                .link_staff_citizen(&admin.id, Some(&t.citizens[2]), false)
                .await
                .unwrap_err()
        ),
        ("staff".into(), "not_a_committee_member")
    );
    let far = s
        .citizen_ids(300)
        .await
        .into_iter()
        .find(|c| !t.citizens.contains(c) && !t.homes.contains(c))
        .unwrap();
    let far_village = s
        .registry()
        .citizen_summary(&far)
        .await
        .unwrap()
        .unwrap()
        .village_id;
    let village = t.members[0].region_id.clone().unwrap();
    if far_village != village {
        assert_eq!(
            field(
                s.evaluation()
                    .link_staff_citizen(&t.members[1].id, Some(&far), false)
                    .await
                    .unwrap_err()
            ),
            ("resident_id".into(), "outside_committee")
        );
    }
    assert_eq!(
        field(
            s.evaluation()
                .link_staff_citizen(&t.members[2].id, Some(&t.homes[0]), false)
                .await
                .unwrap_err()
        ),
        ("resident_id".into(), "already_linked")
    );
    assert_eq!(
        field(
            s.evaluation()
                .link_staff_citizen(&t.reviewer.id, Some(&t.homes[2]), true)
                .await
                .unwrap_err()
        ),
        ("chair".into(), "not_allowed")
    );
    assert_eq!(
        field(
            s.evaluation()
                .link_staff_citizen(
                    &t.members[1].id,
                    Some("0193a1b2-0000-7000-8000-000000000000"),
                    false
                )
                .await
                .unwrap_err()
        ),
        ("resident_id".into(), "not_enrolled")
    );
    // Nothing changed: member 0 is still the one chair, members 1 and 2 keep their homes.
    let chairs: Vec<String> = s
        .evaluation()
        .staff_links()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.is_chair)
        .map(|l| l.staff_id)
        .collect();
    assert_eq!(chairs, [t.members[0].id.clone()]);

    // Member 1 lives in homes[0]'s household: recused from that resident's own deed. Members
    // 0 (the chair) and 2 tie, one against one: everyone who may vote has voted, the chair decides.
    let own = s
        .evaluation()
        .report_deed(
            &report(&t.homes[0], &t.homes[0], "neighbourly-help", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    let e = s
        .evaluation()
        .vote(&own.id, &t.members[1], &yes(10), &t.rules, T0)
        .await
        .unwrap_err();
    assert_eq!(field(e), ("deed".into(), "recused"));
    assert_eq!(
        s.evaluation()
            .vote(&own.id, &t.members[2], &no("证据不足"), &t.rules, T0)
            .await
            .unwrap(),
        DeedStatus::Review
    );
    assert_eq!(
        s.evaluation()
            .vote(&own.id, &t.members[0], &yes(12), &t.rules, T0 + 1)
            .await
            .unwrap(),
        DeedStatus::Publicity,
        "the chair's vote breaks the tie"
    );
    assert_eq!(
        s.evaluation().deed(&own.id).await.unwrap().unwrap().points,
        Some(12)
    );
    // With the chair recused (their household's deed), a tie waits for the committee.
    let chairs_own = s
        .evaluation()
        .report_deed(
            &report(
                &t.citizens[0],
                &t.citizens[0],
                "neighbourly-help",
                "2026-11-10",
            ),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    s.evaluation()
        .vote(&chairs_own.id, &t.members[1], &yes(10), &t.rules, T0)
        .await
        .unwrap();
    assert_eq!(
        s.evaluation()
            .vote(&chairs_own.id, &t.members[2], &no("证据不足"), &t.rules, T0)
            .await
            .unwrap(),
        DeedStatus::Review
    );
    // Marking member 2 chair takes the mark from member 0: a village has one chair.
    s.evaluation()
        .link_staff_citizen(&t.members[2].id, Some(&t.homes[1]), true)
        .await
        .unwrap();
    let links = s.evaluation().staff_links().await.unwrap();
    let chair_of = |id: &str| links.iter().find(|l| l.staff_id == id).unwrap().is_chair;
    assert!(chair_of(&t.members[2].id) && !chair_of(&t.members[0].id));

    // The town reviewer is recused from an appeal of their own household's deed.
    let mine = s
        .evaluation()
        .report_deed(
            &report(&t.homes[2], &t.homes[2], "brave-deed", "2026-11-10"),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    s.evaluation()
        .vote(&mine.id, &t.members[1], &no("证据不足"), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&mine.id, &t.members[2], &no("证据不足"), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .appeal(&mine.id, &t.homes[2], "有证人", T0)
        .await
        .unwrap();
    let decision = AppealDecision {
        reverse: true,
        points: Some(60),
        comment: "证据充分".into(),
    };
    assert_eq!(
        field(
            s.evaluation()
                .decide_appeal(&mine.id, &t.reviewer, &decision, &t.rules, T0)
                .await
                .unwrap_err()
        ),
        ("deed".into(), "recused")
    );
    // A member nobody linked cannot vote or decide at all: recusal could not be checked.
    let unlinked = staff(s, "member-9", Role::Evaluator, Some(village)).await;
    let e = s
        .evaluation()
        .vote(&chairs_own.id, &unlinked, &yes(10), &t.rules, T0)
        .await
        .unwrap_err();
    assert_eq!(field(e), ("staff".into(), "not_linked"));
    let town_id = t.reviewer.region_id.clone();
    let reviewer2 = staff(s, "reviewer-2", Role::TownReviewer, town_id).await;
    assert_eq!(
        field(
            s.evaluation()
                .decide_appeal(&mine.id, &reviewer2, &decision, &t.rules, T0)
                .await
                .unwrap_err()
        ),
        ("staff".into(), "not_linked")
    );
    let d = s.evaluation().deed_detail(&mine.id).await.unwrap().unwrap();
    assert_eq!(
        d.deed.status,
        DeedStatus::Appealed,
        "refusals change nothing"
    );
    assert_eq!(
        s.evaluation()
            .deed_detail(&chairs_own.id)
            .await
            .unwrap()
            .unwrap()
            .votes
            .len(),
        2
    );
}

/// Caps hold when approvals race: the resident's row is taken before the points are summed, so
/// on PostgreSQL two transactions cannot each miss the other's points.
async fn caps_hold_for_automatic_submissions_and_for_approvals_at_the_same_moment(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    // Five automatic blood donations (20 points each, 60 a year) submitted at once: three fit.
    let partner = s
        .accounts()
        .create_partner("余姚市中心血站", "hospital")
        .await
        .unwrap();
    s.evaluation()
        .trust_partners(
            "blood-donation",
            std::slice::from_ref(&partner.id),
            &t.admin,
        )
        .await
        .unwrap();
    let sub = |n: usize| NewDeed {
        reporter: Reporter::Partner {
            partner_id: partner.id.clone(),
            key: IdempotencyKey::parse(&format!("race-{n}")).unwrap(),
        },
        ..report(
            &t.citizens[2],
            "",
            "blood-donation",
            &format!("2026-11-{:02}", 10 + n),
        )
    };
    let tasks: Vec<_> = (0..5)
        .map(|n| {
            let (s, new, rules) = (s.clone(), sub(n), t.rules.clone());
            tokio::spawn(async move { s.evaluation().report_deed(&new, &rules, T0).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let capped: Vec<&str> = results
        .into_iter()
        .filter_map(|r| r.err())
        .map(code)
        .collect();
    assert_eq!((ok, capped), (3, vec!["cap_exceeded"; 2]));

    // Charity (5–50 points, 100 a year): 50 already on publicity, then two deeds approved with
    // 30 each at the same moment; only one fits.
    let charity = |date: &str, what: &str| {
        let mut r = report(&t.citizens[2], &t.citizens[2], "charity", date);
        r.description = what.into();
        r
    };
    let first = s
        .evaluation()
        .report_deed(&charity("2026-11-01", "捐赠图书"), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&first.id, &t.members[1], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    s.evaluation()
        .vote(&first.id, &t.members[2], &yes(50), &t.rules, T0)
        .await
        .unwrap();
    let mut pair = Vec::new();
    for (date, what) in [("2026-11-02", "捐赠棉衣"), ("2026-11-03", "捐赠大米")] {
        let d = s
            .evaluation()
            .report_deed(&charity(date, what), &t.rules, T0)
            .await
            .unwrap();
        s.evaluation()
            .vote(&d.id, &t.members[1], &yes(30), &t.rules, T0)
            .await
            .unwrap();
        pair.push(d.id);
    }
    let tasks: Vec<_> = pair
        .iter()
        .map(|id| {
            let (s, id, m, rules) = (s.clone(), id.clone(), t.members[2].clone(), t.rules.clone());
            tokio::spawn(
                async move { s.evaluation().vote(&id, &m, &yes(30), &rules, T0 + 1).await },
            )
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|r| matches!(r, Ok(DeedStatus::Publicity)))
            .count(),
        1,
        "{outcomes:?}"
    );
    let refused = outcomes.into_iter().find_map(|r| r.err()).unwrap();
    assert_eq!(code(refused), "cap_exceeded");
    let mut total = 0;
    for id in [&first.id, &pair[0], &pair[1]] {
        let d = s.evaluation().deed(id).await.unwrap().unwrap();
        if d.status == DeedStatus::Publicity {
            total += d.points.unwrap();
        }
    }
    assert_eq!(total, 80, "the cap (100) holds");
}

async fn the_board_pages_through_every_deed_on_publicity_in_order(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    // Six deeds go on publicity one millisecond apart: the board's order is their end.
    let mut expected = Vec::new();
    for (n, citizen) in t.citizens.iter().cycle().take(6).enumerate() {
        let date = format!("2026-11-{:02}", 10 + n);
        let d = s
            .evaluation()
            .report_deed(
                &report(citizen, citizen, "neighbourly-help", &date),
                &t.rules,
                T0,
            )
            .await
            .unwrap();
        let at = T0 + 10 * n as i64;
        s.evaluation()
            .vote(&d.id, &t.members[1], &yes(5), &t.rules, at)
            .await
            .unwrap();
        let status = s
            .evaluation()
            .vote(&d.id, &t.members[2], &yes(5), &t.rules, at + 1)
            .await
            .unwrap();
        assert_eq!(status, DeedStatus::Publicity);
        expected.push(d.id);
    }
    // A deed still in review is not on the board.
    s.evaluation()
        .report_deed(
            &report(
                &t.citizens[2],
                &t.citizens[2],
                "neighbourly-help",
                "2026-11-19",
            ),
            &t.rules,
            T0,
        )
        .await
        .unwrap();
    let village = s
        .evaluation()
        .deed(&expected[0])
        .await
        .unwrap()
        .unwrap()
        .village_id;
    let (mut seen, mut after, mut pages) = (Vec::new(), None, 0);
    loop {
        let page = s
            .evaluation()
            .publicity_board(&village, after.as_ref(), 4)
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 4);
        assert!(page
            .items
            .iter()
            .all(|d| d.name_masked.contains('*') && d.points == Some(5)));
        seen.extend(page.items.iter().map(|d| d.id.clone()));
        match page.next_cursor {
            // The cursor's text form is what the API hands out and reads back.
            Some(c) => after = Some(BoardCursor::parse(&c.to_string()).unwrap()),
            None => break,
        }
    }
    assert_eq!(
        (seen, pages),
        (expected.clone(), 2),
        "every deed once, in order, on two pages"
    );
    // A full last page says there is no next one (no empty page to fetch).
    let page = s
        .evaluation()
        .publicity_board(&village, None, 6)
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.next_cursor), (6, None));
    // Credited deeds leave the board.
    let report = s
        .evaluation()
        .credit_due(&t.seq, T0 + 8 * DAY, 100)
        .await
        .unwrap();
    assert_eq!(report.credited, 6);
    assert!(s
        .evaluation()
        .publicity_board(&village, None, 4)
        .await
        .unwrap()
        .items
        .is_empty());
    assert!(BoardCursor::parse("12_not-an-id").is_none() && BoardCursor::parse("x").is_none());
}

async fn a_deed_key_stored_before_the_one_scoping_rule_still_matches_its_retry(store: Store) {
    let t = town(store).await;
    let s = &t.store;
    let partner = s
        .accounts()
        .create_partner("余姚市中心血站", "hospital")
        .await
        .unwrap();
    s.evaluation()
        .trust_partners(
            "blood-donation",
            std::slice::from_ref(&partner.id),
            &t.admin,
        )
        .await
        .unwrap();
    let sub = |date: &str| NewDeed {
        reporter: Reporter::Partner {
            partner_id: partner.id.clone(),
            key: IdempotencyKey::parse("don-7").unwrap(),
        },
        ..report(&t.citizens[2], "", "blood-donation", date)
    };
    let a = s
        .evaluation()
        .report_deed(&sub("2026-11-15"), &t.rules, T0)
        .await
        .unwrap();
    // The row as migration 0011 found it: the partner's id without the owner's kind.
    s.execute_for_tests(&format!(
        "UPDATE deeds SET idem_key = '{}/don-7' WHERE id = '{}'",
        partner.id, a.id
    ))
    .await
    .unwrap();
    s.rerun_migration_for_tests(11).await.unwrap();
    let again = s
        .evaluation()
        .report_deed(&sub("2026-11-15"), &t.rules, T0 + 5)
        .await
        .unwrap();
    assert_eq!(again.id, a.id);
    assert_eq!(
        code(
            s.evaluation()
                .report_deed(&sub("2026-11-16"), &t.rules, T0)
                .await
                .unwrap_err()
        ),
        "idempotency_conflict"
    );
}

moralbank_store::on_both_backends!(
    a_deed_key_stored_before_the_one_scoping_rule_still_matches_its_retry,
    the_board_pages_through_every_deed_on_publicity_in_order,
    caps_hold_for_automatic_submissions_and_for_approvals_at_the_same_moment,
    every_member_is_linked_checked_and_recused_and_the_chair_breaks_a_tie,
    a_credit_interrupted_after_the_append_is_finished_once_on_restart,
    a_deed_goes_from_report_through_votes_and_publicity_to_credited_points,
    committees_recuse_refuse_bad_votes_and_enforce_caps,
    an_upheld_objection_stops_the_points_and_a_dismissed_one_resumes_publicity,
    a_rejection_is_appealed_once_and_the_town_decides_finally,
    partner_submissions_are_idempotent_and_automatic_ones_skip_the_vote,
    standards_are_versioned_and_deeds_keep_their_version,
);
