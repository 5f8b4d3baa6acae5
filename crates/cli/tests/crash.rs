#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Crash safety of the ledger: a real `moralbank serve` is killed with SIGKILL again and again
//! while clients post entries, then restarted. Afterwards no acknowledged entry is lost (its
//! key answers with the same index), no entry exists twice (every key has one index and the log
//! holds exactly as many entries as keys), and `moralbank audit` passes — on SQLite and on
//! PostgreSQL.

#![cfg(unix)]

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROUNDS: usize = 4;
const CLIENTS: usize = 4;
const CITIZENS: u64 = 40;
const PASSWORD: &str = "crash test password";

struct Setup {
    dir: tempfile::TempDir,
    url: String,
}

impl Setup {
    fn args<'a>(&'a self, data: &'a str) -> Vec<&'a str> {
        vec!["--database-url", &self.url, "--data-dir", data]
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        let data = self.data();
        moralbank(self.dir.path())
            .args(self.args(&data))
            .args(args)
            .output()
            .expect("runs")
    }

    fn serve(&self) -> (Running, String) {
        let data = self.data();
        let mut cmd = moralbank(self.dir.path());
        cmd.args(self.args(&data))
            .args(["serve", "--listen", "127.0.0.1:0"]);
        let mut server = Running::start(cmd);
        let addr = server.wait_until_serving();
        (server, addr)
    }
}

