#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The dashboard's roll-ups on SQLite and PostgreSQL (issue 15): every counted event, whichever
//! code path wrote it, reaches the roll-ups exactly once; a fold is idempotent, and folds that
//! run while residents enrol lose and double nothing; each scope sees only its own rows.

use domain::citydata::kinds::PARTNER_DEEDS;
use domain::{ConsentVersion, PersonName, ENROLMENT_CONSENT_VERSION};
use moralbank_store::citydata::stats::{Grain, Level, Stat, StatsQuery};
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::evaluation::Rules;
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::{now_ms, HouseholdChoice, NewCitizen, Scope, Store};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;

async fn read(
    store: &Store,
    metrics: &[&str],
    scope: &Scope,
    level: Level,
    grain: Grain,
) -> Vec<Stat> {
    let (from, to) = match grain {
        Grain::Day => ("0000-00-00", "9999-99-99"),
        Grain::Month => ("0000-00", "9999-99"),
    };
    store
        .citydata()
        .statistics(&StatsQuery {
            metrics,
            scope,
            level,
            grain,
            from,
            to,
        })
        .await
        .unwrap()
}

/// `metric/key` → total n, over every bucket and region.
fn totals(rows: &[Stat]) -> BTreeMap<String, (i64, i64)> {
    let mut t = BTreeMap::new();
    for r in rows {
        let e = t.entry(format!("{}/{}", r.metric, r.key)).or_insert((0, 0));
        e.0 += r.n;
        e.1 += r.amount;
    }
    t
}

async fn count(store: &Store, sql: &str) -> i64 {
    store.count_for_tests(sql).await.unwrap()
}

