#![allow(
    clippy::too_many_lines, // scenario tests tell one story each
    clippy::unwrap_used,
    clippy::expect_used
)]
//! An audit that cannot be fooled, on SQLite and on PostgreSQL: an attacker with database
//! access who moves a posting to another citizen and hides it behind a missing salt is named
//! by the commitment it breaks.

use moralbank_store::testing::{start_sequencer as start, test_award as award};
use moralbank_store::Store;

async fn city(store: &Store, n: i64) -> Vec<String> {
    store
        .fixtures()
        .seed_city(n as u64, 13)
        .await
        .expect("seed");
    store.citizen_ids(n).await
}

async fn audit(store: &Store, vkey: &str) -> Result<String, String> {
    store
        .ledger()
        .audit(&[vkey.to_string()], |_| {})
        .await
        .map(|r| r.root)
        .map_err(|e| e.to_string())
}

/// Run `sql` as an attacker who drops the table's append-only guard, changes rows and puts the
/// guard back exactly as it was.
async fn tamper(store: &Store, table: &str, sql: &str) {
    store.tamper_for_tests(table, sql).await.expect("tamper");
}

/// Move award `index` of `from` (amount `amount`) to `to`, fixing balances and credit so that
/// everything derived still adds up; `to` gets an account without a salt, as if withdrawn.
async fn move_award(store: &Store, index: u64, amount: i64, from: &str, to: &str) {
    tamper(
        store,
        "ledger_postings",
        &format!(
            "UPDATE ledger_postings SET account = 'citizen:{to}', citizen_id = '{to}' \
             WHERE entry_idx = {index} AND citizen_id = '{from}'"
        ),
    )
    .await;
    store
        .execute_raw(&format!(
            "INSERT INTO ledger_accounts (account, citizen_id, salt, balance, entries, updated_at) \
             VALUES ('citizen:{to}', '{to}', NULL, {amount}, 1, 0) ON CONFLICT (account) DO UPDATE \
             SET balance = ledger_accounts.balance + {amount}, entries = ledger_accounts.entries + 1; \
             UPDATE ledger_accounts SET balance = balance - {amount}, entries = entries - 1 \
             WHERE citizen_id = '{from}'; \
             INSERT INTO ledger_credit (citizen_id, month, points) \
             SELECT '{to}', month, {amount} FROM ledger_credit WHERE citizen_id = '{from}' \
             ON CONFLICT (citizen_id, month) DO UPDATE SET points = ledger_credit.points + {amount}; \
             UPDATE ledger_credit SET points = points - {amount} WHERE citizen_id = '{from}';"
        ))
        .await
        .unwrap();
}

