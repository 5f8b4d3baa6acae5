#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! A file of partner deeds is decided row for row as the same submissions one at a time over
//! the API would be (issue 15: imports go through the evaluation's rules, many rows per
//! statement). The same city, the same earlier submissions and the same rows go once through
//! the import and once through `report_deed`, each on a fresh database of the backend; the
//! outcomes and every row they wrote (deeds, events, notifications, access log, statistics)
//! must be the same. On SQLite and PostgreSQL.

use domain::citydata::kinds::PARTNER_DEEDS;
use domain::IdempotencyKey;
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::evaluation::{NewDeed, Reporter, Rules};
use moralbank_store::testing::TestDb;
use moralbank_store::{now_ms, Backend, Store, StoreError};
use std::sync::atomic::AtomicUsize;

/// The partners' deeds with the row limit raised, as a city may (the pipeline is the same).
static LONG: domain::citydata::Schema = domain::citydata::Schema {
    rows_max: 10_000,
    ..PARTNER_DEEDS
};

/// One row of the file: key, resident (index in enrolment order), standard, date, points.
type Line = (&'static str, usize, &'static str, &'static str, Option<i64>);

struct City {
    store: Store,
    partner: String,
    citizens: Vec<String>,
    rids: Vec<String>,
}

async fn city(store: Store) -> City {
    store.fixtures().seed_city(8, 3).await.unwrap();
    let partner = store
        .trusted_partner_for_tests("余姚市中心血站", &["blood-donation"])
        .await;
    let citizens = store.citizen_ids(8).await;
    let mut rids = Vec::new();
    for c in &citizens {
        rids.push(
            store
                .registry()
                .citizen(c)
                .await
                .unwrap()
                .unwrap()
                .resident_id
                .as_str()
                .to_string(),
        );
    }
    City {
        store,
        partner,
        citizens,
        rids,
    }
}

fn deed(c: &City, (key, who, standard, date, points): &Line) -> NewDeed {
    NewDeed {
        citizen_id: c.citizens[*who].clone(),
        reporter: Reporter::Partner {
            partner_id: c.partner.clone(),
            key: IdempotencyKey::parse(key).unwrap(),
        },
        standard_code: (*standard).into(),
        deed_date: (*date).into(),
        place: "余姚市中心血站".into(),
        description: "无偿献血 300 毫升".into(),
        evidence: vec![],
        points: *points,
    }
}

fn code_of(e: &StoreError) -> String {
    match e {
        StoreError::Invalid(f) => f.0[0].code.to_string(),
        StoreError::Conflict(f) => f.code.to_string(),
        other => format!("{other:?}"),
    }
}

/// Everything the submissions wrote, with ids replaced by what they stand for.
async fn written(c: &City) -> Vec<String> {
    let mut out = Vec::new();
    let who = |id: &str| {
        c.citizens
            .iter()
            .position(|x| x == id)
            .map_or("?".into(), |i| i.to_string())
    };
    // A partner's key is stored scoped by the partner, whose id differs between databases.
    let key = |k: &str| k.rsplit('/').next().unwrap_or_default().to_string();
    let q = |sql: &'static str| {
        let store = c.store.clone();
        async move { store.rows_for_tests(sql).await.unwrap() }
    };
    for r in q("SELECT d.idem_key, d.citizen_id, s.code, d.deed_date, d.status, d.points, CASE WHEN d.duplicate_of IS NULL THEN 0 ELSE 1 END AS dup, \
                d.source, d.round, d.publicity_ends_at - d.created_at AS publicity, d.decided_at - d.created_at AS decided \
                FROM deeds d JOIN standards s ON s.id = d.standard_id ORDER BY d.idem_key").await
    {
        let mut r = r;
        r[0] = key(&r[0]);
        r[1] = who(&r[1]);
        out.push(format!("deed {r:?}"));
    }
    for r in q("SELECT d.idem_key, e.actor_kind, e.action, CASE WHEN e.action = 'flagged_duplicate' THEN '' ELSE e.detail END AS detail \
                FROM deed_events e JOIN deeds d ON d.id = e.deed_id ORDER BY d.idem_key, e.action").await
    {
        let mut r = r;
        r[0] = key(&r[0]);
        out.push(format!("event {r:?}"));
    }
    for r in q("SELECT d.idem_key, n.recipient_kind, n.kind FROM notifications n JOIN deeds d ON d.id = n.deed_id \
                ORDER BY d.idem_key, n.kind").await
    {
        let mut r = r;
        r[0] = key(&r[0]);
        out.push(format!("note {r:?}"));
    }
    for r in q("SELECT citizen_id, actor_kind, actor_label, action FROM access_log ORDER BY citizen_id, action").await {
        let mut r = r;
        r[0] = who(&r[0]);
        out.push(format!("access {r:?}"));
    }
    for r in q("SELECT metric, key, CAST(SUM(n) AS TEXT) AS n, CAST(SUM(amount) AS TEXT) AS amount FROM stats_deltas \
                WHERE metric LIKE 'deed%' GROUP BY metric, key ORDER BY metric, key").await
    {
        out.push(format!("stat {r:?}"));
    }
    out.sort();
    out
}