async fn every_event_is_counted_once_in_every_grain_and_level(store: Store) {
    store.fixtures().seed_city(6, 7).await.unwrap();
    let partner = store
        .trusted_partner_for_tests("余姚市中心血站", &["blood-donation"])
        .await;
    let ids = store.citizen_ids(6).await;

    // Enrolments were counted by the trigger, but wait for a fold.
    let before = store.citydata().statistics_freshness().await.unwrap();
    assert_eq!(before.pending, 6);
    assert!(read(
        &store,
        &["enrolled"],
        &Scope::City,
        Level::Town,
        Grain::Month
    )
    .await
    .is_empty());
    assert_eq!(store.citydata().fold_statistics().await.unwrap(), 6);
    assert_eq!(
        store.citydata().fold_statistics().await.unwrap(),
        0,
        "a fold is idempotent"
    );
    let after = store.citydata().statistics_freshness().await.unwrap();
    assert_eq!(after.pending, 0);
    assert!(after.folded_at > 0);

    // Two deeds by a trusted partner's file, one of them then credited (raw: the trigger
    // counts whichever path changes a status).
    let mut csv = String::from("key,身份证号,standard,deed_date,place,description,points\n");
    let today = moralbank_store::day_of(now_ms());
    for (k, id) in ids.iter().take(2).enumerate() {
        let rid = store
            .registry()
            .citizen(id)
            .await
            .unwrap()
            .unwrap()
            .resident_id;
        csv.push_str(&format!(
            "k{k},{},blood-donation,{today},血站,无偿献血 200 毫升,\n",
            rid.as_str()
        ));
    }
    let i = store
        .citydata()
        .import_file(
            &Upload {
                schema: &PARTNER_DEEDS,
                owner: ImportOwner::Partner(partner.clone()),
                by: partner.clone(),
                file_name: "deeds.csv".into(),
                bytes: csv.as_bytes(),
            },
            Mode::Commit,
            &Rules::default(),
            now_ms(),
            &AtomicUsize::new(0),
        )
        .await
        .unwrap();
    assert_eq!(i.status, "committed", "{:?}", i.problems);
    store
        .execute_for_tests(&format!(
            "UPDATE deeds SET status = 'credited', points = 20, updated_at = {} WHERE citizen_id = '{}'",
            now_ms(),
            ids[0]
        ))
        .await
        .unwrap();
    // A green card issued then revoked, and a resident who withdraws.
    let card = store
        .code()
        .issue_green_card(
            &ids[2],
            "moral-model",
            "孝老爱亲",
            now_ms() + 86_400_000,
            "staff:admin",
            now_ms(),
        )
        .await
        .unwrap();
    store
        .code()
        .revoke_green_card(&card.id, "评选有误", "staff:admin", now_ms())
        .await
        .unwrap();
    // A partner's scanner reads two codes; a staff member's read of a record is no scan.
    let scanner = moralbank_store::Actor {
        kind: "partner",
        id: partner.clone(),
        label: "余姚市中心血站".into(),
    };
    store
        .registry()
        .record_access(&[&ids[0], &ids[1]], &scanner, "scan")
        .await
        .unwrap();
    store
        .registry()
        .record_access(&[&ids[0]], &scanner, "read")
        .await
        .unwrap();
    store.registry().withdraw(&ids[5]).await.unwrap();
    store.citydata().fold_statistics().await.unwrap();

    let all = [
        "enrolled",
        "withdrawn",
        "deed_reported",
        "deed_status",
        "deed_credited",
        "green_card",
        "green_card_revoked",
        "scanned",
    ];
    let publicity = count(
        &store,
        "SELECT COUNT(*) FROM deeds WHERE status <> 'credited'",
    )
    .await;
    let mut want: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    want.insert("enrolled/".into(), (6, 0));
    want.insert("withdrawn/".into(), (1, 0));
    want.insert("deed_reported/blood-donation".into(), (2, 0));
    // Each deed was counted in the status it was reported in, then once more when credited.
    let first = count(&store, "SELECT COUNT(*) FROM deeds").await;
    assert_eq!(first, 2);
    assert_eq!(publicity, 1);
    want.insert("deed_credited/blood-donation".into(), (1, 20));
    want.insert("green_card/moral-model".into(), (1, 0));
    want.insert("green_card_revoked/moral-model".into(), (1, 0));
    want.insert("scanned/".into(), (2, 0));
    for (level, grain) in [
        (Level::Town, Grain::Month),
        (Level::Town, Grain::Day),
        (Level::Village, Grain::Month),
        (Level::Village, Grain::Day),
    ] {
        let mut got = totals(&read(&store, &all, &Scope::City, level, grain).await);
        let statuses: Vec<_> = got
            .keys()
            .filter(|k| k.starts_with("deed_status/"))
            .cloned()
            .collect();
        let moved: i64 = statuses.iter().map(|k| got[k].0).sum();
        assert_eq!(moved, 3, "two reports and one credit: {got:?}");
        assert_eq!(got["deed_status/credited"].0, 1);
        for k in statuses {
            got.remove(&k);
        }
        assert_eq!(got, want, "{level:?} {grain:?}");
    }

    // Scopes: a village sees its own rows only; a town sees its villages.
    let villages: Vec<(String, String)> = store
        .registry()
        .villages()
        .await
        .unwrap()
        .into_iter()
        .map(|(v, _)| (v.id.clone(), v.parent_id.clone().unwrap()))
        .collect();
    let mut by_village = 0;
    let mut by_town = 0;
    let towns: std::collections::BTreeSet<_> = villages.iter().map(|(_, t)| t.clone()).collect();
    for (v, _) in &villages {
        let rows = read(
            &store,
            &["enrolled"],
            &Scope::Village(v.clone()),
            Level::Town,
            Grain::Month,
        )
        .await;
        assert!(rows.iter().all(|r| &r.region_id == v), "{rows:?}");
        by_village += rows.iter().map(|r| r.n).sum::<i64>();
    }
    for t in &towns {
        let rows = read(
            &store,
            &["enrolled"],
            &Scope::Town(t.clone()),
            Level::Village,
            Grain::Day,
        )
        .await;
        assert!(rows
            .iter()
            .all(|r| villages.iter().any(|(v, vt)| v == &r.region_id && vt == t)));
        let own = read(
            &store,
            &["enrolled"],
            &Scope::Town(t.clone()),
            Level::Town,
            Grain::Day,
        )
        .await;
        assert_eq!(
            own.iter().map(|r| r.n).sum::<i64>(),
            rows.iter().map(|r| r.n).sum::<i64>()
        );
        by_town += rows.iter().map(|r| r.n).sum::<i64>();
    }
    assert_eq!((by_village, by_town), (6, 6));
}