async fn a_posting_moved_behind_a_missing_salt_is_a_commitment_mismatch(store: Store) {
    let cs = city(&store, 3).await;
    let (seq, vkey) = start(&store).await;
    seq.append_unruled("m/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    seq.append_unruled("m/1".into(), award(&cs[0], 7))
        .await
        .unwrap();
    seq.append_unruled("m/2".into(), award(&cs[2], 3))
        .await
        .unwrap();
    let root = audit(&store, &vkey).await.expect("a clean log passes");

    // cs[1] is enrolled and has no ledger account: the attacker gives them entry 1.
    move_award(&store, 1, 7, &cs[0], &cs[1]).await;
    assert_eq!(store.ledger().log_head().await.unwrap().root, root);
    let e = audit(&store, &vkey)
        .await
        .expect_err("the moved posting is found");
    assert!(
        e.starts_with("entry 1: posting ")
            && e.ends_with("belongs to another citizen than the leaf commits to"),
        "{e}"
    );
}

async fn a_posting_moved_between_withdrawn_or_invented_citizens_is_a_commitment_mismatch(
    store: Store,
) {
    let cs = city(&store, 4).await;
    let (seq, vkey) = start(&store).await;
    seq.append_unruled("w/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    seq.append_unruled("w/1".into(), award(&cs[1], 4))
        .await
        .unwrap();
    seq.append_unruled("w/2".into(), award(&cs[1], 2))
        .await
        .unwrap();
    seq.append_unruled("w/3".into(), award(&cs[2], 6))
        .await
        .unwrap();
    store.registry().withdraw(&cs[1]).await.unwrap();
    store.registry().withdraw(&cs[2]).await.unwrap();
    audit(&store, &vkey)
        .await
        .expect("withdrawals keep the log valid");

    // Between two withdrawn citizens: cs[1]'s postings now carry two commitments.
    move_award(&store, 3, 6, &cs[2], &cs[1]).await;
    let e = audit(&store, &vkey).await.unwrap_err();
    assert!(
        e.starts_with("entry 3: posting ")
            && e.ends_with("belongs to another citizen than the leaf commits to"),
        "{e}"
    );
    tamper(
        &store,
        "ledger_postings",
        &format!("UPDATE ledger_postings SET account = 'citizen:{c}', citizen_id = '{c}' WHERE entry_idx = 3 AND citizen_id IS NOT NULL", c = cs[2]),
    )
    .await;

    // To an invented citizen, recorded as withdrawn and counted: the commitment still opens
    // under cs[0]'s salt.
    store
        .execute_raw(
            "INSERT INTO withdrawals (citizen_id, withdrawn_at) VALUES ('ghost', 1); \
             UPDATE log_head SET withdrawals = withdrawals + 1 WHERE id = 1",
        )
        .await
        .unwrap();
    move_award(&store, 0, 5, &cs[0], "ghost").await;
    let e = audit(&store, &vkey).await.unwrap_err();
    assert!(
        e.starts_with("entry 0: posting ")
            && e.ends_with("belongs to another citizen than the leaf commits to"),
        "{e}"
    );
}

async fn a_missing_salt_must_be_a_counted_withdrawal(store: Store) {
    let cs = city(&store, 3).await;
    let (seq, vkey) = start(&store).await;
    seq.append_unruled("s/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    seq.append_unruled("s/1".into(), award(&cs[1], 4))
        .await
        .unwrap();
    seq.append_unruled("s/2".into(), award(&cs[2], 6))
        .await
        .unwrap();
    store.registry().withdraw(&cs[2]).await.unwrap();
    let r = store
        .ledger()
        .audit(std::slice::from_ref(&vkey), |_| {})
        .await
        .expect("a withdrawal is counted");
    assert_eq!((r.withdrawals, r.withdrawn_accounts), (1, 1));

    // A salt deleted without a withdrawal: the postings can no longer be opened.
    let hide = format!(
        "UPDATE ledger_accounts SET salt = NULL WHERE citizen_id = '{}'",
        cs[1]
    );
    store.execute_raw(&hide).await.unwrap();
    let e = audit(&store, &vkey).await.unwrap_err();
    assert!(
        e.starts_with("entry 1: posting ")
            && e.ends_with(&format!(
                "names citizen {}, who has no salt but never withdrew",
                cs[1]
            )),
        "{e}"
    );
    // Recorded as withdrawn, but not counted, then counted but still enrolled.
    let mark = format!(
        "INSERT INTO withdrawals (citizen_id, withdrawn_at) VALUES ('{}', 1)",
        cs[1]
    );
    store.execute_raw(&mark).await.unwrap();
    let e = audit(&store, &vkey).await.unwrap_err();
    assert_eq!(e, "withdrawals: 2 recorded, the log head counts 1");
    store
        .execute_raw("UPDATE log_head SET withdrawals = withdrawals + 1 WHERE id = 1")
        .await
        .unwrap();
    let e = audit(&store, &vkey).await.unwrap_err();
    assert_eq!(
        e,
        format!(
            "withdrawals: citizen {} is recorded as withdrawn but is still enrolled",
            cs[1]
        )
    );
    // Taking the resident out of the register too is a withdrawal in all but name: what the
    // audit cannot tell from one, and what the resident notices.
    let gone = format!("DELETE FROM citizens WHERE id = '{}'", cs[1]);
    store.execute_raw(&gone).await.unwrap();
    let r = store.ledger().audit(&[vkey], |_| {}).await.unwrap();
    assert_eq!((r.withdrawals, r.withdrawn_accounts), (2, 2));
}

/// The SQLite database and its WAL and shared-memory files are the server's alone.
#[cfg(unix)]
#[tokio::test]
async fn a_new_sqlite_database_and_its_wal_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let db = moralbank_store::testing::TestDb::sqlite().await;
    city(&db.store, 2).await;
    let file = db.url.strip_prefix("sqlite://").unwrap();
    for f in [
        file.to_string(),
        format!("{file}-wal"),
        format!("{file}-shm"),
    ] {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    db.store.close().await;
}

moralbank_store::on_both_backends!(
    a_posting_moved_behind_a_missing_salt_is_a_commitment_mismatch,
    a_posting_moved_between_withdrawn_or_invented_citizens_is_a_commitment_mismatch,
    a_missing_salt_must_be_a_counted_withdrawal,
);