/// A data folder with keys, a seeded city and an admin, on the database `url_in(folder)`.
fn prepare(url_in: impl FnOnce(&Path) -> String) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = url_in(dir.path());
    let s = Setup { dir, url };
    let ok = |o: std::process::Output| assert!(o.status.success(), "{}", stderr(&o));
    ok(s.cmd(&["bench", "seed", "--citizens", &CITIZENS.to_string()]));
    ok(s.cmd(&["keys", "log-generate", "--origin", "crash.test/log"]));
    ok(s.cmd(&["keys", "code-generate"]));
    let data = s.data();
    let mut child = moralbank(s.dir.path())
        .args(s.args(&data))
        .args([
            "admin",
            "create-staff",
            "--username",
            "crash.admin",
            "--display-name",
            "管理员",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    ok(child.wait_with_output().unwrap());
    s
}

fn call(addr: &str, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let headers: &[(&str, &str)] = if token.is_empty() {
        &[]
    } else {
        &[("Authorization", &auth)]
    };
    let (status, text) =
        http(addr, method, path, headers, &body.to_string()).expect("the server answers");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A partner key allowed to post, and the ids of the seeded citizens.
fn partner_and_citizens(addr: &str) -> (String, Vec<String>) {
    let (s, login) = call(
        addr,
        "POST",
        "/api/v1/auth/staff",
        "",
        json!({"username": "crash.admin", "password": PASSWORD}),
    );
    assert_eq!(s, 200, "{login}");
    let admin = login["token"].as_str().unwrap().to_string();
    let (s, p) = call(
        addr,
        "POST",
        "/api/v1/partners",
        &admin,
        json!({"name": "志愿者联合会", "kind": "volunteer_alliance"}),
    );
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap();
    let (s, k) = call(
        addr,
        "POST",
        &format!("/api/v1/partners/{pid}/api-keys"),
        &admin,
        json!({"scopes": ["ledger:post"]}),
    );
    assert_eq!(s, 201, "{k}");
    let citizens = (0..CITIZENS)
        .map(|i| {
            let (phone, _) = moralbank_store::fixtures::city::demo_identity(i);
            let (s, found) = call(
                addr,
                "POST",
                "/api/v1/citizens/search",
                &admin,
                json!({"phone": phone.as_str()}),
            );
            assert_eq!(s, 200, "{found}");
            found["items"][0]["id"].as_str().unwrap().to_string()
        })
        .collect();
    (k["secret"].as_str().unwrap().to_string(), citizens)
}

/// The request a key stands for: the same bytes on every retry.
fn body_for(n: u64, citizens: &[String]) -> String {
    json!({
        "kind": "award", "citizen_id": citizens[(n % citizens.len() as u64) as usize],
        "amount": 1 + n % 5, "rule": "standard:volunteer-hour@1",
        "reason": format!("志愿服务 {} 小时", 1 + n % 5), "reference": format!("shift:{n}"),
    })
    .to_string()
}

/// Post entry `n`: `Some(index)` when acknowledged, `None` when the server did not answer.
fn post(addr: &str, key: &str, n: u64, citizens: &[String]) -> Option<u64> {
    let auth = format!("Bearer {key}");
    let idem = format!("crash-{n}");
    match http(
        addr,
        "POST",
        "/api/v1/ledger/entries",
        &[("Authorization", &auth), ("Idempotency-Key", &idem)],
        &body_for(n, citizens),
    ) {
        Ok((200 | 201, text)) => {
            let v: Value = serde_json::from_str(&text).expect("json");
            Some(v["index"].as_u64().expect("index"))
        }
        Ok((503, _)) | Err(_) => None,
        Ok((s, text)) => panic!("entry {n}: unexpected {s}: {text}"),
    }
}

fn kill_9(server: &mut Running) {
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let _ = server.child.wait();
}

fn crash_repeatedly(setup: Setup, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut server, mut addr) = setup.serve();
    let (key, citizens) = partner_and_citizens(&addr);
    let citizens = Arc::new(citizens);
    let next = Arc::new(Mutex::new(0u64));
    // Key → index, for every acknowledged append; and keys in flight at a crash.
    let acked: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    let mut unanswered: Vec<u64> = Vec::new();
    for round in 0..ROUNDS {
        // Entries that were in flight at the last crash are retried first, as a client would.
        for n in std::mem::take(&mut unanswered) {
            let index = post(&addr, &key, n, &citizens).expect("a retry after restart is answered");
            acked.lock().unwrap().insert(n, index);
        }
        let stop_at = Instant::now() + Duration::from_millis(rng.gen_range(300..1200));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (addr, key, citizens, next, acked) = (
                    addr.clone(),
                    key.clone(),
                    citizens.clone(),
                    next.clone(),
                    acked.clone(),
                );
                std::thread::spawn(move || loop {
                    let n = {
                        let mut g = next.lock().unwrap();
                        *g += 1;
                        *g
                    };
                    match post(&addr, &key, n, &citizens) {
                        Some(index) => {
                            acked.lock().unwrap().insert(n, index);
                        }
                        None => return n,
                    }
                })
            })
            .collect();
        std::thread::sleep(stop_at.saturating_duration_since(Instant::now()));
        kill_9(&mut server);
        for c in clients {
            unanswered.push(c.join().unwrap());
        }
        eprintln!(
            "round {round}: {} acknowledged so far",
            acked.lock().unwrap().len()
        );
        (server, addr) = setup.serve();
    }
    for n in std::mem::take(&mut unanswered) {
        let index = post(&addr, &key, n, &citizens).expect("answered");
        acked.lock().unwrap().insert(n, index);
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the clients got through: {}", acked.len());
    // Nothing acknowledged was lost: every key still names its index.
    for (&n, &index) in &acked {
        assert_eq!(post(&addr, &key, n, &citizens), Some(index), "entry {n}");
    }
    // Nothing exists twice: one index per key, and the log holds exactly the keys' entries.
    let mut indexes: Vec<u64> = acked.values().copied().collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acked.len(), "two keys share an index");
    let checkpoint = http(&addr, "GET", "/log/checkpoint", &[], "").unwrap().1;
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        size,
        acked.len() as u64,
        "the log holds an entry no key acknowledged"
    );
    assert_eq!(indexes, (0..size).collect::<Vec<_>>());
    assert!(server.terminate().success());
    let audit = setup.cmd(&["audit"]);
    assert!(
        audit.status.success(),
        "{}\n{}",
        stdout(&audit),
        stderr(&audit)
    );
    assert!(
        stdout(&audit).contains(&format!("audit passed: {size} entries")),
        "{}",
        stdout(&audit)
    );
}

#[test]
fn sqlite_survives_kill_9_under_a_stream_of_appends() {
    crash_repeatedly(prepare(|dir| sqlite_url(dir, "crash.db")), 1);
}

#[test]
fn postgres_survives_kill_9_under_a_stream_of_appends() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(moralbank_store::testing::TestDb::postgres()) else {
        return;
    };
    let url = db.url.clone();
    let setup = prepare(move |_| url);
    crash_repeatedly(setup, 2);
    rt.block_on(db.store.close());
}
