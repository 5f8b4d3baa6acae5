#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The API against its OpenAPI document, by a property-based tester: schemathesis (pinned in
//! `tests/schemathesis/requirements.txt`, installed by `.ci/run` into
//! `target/schemathesis/venv`) generates requests from `/api/v1/openapi.json` — valid ones and
//! deliberately broken ones — and sends them to a real `moralbank demo` server (a seeded city
//! on SQLite) with the credentials of each kind of caller: the admin, a village evaluator, a
//! town reviewer, a resident and a partner API key. Every run must end with 0 failures of
//! these checks: no server error, every answer's status code, content type and body as
//! documented, every request the schema allows accepted (not 400/422), every request it
//! forbids refused.
//!
//! Without schemathesis the test skips with a note; with `CI=true` it fails instead.
//! `MORALBANK_FUZZ_EXAMPLES` (default 25 per operation) and `MORALBANK_FUZZ_SEED` make a
//! deeper or different run; `SCHEMATHESIS` names another `st` executable.

#![cfg(unix)]

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Large enough that the demo village has the committee and its deeds.
const CITIZENS: &str = "8000";
const DEFAULT_EXAMPLES: &str = "25";
const DEFAULT_SEED: &str = "20261206";
/// One schemathesis run may take this long before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(600);
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,positive_data_acceptance,negative_data_rejection,\
missing_required_header,refused_only_for_what_no_schema_can_say";

/// The public log's paths, served at the site root (their own `servers` in the document).
const LOG_PATHS: &str = "^/log/";
/// Operations no run sends requests to, and why.
const EXCLUDED: &[(&str, &str)] = &[
    // Deletes the resident: run last, alone (see `withdraw`).
    ("POST", "/me/withdraw"),
];

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis")
}

fn pinned_version() -> String {
    let req = std::fs::read_to_string(tests_dir().join("requirements.txt")).unwrap();
    req.lines()
        .find_map(|l| l.trim().strip_prefix("schemathesis=="))
        .expect("requirements.txt pins schemathesis==VERSION")
        .to_string()
}

/// The pinned `st`, or `None` (skip) outside CI when it is not installed.
fn schemathesis() -> Option<PathBuf> {
    let st = std::env::var_os("SCHEMATHESIS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/schemathesis/venv/bin/st"),
        PathBuf::from,
    );
    let version = Command::new(&st).arg("--version").output().ok();
    let pinned = pinned_version();
    let found = version
        .as_ref()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if found.as_deref().is_some_and(|v| v.ends_with(&pinned)) {
        return Some(st);
    }
    let why = format!(
        "schemathesis {pinned} is not at {} (found: {found:?}); `.ci/run` installs it: python3 -m \
         venv target/schemathesis/venv && target/schemathesis/venv/bin/pip install -r \
         crates/cli/tests/schemathesis/requirements.txt",
        st.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {why}"
    );
    eprintln!("skipping the schemathesis run: {why}");
    None
}

/// One request on a fresh connection; the whole answer (head and body) as text.
fn raw(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(req.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

fn json_field(text: &str, field: &str) -> String {
    let body = text.split_once("\r\n\r\n").map_or(text, |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{text}"));
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {text}"))
        .to_string()
}

fn staff_token(addr: &str, logins: &str, username: &str) -> String {
    let password = logins
        .lines()
        .find_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.len() >= 3 && cols[1] == username).then(|| cols[2].to_string())
        })
        .unwrap_or_else(|| panic!("no {username} in the demo logins:\n{logins}"));
    let body = serde_json::json!({"username": username, "password": password}).to_string();
    let answer = raw(
        addr,
        "POST",
        "/api/v1/auth/staff",
        &[("Content-Type", "application/json")],
        &body,
    );
    json_field(&answer, "token")
}

/// The demo resident's session: the sign-in page shows the code in demo mode, the API takes it.
fn resident_token(addr: &str, logins: &str) -> String {
    let phone = logins
        .split("phone ")
        .filter_map(|r| r.split_whitespace().next())
        .find(|w| w.len() == 11 && w.chars().all(|c| c.is_ascii_digit()))
        .expect("a resident's phone in the demo logins")
        .to_string();
    let form = raw(addr, "GET", "/login", &[], "");
    let cookie = form
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: mb_csrf="))
        .and_then(|c| c.split(';').next())
        .expect("a CSRF cookie")
        .to_string();
    let page = raw(
        addr,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &format!("mb_csrf={cookie}")),
        ],
        &format!("csrf={cookie}&phone={phone}&code="),
    );
    let code: String = page
        .split("id=\"demo-code\"")
        .nth(1)
        .and_then(|r| r.split("class=\"mono\">").nth(1))
        .map(|r| r.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_else(|| panic!("no demo code on the page:\n{page}"));
    let body = serde_json::json!({"phone": phone, "code": code}).to_string();
    let answer = raw(
        addr,
        "POST",
        "/api/v1/auth/otp/verify",
        &[("Content-Type", "application/json")],
        &body,
    );
    json_field(&answer, "token")
}

