#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The `moralbank` binary as an operator meets it: exit codes, messages, files it writes, and
//! the demo city from first start to a clean stop on SIGTERM. Every test works in its own
//! temporary folder and clears `MORALBANK_…` variables, so tests run in parallel.

mod common;

use common::*;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

#[test]
fn migrate_refuses_to_create_a_missing_sqlite_file_without_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "missing.db");
    let out = run(dir.path(), &["migrate", "--database-url", &url]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not exist") && err.contains("migrate --create"),
        "{err}"
    );
    assert!(
        !dir.path().join("missing.db").exists(),
        "no database may be created silently"
    );
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        &[
            "migrate",
            "--create",
            "--database-url",
            "mysql://root@localhost/mb",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown scheme 'mysql'") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn migrate_create_makes_the_database_and_a_second_run_has_nothing_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "sub/dir/mb.db");
    let out = run(dir.path(), &["migrate", "--create", "--database-url", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("applied"), "{}", stdout(&out));
    let out = run(dir.path(), &["migrate", "--database-url", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("up to date"), "{}", stdout(&out));
}

#[test]
fn serve_refuses_to_start_without_encryption_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "mb.db");
    assert!(
        run(dir.path(), &["migrate", "--create", "--database-url", &url])
            .status
            .success()
    );
    let out = run(
        dir.path(),
        &["serve", "--database-url", &url, "--listen", "127.0.0.1:0"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("no encryption keys configured") && err.contains("keys generate"),
        "{err}"
    );
}

#[test]
fn the_printed_default_configuration_is_a_valid_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["config", "default"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("database_url = \"sqlite://data/moralbank.db\""),
        "{text}"
    );
    let file = dir.path().join("moralbank.toml");
    std::fs::write(&file, text).expect("write config");
    let url = sqlite_url(dir.path(), "mb.db");
    let file = file.to_string_lossy().into_owned();
    let out = run(
        dir.path(),
        &[
            "--config",
            &file,
            "migrate",
            "--create",
            "--database-url",
            &url,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_unknown_key_in_the_config_file_or_environment_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:8080\"\n[web]\ndemo_mod = true\n",
    )
    .expect("write");
    let out = run(
        dir.path(),
        &["--config", &file.to_string_lossy(), "migrate"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("demo_mod") && stderr(&out).contains("line 3"),
        "{}",
        stderr(&out)
    );

    let out = moralbank(dir.path())
        .env("MORALBANK_DATABASE", "x")
        .arg("migrate")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("MORALBANK_DATABASE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn keys_generate_writes_a_private_file_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["keys", "generate", "--out", "k/keys.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = dir.path().join("k/keys.toml");
    let text = std::fs::read_to_string(&path).expect("key file");
    assert!(
        text.contains("[crypto]") && text.contains("[crypto.keys]"),
        "{text}"
    );
    let hmac = text
        .lines()
        .find_map(|l| l.strip_prefix("hmac_key = \""))
        .expect("hmac_key line");
    assert!(
        !stdout(&out).contains(hmac.trim_end_matches('"')),
        "keys are never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = run(dir.path(), &["keys", "generate", "--out", "k/keys.toml"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).expect("key file"),
        text,
        "the old keys are kept"
    );
}

#[cfg(unix)]
#[test]
fn demo_seeds_a_city_prints_logins_serves_and_stops_cleanly_then_reuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let demo = |dir: &Path| {
        let mut cmd = moralbank(dir);
        cmd.args([
            "demo",
            "--citizens",
            "300",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_arg,
        ]);
        cmd
    };

    // Metrics on a separate address of their own (`[web] metrics_listen`), never on the public one.
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let mut first_run = demo(dir.path());
    first_run.env("MORALBANK_WEB__METRICS_LISTEN", &metrics_addr);
    let mut first = Running::start(first_run);
    let addr = first.wait_until_serving();
    let out = first.seen.join("\n");
    assert!(out.contains("Generated encryption keys"), "{out}");
    assert!(
        out.contains("300 citizens") && out.contains("rows/s"),
        "{out}"
    );
    for needle in [
        "admin",
        "auditor",
        "evaluator",
        "reviewer",
        "library",
        "Bearer mbk_",
        "phone 139",
        "waiting for the real-name step",
        // City data: the library's file committed, its faulty one refused whole, the city's
        // honour list committed with the resident who already holds the card unchanged.
        "读者服务-11月.csv: committed (5 rows, 5 new, 0 refused)",
        "图书整理-有误.csv: refused",
        "余姚好人-年度名单.csv: committed (4 rows, 3 new, 1 unchanged)",
    ] {
        assert!(out.contains(needle), "missing {needle} in:\n{out}");
    }
    assert!(http_get(&addr, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/metrics").starts_with("HTTP/1.1 404"));
    let metrics = http_get(&metrics_addr, "/metrics");
    assert!(
        metrics.starts_with("HTTP/1.1 200") && metrics.contains("moralbank_http_requests_total"),
        "{metrics}"
    );
    assert!(first.terminate().success(), "a SIGTERM is a clean stop");

    let logins = std::fs::read_to_string(data.join("demo-logins.txt")).expect("logins file");
    assert!(
        logins.contains("admin") && logins.contains("Bearer mbk_"),
        "{logins}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["demo-logins.txt", "keys.toml"] {
            let mode = std::fs::metadata(data.join(file))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    let mut second = Running::start(demo(dir.path()));
    second.wait_until_serving();
    let out = second.seen.join("\n");
    assert!(
        out.contains("already seeded") && out.contains("demo-logins.txt"),
        "{out}"
    );
    assert!(
        !out.contains("Generated encryption keys") && !out.contains("Bearer"),
        "{out}"
    );
    assert!(second.terminate().success());

    // The shell's admin commands work on the same database with the same keys.
    let url = format!("sqlite://{}", data.join("demo.db").display());
    let admin = |args: &[&str], password: &str| {
        let mut child = moralbank(dir.path())
            .args(["--database-url", &url, "--data-dir", &data_arg])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write password");
        child.wait_with_output().expect("admin runs")
    };
    let create = [
        "admin",
        "create-staff",
        "--username",
        "second.admin",
        "--display-name",
        "第二管理员",
        "--role",
        "admin",
        "--password-stdin",
    ];
    let out = admin(&create, "short");
    assert!(
        !out.status.success() && stderr(&out).contains("password"),
        "{}",
        stderr(&out)
    );
    let out = admin(&create, "a long enough password");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = admin(&create, "a long enough password");
    assert!(
        !out.status.success() && stderr(&out).contains("username"),
        "{}",
        stderr(&out)
    );
    let reset = [
        "admin",
        "reset-password",
        "--username",
        "second.admin",
        "--password-stdin",
    ];
    let out = admin(&reset, "another long password");
    assert!(out.status.success(), "{}", stderr(&out));
    let reset = [
        "admin",
        "reset-password",
        "--username",
        "nobody",
        "--password-stdin",
    ];
    let out = admin(&reset, "another long password");
    assert!(
        !out.status.success() && stderr(&out).contains("not found"),
        "{}",
        stderr(&out)
    );

    // Committee links from the shell: the demo's chair is unlinked, then linked again to the
    // printed resident (of the same village) as the chair; the phone comes on stdin.
    let link = |who: &'static str, extra: &'static [&'static str]| {
        let mut args = vec!["admin", "link-member", "--username", who];
        args.extend_from_slice(extra);
        args
    };
    let out = admin(&link("evaluator", &["--unlink"]), "");
    assert!(
        out.status.success() && stdout(&out).contains("unlinked"),
        "{}",
        stderr(&out)
    );
    let out = admin(
        &link("evaluator", &["--phone-stdin", "--chair"]),
        "13900000000",
    );
    assert!(
        out.status.success() && stdout(&out).contains("is the chair"),
        "{}",
        stderr(&out)
    );
    let out = admin(&link("admin", &["--phone-stdin"]), "13900000000");
    assert!(
        !out.status.success() && stderr(&out).contains("evaluators and town reviewers"),
        "{}",
        stderr(&out)
    );
    let out = admin(&link("evaluator", &["--phone-stdin"]), "13811112222");
    assert!(
        !out.status.success() && stderr(&out).contains("no enrolled resident"),
        "{}",
        stderr(&out)
    );
    let out = admin(&link("evaluator", &[]), "");
    assert!(
        !out.status.success() && stderr(&out).contains("--phone-stdin"),
        "{}",
        stderr(&out)
    );
}

/// A receipt for leaf 3 of a six-entry log, its verifier key, and the leaves.
fn receipt_fixture() -> (moralbank_ledger::Receipt, String) {
    use moralbank_ledger::{
        AccountRef, Commitment, EntryKind, LeafEntry, LogKey, MemoryLog, Posting,
    };
    let (skey, vkey) = moralbank_ledger::generate_log_key("cli.test/log");
    let leaf = |i: u64| {
        LeafEntry {
            entry_id: format!("e{i}"),
            kind: EntryKind::Award,
            rule: "standard:x@1".into(),
            reference: String::new(),
            postings: vec![
                Posting {
                    account: AccountRef::Citizen(Commitment::new(&[1; 32], "c")),
                    amount: 5,
                },
                Posting {
                    account: AccountRef::System("issuance:1".into()),
                    amount: -5,
                },
            ],
            approvers: vec!["staff:a".into()],
            at_ms: 1_000 + i as i64,
            details: [0; 32],
        }
        .encode()
        .expect("leaf")
    };
    let mut log = MemoryLog::new();
    for i in 0..6 {
        log.append(&leaf(i));
    }
    let note = LogKey::from_private(&skey)
        .expect("key")
        .sign(6, log.root(6).expect("root"))
        .expect("sign");
    let proof = log.inclusion(3, 6).expect("proof");
    (
        moralbank_ledger::Receipt::new(&leaf(3), 3, &proof, &note).with_opening("c", &[1; 32]),
        vkey,
    )
}

#[test]
fn verify_checks_a_receipt_offline_and_says_what_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (receipt, vkey) = receipt_fixture();
    let vkey_file = dir.path().join("vkey.txt");
    std::fs::write(&vkey_file, format!("{vkey}\n")).expect("write");
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_string(&receipt).expect("json")).expect("write");
    for key in [vkey_file.to_string_lossy().into_owned(), vkey.clone()] {
        let out = run(
            dir.path(),
            &["verify", &good.to_string_lossy(), "--vkey", &key],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("receipt valid")
                && text.contains("leaf 3 of the log's tree of 6 entries")
                && text.contains("account in it is c"),
            "{text}"
        );
    }
    let proof = dir.path().join("entry.tlog-proof");
    std::fs::write(&proof, receipt.to_tlog_proof()).expect("write");
    let out = run(
        dir.path(),
        &["verify", &proof.to_string_lossy(), "--vkey", &vkey],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("no opening"), "{}", stdout(&out));
    let mut bad = receipt.clone();
    bad.index = 2;
    let bad_file = dir.path().join("bad.json");
    std::fs::write(&bad_file, serde_json::to_string(&bad).expect("json")).expect("write");
    let out = run(
        dir.path(),
        &["verify", &bad_file.to_string_lossy(), "--vkey", &vkey],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("receipt NOT valid: the inclusion proof does not lead"),
        "{}",
        stderr(&out)
    );
    let (_, other) = moralbank_ledger::generate_log_key("cli.test/log");
    let out = run(
        dir.path(),
        &["verify", &good.to_string_lossy(), "--vkey", &other],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not signed by the given key"),
        "{}",
        stderr(&out)
    );
    let out = run(
        dir.path(),
        &["verify", &good.to_string_lossy(), "--vkey", "nonsense"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--vkey"), "{}", stderr(&out));
}

#[test]
fn log_keys_are_generated_private_rotated_and_printed_without_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        &[
            "--data-dir",
            "d",
            "keys",
            "log-generate",
            "--origin",
            "yuyao.example/log",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("d/log-keys.toml")).expect("file");
    let private = text
        .lines()
        .find_map(|l| l.strip_prefix("private_key = \""))
        .expect("private key line")
        .trim_end_matches('"')
        .to_string();
    assert!(
        !stdout(&out).contains(&private),
        "the private key is never printed"
    );
    let again = run(dir.path(), &["--data-dir", "d", "keys", "log-generate"]);
    assert!(!again.status.success() && stderr(&again).contains("already exists"));
    let vkey = stdout(&run(dir.path(), &["--data-dir", "d", "keys", "log-vkey"]));
    assert!(vkey.starts_with("yuyao.example/log+"), "{vkey}");
    let out = run(dir.path(), &["--data-dir", "d", "keys", "log-rotate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = std::fs::read_to_string(dir.path().join("d/log-keys.toml")).expect("file");
    assert!(rotated.contains(vkey.trim()), "the old vkey stays, retired");
    assert!(!rotated.contains(&private), "the old private key is gone");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("d/log-keys.toml"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn code_verify_checks_a_code_offline_against_a_key_set() {
    use moralbank_code::{
        Carrier, Claims, Holder, Issuer, IssuerKey, KeySet, Lifetimes, MaskedName, Pseudonym,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let key = IssuerKey::generate();
    let jwks = dir.path().join("keys.json");
    std::fs::write(
        &jwks,
        KeySet::new(vec![key.public()]).expect("set").to_jwks(),
    )
    .expect("write");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let holder = Holder {
        pseudonym: Pseudonym([7; 16]),
        tier: 3,
        badges: vec![],
        masked_name: MaskedName::parse("王*明").expect("name"),
    };
    let claims = Claims::issue(
        Issuer::parse("cli.test").expect("issuer"),
        holder,
        Carrier::Phone,
        now,
        &Lifetimes::default(),
    );
    let code = moralbank_code::encode(&claims, &key).expect("encode");
    let keys_arg = jwks.to_string_lossy().into_owned();
    let out = run(dir.path(), &["code", "verify", &code, "--keys", &keys_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("tier 3, name 王*明"),
        "{}",
        stdout(&out)
    );
    let mut tampered = code.clone();
    tampered.replace_range(20..21, if &code[20..21] == "A" { "B" } else { "A" });
    let out = run(
        dir.path(),
        &["code", "verify", &tampered, "--keys", &keys_arg],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("code NOT valid"), "{}", stderr(&out));
    let old = Claims::issue(
        Issuer::parse("cli.test").expect("issuer"),
        claims.holder.clone(),
        Carrier::Phone,
        now - 1000,
        &Lifetimes::default(),
    );
    let out = run(
        dir.path(),
        &[
            "code",
            "verify",
            &moralbank_code::encode(&old, &key).expect("encode"),
            "--keys",
            &keys_arg,
        ],
    );
    assert!(stderr(&out).contains("(expired)"), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &["code", "verify", "MB2:xyz", "--keys", &keys_arg],
    );
    assert!(stderr(&out).contains("(wrong_prefix)"), "{}", stderr(&out));
}

#[test]
fn bench_proofs_fills_a_synthetic_log_once_and_verifies_its_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "proofs.db");
    let data = dir.path().join("data").display().to_string();
    let bench = |leaves: &str| {
        run(
            dir.path(),
            &[
                "--database-url",
                &url,
                "--data-dir",
                &data,
                "bench",
                "proofs",
                "--leaves",
                leaves,
                "--proofs",
                "50",
            ],
        )
    };
    let json = |o: &std::process::Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_str(stdout(o).lines().last().expect("a line")).expect("JSON")
    };
    let first = json(&bench("3000"));
    assert_eq!(first["leaves"], "synthetic");
    assert_eq!(first["log_size"], 3000);
    assert_eq!(first["filled"], true);
    assert_eq!(first["proofs_verified"], 200);
    // The same log again is reused, not refilled; another size is refused.
    let second = json(&bench("3000"));
    assert_eq!(second["filled"], false);
    assert_eq!(second["proofs_verified"], 200);
    let other = bench("4000");
    assert!(!other.status.success());
    assert!(
        stderr(&other).contains("already has 3000"),
        "{}",
        stderr(&other)
    );
}

/// `bench ledger --prefill` on the database at `url`.
fn a_prefill_measures_at_that_size_and_only_on_a_new_ledger(url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data").display().to_string();
    let bench = || {
        run(
            dir.path(),
            &[
                "--database-url",
                url,
                "--data-dir",
                &data,
                "bench",
                "ledger",
                "--prefill",
                "3000",
                "--entries",
                "300",
                "--clients",
                "8",
                "--rate",
                "100",
                "--seconds",
                "1",
                "--proofs",
                "20",
            ],
        )
    };
    let first = bench();
    assert!(first.status.success(), "{}", stderr(&first));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&first).lines().last().expect("a line")).expect("JSON");
    assert_eq!(line["prefill"], 3000);
    assert_eq!(line["entries"], 300);
    assert_eq!(line["errors"], 0);
    assert_eq!(line["baseline_entries"], 300);
    // The filled entries, the warm-up's, the measured ones and the open loop's, in one tree
    // whose proofs verify.
    assert!(line["log_size"].as_u64().expect("size") > 3_300, "{line}");
    assert!(
        line["proofs_verified"].as_u64().expect("verified") > 0,
        "{line}"
    );
    assert!(
        stderr(&first).contains("3000 filled") || stderr(&first).contains("filled in"),
        "{}",
        stderr(&first)
    );
    // A prefill never goes on top of an existing log.
    let again = bench();
    assert!(!again.status.success());
    assert!(stderr(&again).contains("not empty"), "{}", stderr(&again));
}

#[test]
fn bench_ledger_with_a_prefill_measures_at_that_size_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    a_prefill_measures_at_that_size_and_only_on_a_new_ledger(&sqlite_url(dir.path(), "ledger.db"));
}

#[test]
fn bench_ledger_with_a_prefill_measures_at_that_size_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(db) = rt.block_on(moralbank_store::testing::TestDb::postgres()) else {
        return;
    };
    a_prefill_measures_at_that_size_and_only_on_a_new_ledger(&db.url);
    rt.block_on(db.store.close());
}