async fn a_file_is_decided_as_its_rows_one_at_a_time(store: Store) {
    let other = match store.backend() {
        Backend::Sqlite => TestDb::sqlite().await,
        Backend::Postgres => TestDb::postgres()
            .await
            .expect("the first PostgreSQL test database was made"),
    };
    let today = moralbank_store::day_of(now_ms());
    let year = &today[..4];
    let day = |d: &str| -> &'static str { Box::leak(format!("{year}-{d}").into_boxed_str()) };
    let t: &'static str = Box::leak(today.clone().into_boxed_str());
    // Before the file: two donations of resident 0 this year (the cap is 60, 20 each), and two
    // keys the file will use again (one with the same deed, one with another).
    let before: Vec<Line> = vec![
        ("b-1", 0, "blood-donation", day("01-10"), None),
        ("b-2", 0, "blood-donation", day("01-20"), None),
        ("k-replay", 1, "blood-donation", t, None),
        ("k-conflict", 2, "blood-donation", t, None),
    ];
    let file: Vec<Line> = vec![
        ("k-1", 3, "blood-donation", t, None),
        ("k-2", 0, "blood-donation", t, None), // the third of the year: fits the cap
        ("k-3", 0, "blood-donation", t, None), // the fourth: over the cap
        ("k-replay", 1, "blood-donation", t, None), // a retry: unchanged
        ("k-conflict", 2, "blood-donation", day("01-02"), None), // the key of another deed
        ("k-4", 4, "neighbourly-help", t, None), // the committee decides: to review
        ("k-5", 3, "blood-donation", t, None), // same person, category and day as k-1
        ("k-6", 5, "volunteer-hour", t, Some(2)), // not trusted for this standard
        ("k-7", 6, "blood-donation", t, Some(25)), // points outside the range
        ("k-8", 7, "no-such-standard", t, None),
        ("k-9", 4, "blood-donation", t, None),
    ];
    let rules = Rules::default();
    let mut outcomes = Vec::new();
    let mut snapshots = Vec::new();
    for (n, db) in [store, other.store.clone()].into_iter().enumerate() {
        let c = city(db).await;
        for l in &before {
            c.store
                .evaluation()
                .report_deed(&deed(&c, l), &rules, now_ms())
                .await
                .unwrap();
        }
        let got: Vec<String> = if n == 0 {
            let mut csv =
                String::from("key,身份证号,standard,deed_date,place,description,points\n");
            for (key, who, standard, date, points) in &file {
                csv.push_str(&format!(
                    "{key},{},{standard},{date},余姚市中心血站,无偿献血 300 毫升,{}\n",
                    c.rids[*who],
                    points.map(|p| p.to_string()).unwrap_or_default()
                ));
            }
            let i = c
                .store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &PARTNER_DEEDS,
                        owner: ImportOwner::Partner(c.partner.clone()),
                        by: c.partner.clone(),
                        file_name: "deeds.csv".into(),
                        bytes: csv.as_bytes(),
                    },
                    Mode::Preview,
                    &rules,
                    now_ms(),
                    &AtomicUsize::new(0),
                )
                .await
                .unwrap();
            // The file is refused whole (nothing written) with a problem per refused row; the
            // rows that passed are then committed as a file of their own, so that the two
            // databases can be compared and each row's outcome read.
            assert_eq!(i.status, "refused");
            let mut got = vec![String::new(); file.len()];
            for p in &i.problems {
                let k = p.row - 2;
                if got[k].is_empty() {
                    got[k] = p.code.clone();
                }
            }
            let mut ok = String::from("key,身份证号,standard,deed_date,place,description,points\n");
            for (k, (key, who, standard, date, points)) in file.iter().enumerate() {
                if got[k].is_empty() {
                    ok.push_str(&format!(
                        "{key},{},{standard},{date},余姚市中心血站,无偿献血 300 毫升,{}\n",
                        c.rids[*who],
                        points.map(|p| p.to_string()).unwrap_or_default()
                    ));
                }
            }
            let done = c
                .store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &PARTNER_DEEDS,
                        owner: ImportOwner::Partner(c.partner.clone()),
                        by: c.partner.clone(),
                        file_name: "deeds-ok.csv".into(),
                        bytes: ok.as_bytes(),
                    },
                    Mode::Commit,
                    &rules,
                    now_ms(),
                    &AtomicUsize::new(0),
                )
                .await
                .unwrap();
            assert_eq!(done.status, "committed", "{:?}", done.problems);
            for r in &done.results {
                let k = file.iter().position(|l| l.0 == r.key).unwrap();
                got[k] = format!("{} {}", r.outcome, r.status);
            }
            got
        } else {
            let mut got = Vec::new();
            for l in &file {
                let d = deed(&c, l);
                let replay = c
                    .store
                    .count_for_tests(&format!(
                        "SELECT COUNT(*) FROM deeds WHERE idem_key LIKE '%/{}'",
                        l.0
                    ))
                    .await
                    .unwrap()
                    > 0;
                got.push(
                    match c.store.evaluation().report_deed(&d, &rules, now_ms()).await {
                        Ok(deed) if replay => format!("unchanged {}", deed.status.as_str()),
                        Ok(deed) => format!("new {}", deed.status.as_str()),
                        Err(e) => code_of(&e),
                    },
                );
            }
            got
        };
        outcomes.push(got);
        snapshots.push(written(&c).await);
    }
    assert_eq!(
        outcomes[0],
        [
            "new publicity",
            "new publicity",
            "cap_exceeded",
            "unchanged publicity",
            "idempotency_conflict",
            "new review",
            "new publicity",
            "untrusted_partner",
            "out_of_range",
            "unknown_standard",
            "new publicity",
        ],
        "the import's outcomes"
    );
    assert_eq!(
        outcomes[0], outcomes[1],
        "import (left) and one at a time (right)"
    );
    assert_eq!(snapshots[0], snapshots[1]);
    assert!(snapshots[0].iter().any(|r| r.contains("flagged_duplicate")));
}

