#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! `serve` and `audit` against a database whose append-only guards were tampered with, and
//! `serve --no-migrate`, which changes no schema: it starts only on a database that is at the
//! binary's schema version with every guard in place.

mod common;

use common::*;
use std::path::Path;

fn prepared(dir: &Path) -> (String, String) {
    let data = dir.join("data").display().to_string();
    let url = sqlite_url(dir, "mb.db");
    for args in [
        vec!["migrate", "--create", "--database-url", &url],
        vec!["--data-dir", &data, "keys", "generate"],
        vec!["--data-dir", &data, "keys", "log-generate"],
        vec!["--data-dir", &data, "keys", "code-generate"],
    ] {
        let out = run(dir, &args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    (url, data)
}

fn sql(url: &str, statement: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = moralbank_store::Store::connect(
            &moralbank_store::ConnectOptions::new(url),
            moralbank_store::Vault::random(),
        )
        .await
        .expect("connect");
        store.execute_raw(statement).await.expect("statement");
        store.close().await;
    });
}

#[test]
fn serve_refuses_to_start_and_audit_fails_when_a_guard_is_dropped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, data) = prepared(dir.path());
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            &data,
            "--database-url",
            &url,
            "--listen",
            "127.0.0.1:0",
            "serve",
        ];
        args.extend_from_slice(extra);
        Running::start({
            let mut cmd = moralbank(dir.path());
            cmd.args(args);
            cmd
        })
    };
    // Intact: serves without migrating, and stops cleanly.
    let mut s = serve(&["--no-migrate"]);
    s.wait_until_serving();
    assert!(s.terminate().success());

    sql(&url, "DROP TRIGGER access_log_no_delete");
    for extra in [&[][..], &["--no-migrate"][..]] {
        let mut args = vec!["--data-dir", &data, "--database-url", &url, "serve"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--listen", "127.0.0.1:0"]);
        let out = run(dir.path(), &args);
        assert!(!out.status.success(), "{extra:?}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(
            err.contains("refusing to start: the database's guards of history are not intact: trigger access_log_no_delete on access_log is missing"),
            "{err}"
        );
        assert!(!stdout(&out).contains("serving"), "{}", stdout(&out));
    }
    let out = run(
        dir.path(),
        &["--data-dir", &data, "--database-url", &url, "audit"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out)
            .contains("audit FAILED: guard: trigger access_log_no_delete on access_log is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn serve_no_migrate_refuses_a_database_that_is_not_migrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, data) = prepared(dir.path());
    sql(&url, "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)");
    let out = run(
        dir.path(),
        &[
            "--data-dir",
            &data,
            "--database-url",
            &url,
            "--listen",
            "127.0.0.1:0",
            "serve",
            "--no-migrate",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the database schema is at version")
            && err.contains("run `moralbank migrate` as the database's owner first"),
        "{err}"
    );
}
