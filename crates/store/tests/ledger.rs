#![allow(
    clippy::too_many_lines, // scenario tests tell one story each
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cloned_ref_to_slice_refs
)]
//! The ledger and its log, on SQLite and on PostgreSQL: double entry, idempotency, the only
//! correction (reversal with two approvers), append-only rows enforced by the database, tiles,
//! proofs and receipts that verify, and an audit that finds tampering.

use domain::{IdempotencyKey, KeyOwner};
use moralbank_ledger::{
    tiles::decode_bundle, verify_checkpoint, verify_receipt, MemoryLog, Plan, TileKind, TilePath,
};
use moralbank_store::ledger::{Appended, NewEntry, Sequencer, SequencerConfig};
use moralbank_store::testing::log_key;
use moralbank_store::{now_ms, Backend, Store, StoreError};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

async fn city(store: &Store, n: i64) -> Vec<String> {
    store
        .fixtures()
        .seed_city(n as u64, 11)
        .await
        .expect("seed");
    store.citizen_ids(n).await
}

/// The log key of every test's log: a restarted writer signs with the same key.
fn test_key() -> &'static (String, String) {
    static KEY: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    KEY.get_or_init(|| moralbank_ledger::generate_log_key("test.moralbank.example/log"))
}

async fn start(store: &Store) -> (Sequencer, String) {
    let (skey, vkey) = test_key();
    let key = moralbank_ledger::LogKey::from_private(skey).expect("key");
    let (seq, _task) = Sequencer::start(store.clone(), key, SequencerConfig::default())
        .await
        .expect("start");
    (seq, vkey.clone())
}

fn award(c: &str, amount: i64) -> NewEntry {
    NewEntry::award(
        c,
        amount,
        "issuance:330281",
        "standard:neighbourly-help@1",
        "帮助邻居修理屋顶",
        "deed:test",
        vec!["staff:alice".into()],
    )
}

fn redeem(c: &str, amount: i64) -> NewEntry {
    NewEntry::redemption(
        c,
        amount,
        "benefits:library",
        "benefit:reading",
        "兑换图书馆免押金借书",
        "",
        vec!["partner:library".into()],
    )
}

fn field_code(e: &StoreError) -> (String, &'static str) {
    match e {
        StoreError::Invalid(f) => (f.0[0].field.clone(), f.0[0].code),
        StoreError::Conflict(f) => (f.field.clone(), f.code),
        other => panic!("not a field error: {other:?}"),
    }
}

async fn audit_ok(store: &Store, vkey: &str) -> moralbank_store::ledger::audit::AuditReport {
    store
        .ledger()
        .audit(&[vkey.to_string()], |_| {})
        .await
        .unwrap_or_else(|e| panic!("audit failed: {e}"))
}