async fn folds_while_residents_enrol_lose_and_double_nothing(store: Store) {
    store.fixtures().seed_city(1, 7).await.unwrap();
    let village = store.registry().villages().await.unwrap()[0].0.id.clone();
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let store = store.clone();
        let village = village.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10u64 {
                let (phone, rid) = demo_identity(700_000 + w * 100 + i);
                store
                    .enrol_confirmed_for_tests(&NewCitizen {
                        name: PersonName::parse("李四海").unwrap(),
                        resident_id: rid,
                        phone,
                        village_id: village.clone(),
                        household: HouseholdChoice::New,
                        consent: ConsentVersion::parse_current(
                            ENROLMENT_CONSENT_VERSION,
                            ENROLMENT_CONSENT_VERSION,
                        )
                        .unwrap(),
                    })
                    .await;
            }
        }));
    }
    let folder = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut folded = 0;
            for _ in 0..20 {
                folded += store.citydata().fold_statistics().await.unwrap();
                tokio::task::yield_now().await;
            }
            folded
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    let mut folded = folder.await.unwrap();
    folded += store.citydata().fold_statistics().await.unwrap();
    assert_eq!(folded, 41, "every delta folded exactly once");
    let rows = read(
        &store,
        &["enrolled"],
        &Scope::City,
        Level::Village,
        Grain::Day,
    )
    .await;
    assert_eq!(rows.iter().map(|r| r.n).sum::<i64>(), 41);
    let rows = read(
        &store,
        &["enrolled"],
        &Scope::City,
        Level::Town,
        Grain::Month,
    )
    .await;
    assert_eq!(rows.iter().map(|r| r.n).sum::<i64>(), 41);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM citizens").await, 41);
}

/// A deed written already credited (as the bulk loaders of the demo's history do) is counted
/// as reported, in its status and as credited with its points, on the day it was written in
/// China Standard Time, in its village and that village's town; a later status change counts
/// the new status only.
async fn a_deed_written_credited_counts_every_delta_on_its_day_and_town(store: Store) {
    store.fixtures().seed_city(2, 11).await.unwrap();
    let ids = store.citizen_ids(2).await;
    let citizen = store.registry().citizen(&ids[0]).await.unwrap().unwrap();
    let town = store
        .registry()
        .villages()
        .await
        .unwrap()
        .into_iter()
        .find(|(v, _)| v.id == citizen.village_id)
        .and_then(|(v, _)| v.parent_id)
        .unwrap();
    store
        .evaluation()
        .ensure_default_standards("staff:test")
        .await
        .unwrap();
    store.citydata().fold_statistics().await.unwrap();
    // 2026-03-01 20:00 UTC is 2026-03-02 04:00 in China.
    let at: i64 = 1_772_395_200_000;
    store
        .execute_for_tests(&format!(
            "INSERT INTO deeds (id, citizen_id, village_id, household_id, source, reporter_id, standard_id, \
             deed_date, place, description, status, round, points, created_at, updated_at) \
             SELECT 'deed-written-credited', c.id, c.village_id, c.household_id, 'own', c.id, s.id, \
             '2026-03-01', '血站', '无偿献血', 'credited', 1, 15, {at}, {at} \
             FROM citizens c, standards s WHERE c.id = '{}' AND s.code = 'blood-donation'",
            ids[0]
        ))
        .await
        .unwrap();
    assert_eq!(store.citydata().fold_statistics().await.unwrap(), 3);
    let metrics = ["deed_reported", "deed_status", "deed_credited"];
    let rows = read(&store, &metrics, &Scope::City, Level::Village, Grain::Day).await;
    let mut got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.metric.as_str(),
                r.bucket.as_str(),
                r.region_id.as_str(),
                r.key.as_str(),
                r.n,
                r.amount,
            )
        })
        .collect();
    got.sort_unstable();
    let v = citizen.village_id.as_str();
    assert_eq!(
        got,
        vec![
            ("deed_credited", "2026-03-02", v, "blood-donation", 1, 15),
            ("deed_reported", "2026-03-02", v, "blood-donation", 1, 0),
            ("deed_status", "2026-03-02", v, "credited", 1, 0),
        ]
    );
    let towns = read(&store, &metrics, &Scope::City, Level::Town, Grain::Month).await;
    assert_eq!(towns.len(), 3, "{towns:?}");
    assert!(towns
        .iter()
        .all(|r| r.region_id == town && r.bucket == "2026-03"));

    // A status change counts the new status, and nothing as reported again.
    store
        .execute_for_tests(&format!(
            "UPDATE deeds SET status = 'closed', updated_at = {} WHERE id = 'deed-written-credited'",
            at + 86_400_000
        ))
        .await
        .unwrap();
    assert_eq!(store.citydata().fold_statistics().await.unwrap(), 1);
    let month = totals(&read(&store, &metrics, &Scope::City, Level::Town, Grain::Month).await);
    assert_eq!(month["deed_status/closed"], (1, 0));
    assert_eq!(month["deed_reported/blood-donation"], (1, 0));
    assert_eq!(month["deed_credited/blood-donation"], (1, 15));
}

moralbank_store::on_both_backends!(
    every_event_is_counted_once_in_every_grain_and_level,
    folds_while_residents_enrol_lose_and_double_nothing,
    a_deed_written_credited_counts_every_delta_on_its_day_and_town,
);