/// Which operations a run covers, as schemathesis filter arguments.
fn api_operations() -> Vec<String> {
    let mut args = vec!["--exclude-path-regex".to_string(), LOG_PATHS.to_string()];
    for (_, path) in EXCLUDED {
        args.extend(["--exclude-path".to_string(), path.to_string()]);
    }
    args
}

/// One schemathesis run over the operations `filter` selects, under `base` (the document's
/// server, or the site root for the public log, whose paths have their own server);
/// its figures line, and its whole report when it found anything.
fn run(
    st: &Path,
    addr: &str,
    token: Option<&str>,
    base: &str,
    filter: &[String],
) -> (String, Option<String>) {
    let examples =
        std::env::var("MORALBANK_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.into());
    let seed = std::env::var("MORALBANK_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let mut cmd = Command::new(st);
    // Its cache and reports go to a folder of their own, not into the source tree.
    let work = tempfile::tempdir().unwrap();
    cmd.current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONPATH", tests_dir())
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(tests_dir().join("schemathesis.toml"))
        .args(["run", &format!("http://{addr}/api/v1/openapi.json")])
        .args(["--url", &format!("http://{addr}{base}")])
        .args(["--checks", CHECKS])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--workers", "1", "--request-timeout", "30"])
        .args(["--suppress-health-check", "all"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        cmd.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    cmd.args(filter);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("schemathesis starts");
    let mut out = String::new();
    let reader = {
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stdout.read_to_string(&mut s);
            s
        })
    };
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return (
                "stopped".into(),
                Some(format!("ran longer than {RUN_LIMIT:?}")),
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    out.push_str(&reader.join().unwrap());
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let figures = out
        .lines()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1)
        .unwrap_or("no figures")
        .trim()
        .to_string();
    let figures = format!("{figures} in {:.0} s", started.elapsed().as_secs_f64());
    (
        figures,
        (!status.success()).then(|| format!("{out}\n{err}")),
    )
}

#[test]
fn the_api_answers_as_its_openapi_document_says_for_every_kind_of_caller() {
    let Some(st) = schemathesis() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let mut cmd = moralbank(dir.path());
    cmd.args(["demo", "--citizens", CITIZENS, "--listen", "127.0.0.1:0"])
        .args(["--data-dir", &data_arg]);
    let mut server = Running::start(cmd);
    let addr = server.wait_until_serving();
    let logins = std::fs::read_to_string(data.join("demo-logins.txt")).unwrap();
    let partner_key = logins
        .split_whitespace()
        .find(|w| w.starts_with("mbk_"))
        .expect("a partner key in the demo logins")
        .to_string();
    let admin = staff_token(&addr, &logins, "admin");
    let evaluator = staff_token(&addr, &logins, "evaluator");
    let reviewer = staff_token(&addr, &logins, "reviewer");
    let resident = resident_token(&addr, &logins);

    let api = api_operations();
    let log = ["--include-path-regex".to_string(), LOG_PATHS.to_string()];
    let withdraw = ["--include-path".to_string(), "/me/withdraw".to_string()];
    let runs: [(&str, Option<&str>, &str, &[String]); 8] = [
        ("public log", None, "", &log),
        ("anonymous", None, "/api/v1", &api),
        ("admin", Some(&admin), "/api/v1", &api),
        ("evaluator", Some(&evaluator), "/api/v1", &api),
        ("town reviewer", Some(&reviewer), "/api/v1", &api),
        ("partner key", Some(&partner_key), "/api/v1", &api),
        ("resident", Some(&resident), "/api/v1", &api),
        // Withdrawal deletes the resident's data: last, alone.
        (
            "resident withdrawing",
            Some(&resident),
            "/api/v1",
            &withdraw,
        ),
    ];
    let mut failed = Vec::new();
    for (name, token, base, filter) in runs {
        let (figures, report) = run(&st, &addr, token, base, filter);
        eprintln!("schemathesis, {name}: {figures}");
        if let Some(report) = report {
            failed.push(format!("=== {name}: {figures}\n{report}"));
        }
    }
    assert!(server.terminate().success());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