/// The import decides a long file in rounds of 1,000 rows, the next round while this one is
/// written, and gets its rows from the reader 5,000 at a time; on SQLite a round is decided
/// beside the transaction, which does not see the file's own rows, unless it shares a resident
/// and standard (or a key) with an earlier row, and the last round of the reader's chunk is
/// written with the next chunk's first. Rows of the second chunk of a file of 6,003 (the limit
/// raised, as a city's policy may) that depend on rows of the first round must still see them: a
/// donation of the same person and day is flagged as a duplicate of the first round's deed,
/// and a donation past the yearly cap (two before the file, one in the first round) is
/// refused; every row of every round is written and counted once.
async fn a_long_file_s_later_rounds_see_its_earlier_rows(store: Store) {
    let today = moralbank_store::day_of(now_ms());
    const ROWS: usize = 6_000;
    store.fixtures().seed_city(ROWS as u64, 5).await.unwrap();
    let partner = store
        .trusted_partner_for_tests("余姚市中心血站", &["blood-donation", "volunteer-hour"])
        .await;
    let citizens = store.citizen_ids(ROWS as i64).await;
    let mut rids = Vec::new();
    for c in &citizens {
        let r = store.registry().citizen(c).await.unwrap().unwrap();
        rids.push(r.resident_id.as_str().to_string());
    }
    let c = City {
        store: store.clone(),
        partner: partner.clone(),
        citizens,
        rids,
    };
    let rules = Rules::default();
    // Two donations of resident 7 today before the file: the cap (60 a year, 20 each) leaves one.
    for key in ["b-1", "b-2"] {
        let t: &'static str = Box::leak(today.clone().into_boxed_str());
        store
            .evaluation()
            .report_deed(
                &deed(&c, &(key, 7, "blood-donation", t, None)),
                &rules,
                now_ms(),
            )
            .await
            .unwrap();
    }
    let line = |key: &str, who: usize, standard: &str, points: &str| {
        format!(
            "{key},{},{standard},{today},余姚市中心血站,无偿献血 300 毫升,{points}\n",
            c.rids[who]
        )
    };
    let mut rows: Vec<String> = (0..ROWS)
        .map(|i| line(&format!("r-{i}"), i, "blood-donation", ""))
        .collect();
    // At the start of the reader's second chunk (rows of data 5,000 on), five rounds after the
    // first; the last round (the last three residents) shares nothing, and is written last.
    let at = 5_000;
    rows.insert(at, line("dup", 5, "blood-donation", "")); // the day of r-5
    rows.insert(at + 1, line("cap", 7, "blood-donation", "")); // the fourth of the year
    rows.insert(at + 2, line("hours", 1_500, "volunteer-hour", "2")); // another standard
    let file = |rows: &[String]| {
        let mut csv = String::from("key,身份证号,standard,deed_date,place,description,points\n");
        csv.extend(rows.iter().cloned());
        csv
    };
    let import = |csv: String, mode: Mode| {
        let (store, partner, rules) = (store.clone(), partner.clone(), rules.clone());
        async move {
            store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &LONG,
                        owner: ImportOwner::Partner(partner.clone()),
                        by: partner,
                        file_name: "deeds.csv".into(),
                        bytes: csv.as_bytes(),
                    },
                    mode,
                    &rules,
                    now_ms(),
                    &AtomicUsize::new(0),
                )
                .await
                .unwrap()
        }
    };
    let all = import(file(&rows), Mode::Preview).await;
    assert_eq!(all.status, "refused");
    let refused: Vec<(usize, &str)> = all
        .problems
        .iter()
        .map(|p| (p.row, p.code.as_str()))
        .collect();
    // (Row 1 is the header; "cap" is the 5,002nd row of data.)
    assert_eq!(refused, [(at + 3, "cap_exceeded")], "{:?}", all.problems);
    rows.remove(at + 1);
    let done = import(file(&rows), Mode::Commit).await;
    assert_eq!(done.status, "committed", "{:?}", done.problems);
    assert_eq!(done.rows.new, ROWS as i64 + 2);
    let results: std::collections::BTreeSet<usize> = done.results.iter().map(|r| r.line).collect();
    assert_eq!(results.len(), ROWS + 2, "one result a row");
    assert_eq!(results.first().copied(), Some(2));
    let flagged = store
        .rows_for_tests(
            "SELECT d.idem_key, COALESCE(f.idem_key, '') FROM deeds d LEFT JOIN deeds f ON f.id = d.duplicate_of \
             WHERE d.duplicate_of IS NOT NULL ORDER BY d.idem_key",
        )
        .await
        .unwrap();
    let flagged: Vec<(String, String)> = flagged
        .into_iter()
        .map(|r| {
            let key = |k: &str| k.rsplit('/').next().unwrap_or_default().to_string();
            (key(&r[0]), key(&r[1]))
        })
        .collect();
    // (r-7's first deed of the day is b-1, or b-2 if both were made in one millisecond.)
    let r7 = flagged.iter().find(|f| f.0 == "r-7").map(|f| f.1.as_str());
    assert!(matches!(r7, Some("b-1" | "b-2")), "{flagged:?}");
    let others: Vec<&(String, String)> = flagged.iter().filter(|f| f.0 != "r-7").collect();
    assert_eq!(
        others,
        [
            &("b-2".to_string(), "b-1".to_string()),
            &("dup".to_string(), "r-5".to_string()),
        ]
    );
    let deeds = store
        .count_for_tests("SELECT COUNT(*) FROM deeds WHERE status = 'publicity'")
        .await
        .unwrap();
    assert_eq!(deeds, 2 + ROWS as i64 + 2);
    let reported = store
        .count_for_tests(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM stats_deltas WHERE metric = 'deed_reported'",
        )
        .await
        .unwrap();
    assert_eq!(reported, 2 + ROWS as i64 + 2, "every deed counted once");
    // On SQLite the commit left its WAL checkpoint to a connection of its own, which copied
    // the whole log; the writer checkpoints its own commits again (SQLite's 1,000 pages).
    let checkpoint = store.wal_settled().await;
    match store.backend() {
        Backend::Sqlite => {
            let c = checkpoint.expect("a checkpoint after the commit");
            assert!(c.log_frames > 0, "{c:?}");
            assert_eq!(c.copied_frames, c.log_frames, "{c:?}");
            let pages = store
                .writer_value_for_tests("PRAGMA wal_autocheckpoint")
                .await
                .unwrap();
            assert_eq!(pages, 1_000);
        }
        Backend::Postgres => assert_eq!(checkpoint, None),
    }
    assert_eq!(store.wal_settled().await, None, "one checkpoint a commit");
}

moralbank_store::on_both_backends!(
    a_file_is_decided_as_its_rows_one_at_a_time,
    a_long_file_s_later_rounds_see_its_earlier_rows
);
