#![allow(
    clippy::too_many_lines, // scenario tests tell one story each
    clippy::unwrap_used,
    clippy::expect_used
)]
//! The database's guards of history, on SQLite and on PostgreSQL: every append-only table
//! refuses UPDATE and DELETE (TRUNCATE too on PostgreSQL) but for the two documented
//! exceptions (a withdrawal deletes the resident's access log; a reversal request is decided
//! once); a guard dropped, disabled or changed is named by `check_guards` and by the audit; and
//! on PostgreSQL a runtime role granted as `docs/postgres-roles.sql` says works and cannot
//! touch the guards.

use moralbank_store::testing::{start_sequencer as start, test_award as award};
use moralbank_store::{now_ms, Backend, ConnectOptions, Store, StoreError};

async fn city(store: &Store, n: i64) -> Vec<String> {
    store
        .fixtures()
        .seed_city(n as u64, 17)
        .await
        .expect("seed");
    store.citizen_ids(n).await
}

async fn refused(store: &Store, sql: &str) {
    let e = store
        .execute_raw(sql)
        .await
        .expect_err(&format!("{sql} is refused"));
    assert!(e.to_string().contains("append-only"), "{sql}: {e}");
}

async fn access_rows(store: &Store, citizen: &str) -> usize {
    store
        .registry()
        .access_log(citizen, None, 50)
        .await
        .unwrap()
        .len()
}

fn read(citizen: &str, n: usize) -> String {
    format!(
        "INSERT INTO access_log (id, citizen_id, actor_kind, actor_id, actor_label, action, at) \
         VALUES ('{citizen}-{n}', '{citizen}', 'staff', 'staff:alice', 'Alice (admin)', 'read record', {n})"
    )
}

async fn every_append_only_table_refuses_changes_but_the_documented_two(store: Store) {
    let cs = city(&store, 4).await;
    let (seq, vkey) = start(&store).await;
    seq.append_unruled("g/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    seq.append_unruled("g/1".into(), award(&cs[0], 3))
        .await
        .unwrap();
    for (c, n) in [(0, 1), (1, 1), (1, 2), (2, 1)] {
        store.execute_raw(&read(&cs[c], n)).await.unwrap();
    }
    let now = now_ms();
    let decided = store
        .ledger()
        .request_reversal(0, "录入错误", "staff:a", now)
        .await
        .unwrap();
    store
        .ledger()
        .decide_reversal(&decided, "staff:b", false, None, now)
        .await
        .unwrap();
    let pending = store
        .ledger()
        .request_reversal(1, "录入错误", "staff:a", now)
        .await
        .unwrap();

    // The one path that deletes access-log rows: a withdrawal, in its own transaction.
    store.registry().withdraw(&cs[1]).await.unwrap();
    assert_eq!(access_rows(&store, &cs[1]).await, 0);

    for sql in [
        "UPDATE withdrawals SET withdrawn_at = 0",
        "DELETE FROM withdrawals",
        "UPDATE access_log SET action = 'nothing'",
        "DELETE FROM access_log",
        "UPDATE ledger_entries SET reason = 'x'",
        "DELETE FROM ledger_postings",
        "UPDATE log_checkpoints SET note = 'x'",
        "DELETE FROM ledger_reversal_requests",
    ] {
        refused(&store, sql).await;
    }
    // Nobody else meets the withdrawal's condition: a resident still enrolled (even one with a
    // withdrawal row), or one removed from the register without one.
    let marked = format!(
        "INSERT INTO withdrawals (citizen_id, withdrawn_at) VALUES ('{}', 1)",
        cs[0]
    );
    store.execute_raw(&marked).await.unwrap();
    refused(
        &store,
        &format!("DELETE FROM access_log WHERE citizen_id = '{}'", cs[0]),
    )
    .await;
    let unregistered = format!("DELETE FROM citizens WHERE id = '{}'", cs[2]);
    store.execute_raw(&unregistered).await.unwrap();
    refused(
        &store,
        &format!("DELETE FROM access_log WHERE citizen_id = '{}'", cs[2]),
    )
    .await;
    assert_eq!(access_rows(&store, &cs[0]).await, 1);
    assert_eq!(access_rows(&store, &cs[2]).await, 1);

    // A decision is made once; the request itself never changes.
    let before = store.ledger().reversal_request(&decided).await.unwrap();
    for sql in [
        format!("UPDATE ledger_reversal_requests SET decision = 'approved' WHERE id = '{decided}'"),
        format!("UPDATE ledger_reversal_requests SET decided_at = NULL, decided_by = NULL, decision = NULL WHERE id = '{decided}'"),
        format!("UPDATE ledger_reversal_requests SET reason = 'x' WHERE id = '{pending}'"),
        format!(
            "UPDATE ledger_reversal_requests SET decided_at = 1, decided_by = 'staff:b', \
             decision = 'declined', requested_by = 'staff:b' WHERE id = '{pending}'"
        ),
    ] {
        refused(&store, &sql).await;
    }
    assert_eq!(
        format!("{before:?}"),
        format!(
            "{:?}",
            store.ledger().reversal_request(&decided).await.unwrap()
        )
    );
    store
        .ledger()
        .decide_reversal(&pending, "staff:b", false, None, now)
        .await
        .unwrap();
    let p = store
        .ledger()
        .reversal_request(&pending)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.decision.as_deref(), p.decided_by.as_deref()),
        (Some("declined"), Some("staff:b"))
    );
    // Deciding again is the no-op it was (no row matches), not an error.
    store
        .ledger()
        .decide_reversal(&pending, "staff:c", true, None, now)
        .await
        .unwrap();

    if store.backend() == Backend::Postgres {
        for table in moralbank_store::guards::append_only_tables() {
            refused(&store, &format!("TRUNCATE {table} CASCADE")).await;
        }
    }
    assert_eq!(store.ledger().log_head().await.unwrap().size, 2);
    let _ = vkey;
}