async fn awards_redemptions_and_the_only_correction(store: Store) {
    let cs = city(&store, 5).await;
    let (seq, vkey) = start(&store).await;
    let now = now_ms();
    let a = seq
        .append_unruled("k/1".into(), award(&cs[0], 50))
        .await
        .unwrap();
    assert_eq!((a.index, a.replayed), (0, false));
    let r = seq
        .append_unruled("k/2".into(), redeem(&cs[0], 20))
        .await
        .unwrap();
    assert_eq!(r.index, 1);
    let p = store.ledger().points(&cs[0], now).await.unwrap();
    assert_eq!(
        (p.balance, p.credit),
        (30, 50),
        "spending keeps credit points"
    );

    // Overdraw: refused, names the field, changes nothing.
    let e = seq
        .append_unruled("k/3".into(), redeem(&cs[0], 31))
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("amount".into(), "insufficient_balance"));
    let StoreError::Invalid(f) = &e else { panic!() };
    assert_eq!(f.0[0].detail, "the balance is 30 points, 31 are needed");
    assert_eq!(
        store.ledger().points(&cs[0], now).await.unwrap().balance,
        30
    );
    assert_eq!(store.ledger().log_head().await.unwrap().size, 2);

    // Bad input: each field named, nothing reaches the writer.
    let e = seq
        .append_unruled("k/4".into(), award(&cs[0], 0))
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("amount".into(), "out_of_range"));
    let e = seq
        .append_unruled("k/5".into(), award(&uuid::Uuid::now_v7().to_string(), 5))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::NotFound { what: "citizen" }),
        "{e:?}"
    );

    // A reversal needs two different approvers, undoes an award once, and leaves both visible.
    let one = NewEntry::reversal(0, "误录", vec!["staff:alice".into(), "staff:alice".into()]);
    let e = seq.append_unruled("k/6".into(), one).await.unwrap_err();
    assert_eq!(
        field_code(&e),
        ("approvers".into(), "second_approver_required")
    );
    let rev = || {
        NewEntry::reversal(
            0,
            "误录：不是本人",
            vec!["staff:alice".into(), "staff:bob".into()],
        )
    };
    // The citizen spent 20 of the 50: undoing all 50 would overdraw.
    let e = seq.append_unruled("k/7".into(), rev()).await.unwrap_err();
    assert_eq!(field_code(&e), ("amount".into(), "insufficient_balance"));
    seq.append_unruled("k/8".into(), award(&cs[0], 25))
        .await
        .unwrap();
    let x = seq.append_unruled("k/9".into(), rev()).await.unwrap();
    let p = store.ledger().points(&cs[0], now).await.unwrap();
    assert_eq!((p.balance, p.credit), (5, 25));
    let e = seq.append_unruled("k/10".into(), rev()).await.unwrap_err();
    assert_eq!(field_code(&e), ("reverses".into(), "already_reversed"));
    let e = seq
        .append_unruled(
            "k/11".into(),
            NewEntry::reversal(1, "x", vec!["staff:a".into(), "staff:b".into()]),
        )
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("reverses".into(), "not_reversible"));

    let entries = store
        .ledger()
        .citizen_entries(&cs[0], None, 10)
        .await
        .unwrap();
    assert_eq!(
        entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        [x.index, 2, 1, 0]
    );
    assert_eq!(entries[0].kind, "reversal");
    assert_eq!(entries[0].amount, -50);
    assert_eq!(entries[0].reverses, Some(0));
    assert_eq!(entries[3].reversed_by, Some(x.index));
    assert_eq!(entries[3].approvers, ["staff:alice"]);
    assert_eq!(entries[3].counter_account, "issuance:330281");
    assert_eq!(entries[3].reason, "帮助邻居修理屋顶");
    let page2 = store
        .ledger()
        .citizen_entries(&cs[0], Some(1), 10)
        .await
        .unwrap();
    assert_eq!(page2.iter().map(|e| e.index).collect::<Vec<_>>(), [0]);

    let t = store.ledger().ledger_totals().await.unwrap();
    assert_eq!(
        (t.entries, t.awards, t.redemptions, t.reversals),
        (4, 2, 1, 1)
    );
    assert_eq!(t.outstanding, 5);
    assert_eq!(
        t.system_accounts,
        [
            ("benefits:library".to_string(), 20),
            ("issuance:330281".to_string(), -25)
        ]
    );
    let r = audit_ok(&store, &vkey).await;
    assert_eq!(
        (r.entries, r.checkpoints),
        (4, 5),
        "the empty tree's and one per batch"
    );
}

async fn households_sum_their_members(store: Store) {
    let cs = city(&store, 30).await;
    let (seq, _) = start(&store).await;
    let c0 = store.registry().citizen(&cs[0]).await.unwrap().unwrap();
    let members = store
        .registry()
        .household_members(&c0.household_id)
        .await
        .unwrap();
    for (i, m) in members.iter().enumerate() {
        seq.append_unruled(format!("h/{i}"), award(&m.citizen_id, 10 * (i as i64 + 1)))
            .await
            .unwrap();
    }
    let n = members.len() as i64;
    let h = store
        .ledger()
        .household_points(&c0.household_id, now_ms())
        .await
        .unwrap();
    assert_eq!(h.balance, 10 * n * (n + 1) / 2);
    assert_eq!(h.credit, h.balance);
}

