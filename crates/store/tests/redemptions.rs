#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Redemptions on both backends: conditions, printed cards, a code used once, quotas that hold
//! under concurrent scans, points spent through the ledger, retries answered the same.

use moralbank_store::code::benefits::NewBenefit;
use moralbank_store::code::redemptions::{Presented, Redeemer, RedeemerConfig};
use moralbank_store::ledger::{NewEntry, Sequencer, SequencerConfig};
use moralbank_store::{now_ms, Store, StoreError};

fn code(id: &str, tier: i64, printed: bool) -> Presented {
    Presented {
        code_id: id.into(),
        tier,
        badges: vec![],
        printed,
    }
}

/// An idempotency key as a partner sends it.
fn k(raw: &str) -> domain::IdempotencyKey {
    domain::IdempotencyKey::parse(raw).expect("a valid key")
}

async fn benefits_are_redeemed_by_their_rules(store: Store) {
    store.fixtures().seed_city(6, 2).await.unwrap();
    let cs = store.citizen_ids(6).await;
    store.code().ensure_default_scenes().await.unwrap();
    let p = store
        .accounts()
        .create_partner("四明山景区", "scenic")
        .await
        .unwrap();
    let mk = |kind: &str, tier: i64| NewBenefit {
        scene: "tourism".into(),
        partner_id: p.id.clone(),
        name_zh: "门票".into(),
        name_en: "Ticket".into(),
        description_zh: "说明".into(),
        description_en: "about".into(),
        min_tier: tier,
        kind: kind.into(),
        quota: (kind == "quota").then_some(2),
        quota_period: (kind == "quota").then(|| "year".into()),
        points_cost: (kind == "points").then_some(5),
        ..NewBenefit::default()
    };
    let open = store
        .code()
        .create_benefit(&mk("eligibility", 1))
        .await
        .unwrap();
    let quota = store.code().create_benefit(&mk("quota", 1)).await.unwrap();
    let points = store.code().create_benefit(&mk("points", 1)).await.unwrap();
    assert_eq!(points.points_cost, Some(5), "{points:?}");
    let higher = store
        .code()
        .create_benefit(&mk("eligibility", 3))
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
    let (red, _w) = Redeemer::start(store.clone(), seq.clone(), RedeemerConfig::default());
    let far = 4_000_000_000;
    for (i, c) in ["c1", "c2", "c3", "c4", "c5", "p1"].iter().enumerate() {
        store
            .code()
            .record_issued_code(c, &cs[0], i == 5, far)
            .await
            .unwrap();
    }
    let now = now_ms();
    let r = |key: &str, b: &str, pr: Presented| {
        let (red, pid, key, b) = (red.clone(), p.id.clone(), key.to_string(), b.to_string());
        async move { red.redeem(&pid, &k(&key), &b, &pr, now).await.unwrap() }
    };
    let d = r("k1", &open.id, code("c1", 1, false)).await;
    assert!(d.granted);
    assert_eq!(
        r("k1", &open.id, code("c1", 1, false)).await,
        moralbank_store::code::redemptions::Decision {
            replayed: true,
            ..d
        }
    );
    let e = red
        .redeem(&p.id, &k("k1"), &quota.id, &code("c1", 1, false), now)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    assert_eq!(
        r("k2", &higher.id, code("c1", 1, false)).await.reason,
        "condition_not_met"
    );
    assert_eq!(
        r("k3", &open.id, code("nope", 5, false)).await.reason,
        "unknown_code"
    );
    assert_eq!(
        r("k4", &quota.id, code("p1", 1, true)).await.reason,
        "printed_card"
    );
    assert!(
        r("k5", &open.id, code("p1", 1, true)).await.granted,
        "printed cards open eligibility benefits"
    );
    // Quota: two a year; a code id opens a consuming benefit once.
    assert!(r("k6", &quota.id, code("c2", 1, false)).await.granted);
    assert_eq!(
        r("k7", &quota.id, code("c2", 1, false)).await.reason,
        "code_used"
    );
    assert!(r("k8", &quota.id, code("c3", 1, false)).await.granted);
    assert_eq!(
        r("k9", &quota.id, code("c4", 1, false)).await.reason,
        "quota_used"
    );
    // Points: refused without the balance, then spent through the ledger.
    assert_eq!(
        r("k10", &points.id, code("c5", 1, false)).await.reason,
        "insufficient_balance"
    );
    seq.append_unruled(
        "award".into(),
        NewEntry::award(
            &cs[0],
            12,
            "issuance:1",
            "standard:x@1",
            "献血",
            "",
            vec!["staff:a".into()],
        ),
    )
    .await
    .unwrap();
    store
        .code()
        .record_issued_code("c6", &cs[0], false, far)
        .await
        .unwrap();
    let spent = r("k11", &points.id, code("c6", 1, false)).await;
    assert!(spent.granted && spent.ledger_index.is_some(), "{spent:?}");
    assert_eq!(store.ledger().points(&cs[0], now).await.unwrap().balance, 7);
    assert!(store
        .registry()
        .access_log(&cs[0], None, 50)
        .await
        .unwrap()
        .iter()
        .any(|a| a.action == "redemption"));
    assert_eq!(
        store
            .code()
            .citizen_redemptions(&cs[0], 50)
            .await
            .unwrap()
            .len(),
        10,
        "every decision but the unknown code's is the resident's"
    );
    // Concurrent scans of one resident's codes never exceed the quota.
    for i in 0..6 {
        store
            .code()
            .record_issued_code(&format!("q{i}"), &cs[1], false, far)
            .await
            .unwrap();
    }
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (red, pid, b) = (red.clone(), p.id.clone(), quota.id.clone());
            tokio::spawn(async move {
                red.redeem(
                    &pid,
                    &k(&format!("race{i}")),
                    &b,
                    &code(&format!("q{i}"), 1, false),
                    now,
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += usize::from(t.await.unwrap().granted);
    }
    assert_eq!(granted, 2);
    // Concurrent scans of the same code (a replay race): it opens a consuming benefit once.
    let other = store.code().create_benefit(&mk("quota", 1)).await.unwrap();
    store
        .code()
        .record_issued_code("same", &cs[2], false, far)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let (red, pid, b) = (red.clone(), p.id.clone(), other.id.clone());
            tokio::spawn(async move {
                red.redeem(
                    &pid,
                    &k(&format!("replay{i}")),
                    &b,
                    &code("same", 1, false),
                    now,
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut reasons = Vec::new();
    for t in tasks {
        reasons.push(t.await.unwrap().reason);
    }
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "code_used",
            "code_used",
            "code_used",
            "code_used",
            "code_used",
            "granted"
        ]
    );
    assert_eq!(
        store.code().quota_usage(&cs[2], now).await.unwrap(),
        vec![(other.id.clone(), 1)],
        "the refused replays used no quota"
    );
}

async fn scans_quotas_and_the_purge_of_expired_codes(store: Store) {
    store.fixtures().seed_city(3, 1).await.unwrap();
    let cs = store.citizen_ids(3).await;
    store.code().ensure_default_scenes().await.unwrap();
    let p = store
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .unwrap();
    let now = now_ms();
    let now_s = now / 1000;
    store
        .code()
        .record_issued_code("fresh", &cs[0], false, now_s + 90)
        .await
        .unwrap();
    store
        .code()
        .record_issued_code("old", &cs[0], false, now_s - 2 * 86_400)
        .await
        .unwrap();
    // A scan goes into the holder's access log, naming the partner; an unknown code, nowhere.
    assert!(store
        .code()
        .record_scan("fresh", &p.id, "道德阅")
        .await
        .unwrap());
    assert!(!store.code().record_scan("nobody", &p.id, "").await.unwrap());
    let log = store.registry().access_log(&cs[0], None, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "scan");
    assert_eq!(log[0].actor_label, "余姚市图书馆 · 道德阅");
    // Purging forgets codes past the grace period only, a slice at a time.
    let before = now_s - moralbank_store::code::redemptions::ISSUED_CODE_GRACE_S;
    assert_eq!(
        store.code().purge_issued_codes(before, 10).await.unwrap(),
        1
    );
    assert_eq!(
        store.code().purge_issued_codes(before, 10).await.unwrap(),
        0
    );
    assert!(!store.code().record_scan("old", &p.id, "").await.unwrap());
    assert!(store.code().record_scan("fresh", &p.id, "").await.unwrap());
    // Withdrawal forgets the resident's codes too.
    store.registry().withdraw(&cs[0]).await.unwrap();
    assert!(!store.code().record_scan("fresh", &p.id, "").await.unwrap());
    assert!(store
        .code()
        .quota_usage(&cs[1], now)
        .await
        .unwrap()
        .is_empty());
}

/// Concurrent redemptions share the writer's transactions: the rules hold inside one batch
/// (a key retried at once, one code scanned twice, a quota reached), and a batch that fails
/// fails only the request that broke it.
async fn decisions_are_recorded_in_batches(store: Store) {
    store.fixtures().seed_city(12, 4).await.unwrap();
    let cs = store.citizen_ids(12).await;
    store.code().ensure_default_scenes().await.unwrap();
    let p = store
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .unwrap();
    let mk = |kind: &str| NewBenefit {
        scene: "reading".into(),
        partner_id: p.id.clone(),
        name_zh: "借书".into(),
        name_en: "Loan".into(),
        description_zh: "说明".into(),
        description_en: "about".into(),
        min_tier: 1,
        kind: kind.into(),
        quota: (kind == "quota").then_some(3),
        quota_period: (kind == "quota").then(|| "year".into()),
        ..NewBenefit::default()
    };
    let open = store
        .code()
        .create_benefit(&mk("eligibility"))
        .await
        .unwrap();
    let quota = store.code().create_benefit(&mk("quota")).await.unwrap();
    let (seq, _t) = Sequencer::start(
        store.clone(),
        moralbank_store::testing::log_key().0,
        SequencerConfig::default(),
    )
    .await
    .unwrap();
    // A long wait, so that the requests below share batches.
    let cfg = RedeemerConfig {
        max_batch: 64,
        max_wait: std::time::Duration::from_millis(50),
        ..RedeemerConfig::default()
    };
    let (red, _w) = Redeemer::start(store.clone(), seq, cfg);
    let far = 4_000_000_000;
    let mut jobs: Vec<(String, String, String)> = Vec::new(); // (key, benefit, code)
    for i in 0..20 {
        let c = format!("open{i}");
        store
            .code()
            .record_issued_code(&c, &cs[i % 12], false, far)
            .await
            .unwrap();
        jobs.push((format!("open{i}"), open.id.clone(), c));
    }
    for _ in 0..5 {
        jobs.push(("twice".into(), open.id.clone(), "open0".into()));
    }
    for i in 0..8 {
        let c = format!("q{i}");
        store
            .code()
            .record_issued_code(&c, &cs[1], false, far)
            .await
            .unwrap();
        jobs.push((format!("quota{i}"), quota.id.clone(), c));
    }
    store
        .code()
        .record_issued_code("same", &cs[2], false, far)
        .await
        .unwrap();
    for i in 0..4 {
        jobs.push((format!("same{i}"), quota.id.clone(), "same".into()));
    }
    let now = now_ms();
    let run = |jobs: Vec<(String, String, String)>| {
        let tasks: Vec<_> = jobs
            .into_iter()
            .map(|(key, b, c)| {
                let (red, pid) = (red.clone(), p.id.clone());
                tokio::spawn(async move {
                    let d = red
                        .redeem(&pid, &k(&key), &b, &code(&c, 1, false), now)
                        .await;
                    (key, d)
                })
            })
            .collect::<Vec<_>>();
        async move {
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        }
    };
    let before = store.code().count_redemptions().await.unwrap();
    let out = run(jobs).await;
    let of = |prefix: &str| {
        out.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, d)| d.as_ref().unwrap().clone())
            .collect::<Vec<_>>()
    };
    assert!(of("open").iter().all(|d| d.granted), "{out:?}");
    let twice = of("twice");
    assert!(twice.iter().all(|d| d.id == twice[0].id && d.granted));
    assert_eq!(twice.iter().filter(|d| !d.replayed).count(), 1, "{twice:?}");
    let mut q: Vec<String> = of("quota").into_iter().map(|d| d.reason).collect();
    q.sort();
    assert_eq!(
        q,
        [
            "granted",
            "granted",
            "granted",
            "quota_used",
            "quota_used",
            "quota_used",
            "quota_used",
            "quota_used"
        ]
    );
    assert_eq!(
        store.code().quota_usage(&cs[1], now).await.unwrap(),
        vec![(quota.id.clone(), 3)]
    );
    let mut same: Vec<String> = of("same").into_iter().map(|d| d.reason).collect();
    same.sort();
    assert_eq!(same, ["code_used", "code_used", "code_used", "granted"]);
    assert_eq!(
        store.code().count_redemptions().await.unwrap() - before,
        20 + 1 + 8 + 4
    );

    // A request that breaks its batch's transaction (here a trigger refuses one resident's
    // access-log row) fails alone; the others in the batch are recorded.
    let broken = &cs[5];
    store
        .execute_raw(&match store.backend() {
            moralbank_store::Backend::Sqlite => format!(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON access_log WHEN NEW.citizen_id = '{broken}' \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            ),
            moralbank_store::Backend::Postgres => format!(
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN \
                 IF NEW.citizen_id = '{broken}' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER refuse_one BEFORE INSERT ON access_log FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            ),
        })
        .await
        .unwrap();
    let mut jobs = Vec::new();
    for (i, citizen) in cs.iter().enumerate() {
        let c = format!("later{i}");
        store
            .code()
            .record_issued_code(&c, citizen, false, far)
            .await
            .unwrap();
        jobs.push((format!("later{i}"), open.id.clone(), c));
    }
    let before = store.code().count_redemptions().await.unwrap();
    let out = run(jobs).await;
    for (key, d) in &out {
        if key == "later5" {
            assert!(d.is_err(), "{d:?}");
        } else {
            assert!(d.as_ref().unwrap().granted, "{key}: {d:?}");
        }
    }
    assert_eq!(store.code().count_redemptions().await.unwrap() - before, 11);
    // Nothing of the failed request was written: its retry is decided afresh.
    store
        .execute_raw(&match store.backend() {
            moralbank_store::Backend::Sqlite => "DROP TRIGGER refuse_one".to_string(),
            moralbank_store::Backend::Postgres => {
                "DROP TRIGGER refuse_one ON access_log".to_string()
            }
        })
        .await
        .unwrap();
    let d = red
        .redeem(
            &p.id,
            &k("later5"),
            &open.id,
            &code("later5", 1, false),
            now,
        )
        .await
        .unwrap();
    assert!(d.granted && !d.replayed, "{d:?}");
}

moralbank_store::on_both_backends!(
    benefits_are_redeemed_by_their_rules,
    decisions_are_recorded_in_batches,
    scans_quotas_and_the_purge_of_expired_codes
);