fn guard_error(r: Result<usize, StoreError>) -> String {
    match r {
        Err(StoreError::Integrity(what)) => what,
        other => panic!("not an integrity failure: {other:?}"),
    }
}

async fn a_guard_dropped_disabled_or_changed_is_named_by_the_check_and_the_audit(store: Store) {
    let cs = city(&store, 2).await;
    let (seq, vkey) = start(&store).await;
    seq.append_unruled("d/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    let all = store
        .check_guards()
        .await
        .expect("a migrated database is guarded");
    assert_eq!(all, 18, "9 tables, two triggers each");
    let pg = store.backend() == Backend::Postgres;

    for table in moralbank_store::guards::append_only_tables() {
        let names: Vec<String> = if pg {
            vec![
                format!("{table}_append_only"),
                format!("{table}_no_truncate"),
            ]
        } else if table == "ledger_reversal_requests" {
            vec![format!("{table}_decide_once"), format!("{table}_no_delete")]
        } else {
            vec![format!("{table}_no_update"), format!("{table}_no_delete")]
        };
        for name in names {
            let drop = if pg {
                format!("DROP TRIGGER {name} ON {table}")
            } else {
                format!("DROP TRIGGER {name}")
            };
            store.execute_raw(&drop).await.unwrap();
            assert_eq!(
                guard_error(store.check_guards().await),
                format!(
                    "trigger {name} on {table} is missing: the table is not protected against changes"
                )
            );
            // Put back as the migrations made it: the check passes again.
            store.tamper_for_tests(table, "SELECT 1").await.unwrap();
            assert_eq!(store.check_guards().await.unwrap(), all);
        }
    }

    // The audit checks the guards first.
    let drop = if pg {
        "DROP TRIGGER ledger_postings_append_only ON ledger_postings"
    } else {
        "DROP TRIGGER ledger_postings_no_update"
    };
    store.execute_raw(drop).await.unwrap();
    let e = store
        .ledger()
        .audit(std::slice::from_ref(&vkey), |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("guard: trigger ledger_postings_")
            && e.ends_with("is missing: the table is not protected against changes"),
        "{e}"
    );
    store
        .tamper_for_tests("ledger_postings", "SELECT 1")
        .await
        .unwrap();
    store.ledger().audit(&[vkey], |_| {}).await.unwrap();

    if pg {
        // Disabled, or fired only on a replica: does not guard an ordinary session.
        for how in ["DISABLE TRIGGER", "ENABLE REPLICA TRIGGER"] {
            store
                .execute_raw(&format!(
                    "ALTER TABLE access_log {how} access_log_append_only"
                ))
                .await
                .unwrap();
            assert_eq!(
                guard_error(store.check_guards().await),
                "trigger access_log_append_only on access_log is disabled"
            );
            store
                .execute_raw("ALTER TABLE access_log ENABLE TRIGGER access_log_append_only")
                .await
                .unwrap();
        }
        // The function behind the triggers replaced by one that lets everything through.
        store
            .execute_raw(
                "CREATE OR REPLACE FUNCTION moralbank_append_only() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$",
            )
            .await
            .unwrap();
        let e = guard_error(store.check_guards().await);
        assert!(
            e.starts_with("function moralbank_append_only behind trigger ")
                && e.ends_with("differs from the one the migrations made"),
            "{e}"
        );
    } else {
        // A trigger of the same name that never fires.
        store
            .execute_raw(
                "DROP TRIGGER withdrawals_no_delete; \
                 CREATE TRIGGER withdrawals_no_delete BEFORE DELETE ON withdrawals WHEN 0 \
                 BEGIN SELECT RAISE(ABORT, 'withdrawals is append-only'); END;",
            )
            .await
            .unwrap();
        assert_eq!(
            guard_error(store.check_guards().await),
            "trigger withdrawals_no_delete on withdrawals differs from the one the migrations made"
        );
    }
}

moralbank_store::on_both_backends!(
    every_append_only_table_refuses_changes_but_the_documented_two,
    a_guard_dropped_disabled_or_changed_is_named_by_the_check_and_the_audit,
);

/// Production's split on PostgreSQL: the migration owner migrates, a runtime role granted as
/// `docs/postgres-roles.sql` says serves. It can do the application's work (here: a ledger
/// writer's start, an append, a withdrawal with its access log), and cannot drop or disable a
/// trigger, truncate, or switch the triggers off with `session_replication_role`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_role_does_the_work_and_cannot_touch_the_guards() {
    let Some(db) = moralbank_store::testing::TestDb::postgres().await else {
        return;
    };
    let owner = db.store.clone();
    let cs = city(&owner, 3).await;
    owner.execute_raw(&read(&cs[1], 1)).await.unwrap();
    let database = db.url.rsplit('/').next().unwrap().to_string();
    let role = format!("mbrt_{database}");
    owner
        .execute_raw(&format!(
            "CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        ))
        .await
        .unwrap();
    let grants = include_str!("../../../docs/postgres-roles.sql")
        .replace("moralbank_runtime", &role)
        .replace("DATABASE moralbank ", &format!("DATABASE {database} "));
    owner.execute_raw(&grants).await.unwrap();

    let (base, _) = db.url.split_once("://").unwrap();
    let host = db.url.split('@').nth(1).unwrap();
    let url = format!("{base}://{role}@{host}");
    let rt = Store::connect(&ConnectOptions::new(&url), owner.vault().clone())
        .await
        .expect("the runtime role connects");
    rt.check_ready_without_migrating()
        .await
        .expect("schema current and guarded");
    let (seq, vkey) = start(&rt).await;
    seq.append_unruled("rt/0".into(), award(&cs[0], 5))
        .await
        .unwrap();
    rt.registry().withdraw(&cs[1]).await.unwrap();
    assert_eq!(access_rows(&rt, &cs[1]).await, 0);

    for sql in [
        "DROP TRIGGER ledger_entries_append_only ON ledger_entries",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
        "ALTER TABLE ledger_entries ADD COLUMN x TEXT",
        "CREATE OR REPLACE FUNCTION moralbank_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$",
        "TRUNCATE ledger_postings",
        "TRUNCATE access_log",
        "SET session_replication_role = replica",
        "CREATE TEMPORARY TABLE withdrawals (citizen_id TEXT)",
        "CREATE TABLE shadow (x TEXT)",
        "UPDATE ledger_postings SET amount = 500",
        "DELETE FROM withdrawals",
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'x', 0)",
    ] {
        let e = rt.execute_raw(sql).await.expect_err(sql).to_string();
        assert!(
            e.contains("permission denied") || e.contains("must be owner"),
            "{sql}: {e}"
        );
    }
    owner.check_guards().await.unwrap();
    owner.ledger().audit(&[vkey], |_| {}).await.unwrap();
    rt.close().await;
    // The role is the cluster's, not the test database's: its privileges go, then the role.
    owner
        .execute_raw(&format!("DROP OWNED BY {role}; DROP ROLE {role}"))
        .await
        .unwrap();
    owner.close().await;
}