async fn a_retry_returns_the_original_and_a_different_request_is_a_conflict(store: Store) {
    let cs = city(&store, 3).await;
    let (seq, vkey) = start(&store).await;
    let scoped = |partner: &str, key: &str| {
        IdempotencyKey::parse(key).map(|k| k.scoped(KeyOwner::Partner(partner)))
    };
    let key = scoped("p1", "order-77").unwrap();
    let first = seq
        .append_unruled(key.clone(), award(&cs[1], 8))
        .await
        .unwrap();
    let again = seq
        .append_unruled(key.clone(), award(&cs[1], 8))
        .await
        .unwrap();
    assert_eq!(
        again,
        Appended {
            replayed: true,
            ..first.clone()
        }
    );
    let e = seq
        .append_unruled(key.clone(), award(&cs[1], 9))
        .await
        .unwrap_err();
    let (field, code) = field_code(&e);
    assert_eq!(
        (field.as_str(), code),
        ("Idempotency-Key", "idempotency_conflict")
    );
    assert!(e.to_string().contains("'order-77'"), "{e}");
    // Another caller's identical key is another key.
    let other = seq
        .append_unruled(scoped("p2", "order-77").unwrap(), award(&cs[1], 8))
        .await
        .unwrap();
    assert_eq!(other.index, 1);
    // Across a restart of the writer.
    drop(seq);
    let (seq, _) = start(&store).await;
    let after = seq
        .append_unruled(key.clone(), award(&cs[1], 8))
        .await
        .unwrap();
    assert_eq!(
        after,
        Appended {
            replayed: true,
            ..first
        }
    );
    // Concurrent retries of one key write once.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (seq, c) = (seq.clone(), cs[2].clone());
            tokio::spawn(async move { seq.append_unruled("same/k".into(), award(&c, 3)).await })
        })
        .collect();
    let mut indexes = Vec::new();
    for t in tasks {
        indexes.push(t.await.unwrap().unwrap().index);
    }
    indexes.dedup();
    assert_eq!(indexes.len(), 1, "{indexes:?}");
    assert_eq!(
        store
            .ledger()
            .points(&cs[2], now_ms())
            .await
            .unwrap()
            .balance,
        3
    );
    assert!(scoped("p", "has space").is_err());
    assert!(scoped("p", "").is_err());
    audit_ok(&store, &vkey).await;
}

async fn the_database_refuses_to_update_or_delete_history(store: Store) {
    let cs = city(&store, 2).await;
    let (seq, _) = start(&store).await;
    seq.append_unruled("t/1".into(), award(&cs[0], 5))
        .await
        .unwrap();
    for sql in [
        "UPDATE ledger_entries SET reason = 'x'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_postings SET amount = 500",
        "DELETE FROM ledger_postings",
        "UPDATE log_hashes SET hash = hash",
        "DELETE FROM log_hashes",
        "UPDATE log_checkpoints SET note = 'x'",
        "DELETE FROM log_checkpoints",
    ] {
        let e = store.execute_raw(sql).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    if store.backend() == Backend::Postgres {
        let e = store
            .execute_raw("TRUNCATE ledger_postings")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }
    assert_eq!(
        store
            .ledger()
            .points(&cs[0], now_ms())
            .await
            .unwrap()
            .balance,
        5
    );
}

/// Change history as someone who may drop the table's guards and put them back unchanged.
async fn tamper(store: &Store, table: &str, sql: &str) {
    store.tamper_for_tests(table, sql).await.unwrap();
}

async fn audit_names_the_first_tampered_entry(store: Store) {
    let cs = city(&store, 4).await;
    let (seq, vkey) = start(&store).await;
    for i in 0..40 {
        seq.append_unruled(format!("a/{i}"), award(&cs[i % 4], 1 + i as i64))
            .await
            .unwrap();
    }
    audit_ok(&store, &vkey).await;
    let (_, other_vkey) = log_key();
    let e = store
        .ledger()
        .audit(&[other_vkey], |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "checkpoint at size 0: its signature does not verify under any of the log's keys"
    );

    // Someone with database access drops the guard, changes history and restores the guard.
    let ten_times = "UPDATE ledger_postings SET amount = amount * 10 WHERE entry_idx = 17";
    tamper(&store, "ledger_postings", ten_times).await;
    let e = store
        .ledger()
        .audit(&[vkey.clone()], |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "entry 17: posting 0 amount is 180, the leaf says 18"
    );
    let back = "UPDATE ledger_postings SET amount = amount / 10 WHERE entry_idx = 17";
    tamper(&store, "ledger_postings", back).await;
    audit_ok(&store, &vkey).await;

    let other = "UPDATE ledger_entries SET reason = '另一个理由' WHERE idx = 23";
    tamper(&store, "ledger_entries", other).await;
    let e = store
        .ledger()
        .audit(&[vkey.clone()], |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "entry 23: the reason differs from what the leaf commits to"
    );
    let back = "UPDATE ledger_entries SET reason = '帮助邻居修理屋顶' WHERE idx = 23";
    tamper(&store, "ledger_entries", back).await;
    audit_ok(&store, &vkey).await;

    // Balances that do not follow from the postings.
    let wrong = format!(
        "UPDATE ledger_accounts SET balance = balance + 1 WHERE citizen_id = '{}'",
        cs[1]
    );
    store.execute_raw(&wrong).await.unwrap();
    let e = store
        .ledger()
        .audit(&[vkey.clone()], |_| {})
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("account citizen:{}: stored balance", cs[1])),
        "{e}"
    );
    let right = format!(
        "UPDATE ledger_accounts SET balance = balance - 1 WHERE citizen_id = '{}'",
        cs[1]
    );
    store.execute_raw(&right).await.unwrap();

    // A stored hash of the tree.
    let id = tlog_tiles::stored_hash_index(0, 12);
    let copy = format!(
        "UPDATE log_hashes SET hash = (SELECT hash FROM log_hashes WHERE id = 0) WHERE id = {id}"
    );
    tamper(&store, "log_hashes", &copy).await;
    let e = store
        .ledger()
        .audit(&[vkey.clone()], |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("entry 12: stored hash {id} differs from the recomputed one")
    );

    // A leaf swapped for another.
    let swap = "UPDATE ledger_entries SET leaf = (SELECT leaf FROM ledger_entries WHERE idx = 10) WHERE idx = 9";
    tamper(&store, "ledger_entries", swap).await;
    let e = store
        .ledger()
        .audit(&[vkey.clone()], |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "entry 9: column id differs from the leaf");
}

async fn tiles_proofs_and_receipts_verify_against_the_signed_checkpoint(store: Store) {
    let cs = city(&store, 6).await;
    let (seq, vkey) = start(&store).await;
    let n = 600u64;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (seq, c) = (seq.clone(), cs[(i % 6) as usize].clone());
            tokio::spawn(async move { seq.append_unruled(format!("p/{i}"), award(&c, 2)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let cp = store.ledger().latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(cp.size, n);
    let verified = verify_checkpoint(&cp.note, &vkey).unwrap();
    // Rebuild the tree from the public entry bundles alone, as a tlog client would.
    let mut log = MemoryLog::new();
    for t in 0..3u64 {
        let width = if t == 2 { n - 512 } else { 256 };
        let tile = TilePath {
            kind: TileKind::Entries,
            n: t,
            width,
        };
        let bundle = store.ledger().log_tile(&tile).await.unwrap().unwrap();
        for leaf in decode_bundle(&bundle).unwrap() {
            log.append(leaf);
        }
    }
    assert_eq!(log.size(), n);
    assert_eq!(&log.root(n).unwrap(), verified.hash());
    // Hash tiles are the tree's hashes.
    let t0 = store
        .ledger()
        .log_tile(&TilePath::parse("tile/0/001").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t0.len(), 256 * 32);
    assert_eq!(
        &t0[..32],
        &moralbank_ledger::leaf_hash(&bundle_leaf(&store, 256).await).0[..]
    );
    let t1 = store
        .ledger()
        .log_tile(&TilePath::parse("tile/1/000.p/2").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        &t1[..32],
        &log.root(256).unwrap().0[..],
        "level 1 holds 256-leaf subtree roots"
    );
    assert!(
        store
            .ledger()
            .log_tile(&TilePath::parse("tile/0/002").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a full tile past the tree's end does not exist yet"
    );
    // Proofs from the database equal the reference implementation's.
    for (index, size) in [(0, 1), (5, 600), (599, 600), (300, 301), (255, 256)] {
        let p = store
            .ledger()
            .log_proof(Plan::Inclusion { index, size })
            .await
            .unwrap();
        assert_eq!(p, log.inclusion(index, size).unwrap());
    }
    for (old, new) in [(1, 600), (256, 600), (599, 600), (7, 300)] {
        let p = store
            .ledger()
            .log_proof(Plan::Consistency { old, new })
            .await
            .unwrap();
        assert_eq!(p, log.consistency(old, new).unwrap());
    }
    assert!(store
        .ledger()
        .log_proof(Plan::Inclusion {
            index: 600,
            size: 600
        })
        .await
        .is_err());
    // A receipt verifies offline and opens only for its citizen (appends were concurrent:
    // ask whose entry 7 is).
    let (owner, _) = store.ledger().entry(7).await.unwrap().unwrap();
    let other = cs.iter().find(|c| **c != owner).unwrap();
    let mine = store
        .ledger()
        .receipt(7, Some(&owner))
        .await
        .unwrap()
        .unwrap();
    let v = verify_receipt(&mine, &vkey).unwrap();
    assert_eq!(v.opened_for.as_deref(), Some(owner.as_str()));
    let theirs = store
        .ledger()
        .receipt(7, Some(other))
        .await
        .unwrap()
        .unwrap();
    assert!(theirs.opening.is_none());
    assert!(store.ledger().receipt(600, None).await.unwrap().is_none());
    // Withdrawal deletes the salt: the log stays valid, the commitment can no longer be opened.
    store.registry().withdraw(&owner).await.unwrap();
    let after = store
        .ledger()
        .receipt(7, Some(&owner))
        .await
        .unwrap()
        .unwrap();
    assert!(after.opening.is_none());
    verify_receipt(&after, &vkey).unwrap();
    audit_ok(&store, &vkey).await;
    let e = seq
        .append_unruled("p/late".into(), award(&owner, 1))
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::NotFound { what: "citizen" }));
}

async fn bundle_leaf(store: &Store, index: u64) -> Vec<u8> {
    let tile = TilePath {
        kind: TileKind::Entries,
        n: index / 256,
        width: 256,
    };
    let b = store.ledger().log_tile(&tile).await.unwrap().unwrap();
    decode_bundle(&b).unwrap()[(index % 256) as usize].to_vec()
}

/// Random interleavings of awards, redemptions, reversals and retries from concurrent
/// clients, against a model: balances always equal the model's sums, never go negative,
/// retries never credit twice, and the audit passes.
async fn random_histories_keep_every_invariant(store: Store) {
    let cs = city(&store, 8).await;
    for seed in 0..4u64 {
        let (seq, vkey) = start(&store).await;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut ops: Vec<(String, NewEntry)> = Vec::new();
        for i in 0..120 {
            let c = &cs[rng.gen_range(0..cs.len())];
            let entry = match rng.gen_range(0..10) {
                0..=5 => award(c, rng.gen_range(1..40)),
                6..=8 => redeem(c, rng.gen_range(1..60)),
                _ => {
                    let of = rng.gen_range(0..(i as u64 + 1 + seed * 120));
                    NewEntry::reversal(of, "复核后撤销", vec!["staff:a".into(), "staff:b".into()])
                }
            };
            ops.push((format!("s{seed}/{i}"), entry));
            if rng.gen_bool(0.2) {
                // A retry of an earlier request, maybe while the first is still in flight.
                let j = rng.gen_range(0..ops.len());
                ops.push(ops[j].clone());
            }
        }
        let mut results: HashMap<String, Vec<Result<Appended, String>>> = HashMap::new();
        for chunk in ops.chunks(16) {
            let tasks: Vec<_> = chunk
                .iter()
                .cloned()
                .map(|(k, e)| {
                    let seq = seq.clone();
                    tokio::spawn(async move {
                        (
                            k.clone(),
                            seq.append_unruled(k, e).await.map_err(|e| e.to_string()),
                        )
                    })
                })
                .collect();
            for t in tasks {
                let (k, r) = t.await.unwrap();
                results.entry(k).or_default().push(r);
            }
        }
        // Every key wrote at most once, and all its answers name the same entry.
        for (k, rs) in &results {
            let oks: Vec<u64> = rs
                .iter()
                .filter_map(|r| r.as_ref().ok())
                .map(|a| a.index)
                .collect();
            assert!(oks.windows(2).all(|w| w[0] == w[1]), "{k}: {rs:?}");
            assert!(
                rs.iter()
                    .filter(|r| matches!(r, Ok(a) if !a.replayed))
                    .count()
                    <= 1,
                "{k} written twice"
            );
        }
        // Balances are the sums of each citizen's entries and never negative.
        for c in &cs {
            let entries = store
                .ledger()
                .citizen_entries(c, None, 10_000)
                .await
                .unwrap();
            let sum: i64 = entries.iter().map(|e| e.amount).sum();
            let p = store.ledger().points(c, now_ms()).await.unwrap();
            assert_eq!(p.balance, sum, "seed {seed}");
            assert!(p.balance >= 0);
        }
        audit_ok(&store, &vkey).await;
    }
}

/// Two writers on one database (two servers with the same log key) take turns and never fork
/// the log.
async fn two_writers_share_one_log(store: Store) {
    let cs = city(&store, 4).await;
    let (skey, vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
    let mut writers = Vec::new();
    for _ in 0..2 {
        let key = moralbank_ledger::LogKey::from_private(&skey).unwrap();
        let (s, _t) = Sequencer::start(store.clone(), key, SequencerConfig::default())
            .await
            .unwrap();
        writers.push(s);
    }
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let seq = writers[i % 2].clone();
            let c = cs[i % 4].clone();
            tokio::spawn(async move { seq.append_unruled(format!("w/{i}"), award(&c, 1)).await })
        })
        .collect();
    let mut idx: Vec<u64> = Vec::new();
    for t in tasks {
        idx.push(t.await.unwrap().unwrap().index);
    }
    idx.sort_unstable();
    assert_eq!(idx, (0..200).collect::<Vec<_>>());
    assert_eq!(store.ledger().log_head().await.unwrap().size, 200);
    audit_ok(&store, &vkey).await;
}

/// After a key rotation the writer signs the current tree with the new key at once, and the
/// audit needs the retired key to check the older checkpoints.
async fn a_rotated_key_signs_the_current_tree_at_start(store: Store) {
    let cs = city(&store, 2).await;
    let (seq, old_vkey) = start(&store).await;
    seq.append_unruled("r/1".into(), award(&cs[0], 4))
        .await
        .unwrap();
    drop(seq);
    let (skey, new_vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
    let key = moralbank_ledger::LogKey::from_private(&skey).unwrap();
    let (seq, _t) = Sequencer::start(store.clone(), key, SequencerConfig::default())
        .await
        .unwrap();
    let cp = store.ledger().latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(verify_checkpoint(&cp.note, &new_vkey).unwrap().size(), 1);
    seq.append_unruled("r/2".into(), award(&cs[0], 4))
        .await
        .unwrap();
    let both = [new_vkey.clone(), old_vkey.clone()];
    assert_eq!(
        store
            .ledger()
            .audit(&both, |_| {})
            .await
            .unwrap()
            .checkpoints,
        4
    );
    let e = store.ledger().audit(&[new_vkey], |_| {}).await.unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
}

/// `bench proofs` fills an empty log with synthetic leaves in bulk: the stored hashes and the
/// head are those of an in-memory log of the same leaves, and it refuses a log that has any.
async fn a_synthetic_log_for_the_proofs_benchmark_is_the_real_tree(store: Store) {
    let n = 5_000u64;
    let mut seen = Vec::new();
    let root = store
        .fixtures()
        .bench_seed_log(n, |k| seen.push(k))
        .await
        .unwrap();
    assert_eq!(seen.last(), Some(&n));
    let mut log = MemoryLog::new();
    for i in 0..n {
        log.append(&moralbank_store::fixtures::ledger::synthetic_leaf(i));
    }
    assert_eq!(root, log.root(n).unwrap());
    let head = store.ledger().log_head().await.unwrap();
    assert_eq!((head.size, head.root), (n, hex::encode(root.0)));
    assert!(store.fixtures().bench_log_is_synthetic().await.unwrap());
    let stored = store
        .ledger()
        .log_hashes(&(0..log.stored_hashes().len() as u64).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(stored.len(), log.stored_hashes().len());
    for (i, h) in log.stored_hashes().iter().enumerate() {
        assert_eq!(stored[&(i as u64)], *h, "stored hash {i}");
    }
    let proof = store
        .ledger()
        .log_proof(Plan::Inclusion {
            index: 1234,
            size: n,
        })
        .await
        .unwrap();
    moralbank_ledger::tree::check_inclusion(
        &proof,
        n,
        root,
        1234,
        &moralbank_store::fixtures::ledger::synthetic_leaf(1234),
    )
    .unwrap();
    assert!(store.fixtures().bench_seed_log(10, |_| {}).await.is_err());
}

moralbank_store::on_both_backends!(
    a_synthetic_log_for_the_proofs_benchmark_is_the_real_tree,
    a_rotated_key_signs_the_current_tree_at_start,
    awards_redemptions_and_the_only_correction,
    households_sum_their_members,
    a_retry_returns_the_original_and_a_different_request_is_a_conflict,
    the_database_refuses_to_update_or_delete_history,
    audit_names_the_first_tampered_entry,
    tiles_proofs_and_receipts_verify_against_the_signed_checkpoint,
    random_histories_keep_every_invariant,
    two_writers_share_one_log,
);
