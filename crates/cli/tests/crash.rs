#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Crash safety of the ledger: a real `moralbank serve` is killed with SIGKILL again and again
//! while partners redeem scanned moral codes for points (the only way points are spent; the
//! credit run of deeds whose publicity ended, the only way they are awarded, runs at every
//! start), then restarted. Afterwards no acknowledged redemption is lost (its key answers with
//! the same decision and ledger index), nothing exists twice (one index per key; the log holds
//! exactly the credited deeds and the granted redemptions), every decision has exactly one row
//! in its resident's access log and every partner deed one (written in the same transaction as
//! what they record), and `moralbank audit` passes — on SQLite and on PostgreSQL.

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

/// What the stream needs: the partner's key, its benefit, and one code per redemption.
struct Scene {
    key: String,
    benefit: String,
    codes: Vec<String>,
}

/// On a first server: a partner with a redeeming key, the seeded citizens' ids. Then, with the
/// server stopped, straight in the database: a standard that trusts the partner, a deed of it
/// for every citizen whose publicity ended a day ago (the credit run of the next start awards
/// them), a bus ride costing one point, and codes signed with the server's code key.
fn scene(setup: &Setup) -> Scene {
    let (server, addr) = setup.serve();
    let (s, login) = call(
        &addr,
        "POST",
        "/api/v1/auth/staff",
        "",
        json!({"username": "crash.admin", "password": PASSWORD}),
    );
    assert_eq!(s, 200, "{login}");
    let admin = login["token"].as_str().unwrap().to_string();
    let (s, p) = call(
        &addr,
        "POST",
        "/api/v1/partners",
        &admin,
        json!({"name": "余姚公交", "kind": "transport"}),
    );
    assert_eq!(s, 201, "{p}");
    let partner = p["id"].as_str().unwrap().to_string();
    let (s, k) = call(
        &addr,
        "POST",
        &format!("/api/v1/partners/{partner}/api-keys"),
        &admin,
        json!({"scopes": ["benefits:redeem"]}),
    );
    assert_eq!(s, 201, "{k}");
    let citizens: Vec<String> = (0..CITIZENS)
        .map(|i| {
            let (phone, _) = moralbank_store::fixtures::city::demo_identity(i);
            let (s, found) = call(
                &addr,
                "POST",
                "/api/v1/citizens/search",
                &admin,
                json!({"phone": phone.as_str()}),
            );
            assert_eq!(s, 200, "{found}");
            found["items"][0]["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(server.terminate().success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (benefit, claims) = rt.block_on(fill(setup, &partner, &citizens));
    // Sign the codes with the server's issuer key (DATA_DIR/code-keys.toml).
    let file: toml::Value = toml::from_str(
        &std::fs::read_to_string(Path::new(&setup.data()).join("code-keys.toml")).unwrap(),
    )
    .unwrap();
    let key =
        moralbank_code::IssuerKey::from_private_jwk(file["private_jwk"].as_str().unwrap()).unwrap();
    let codes = claims
        .iter()
        .map(|c| moralbank_code::encode(c, &key).unwrap())
        .collect();
    Scene {
        key: k["secret"].as_str().unwrap().to_string(),
        benefit,
        codes,
    }
}
/// The test's own connection to the server's database, while the server is stopped. Nothing it
/// does reads encrypted personal data, so a random vault will do.
async fn open(setup: &Setup) -> moralbank_store::Store {
    moralbank_store::Store::connect(
        &moralbank_store::ConnectOptions {
            url: setup.url.clone(),
            create_if_missing: false,
            max_connections: 2,
            busy_timeout_ms: 5_000,
            sqlite_cache_mib: 8,
        },
        moralbank_store::Vault::random(),
    )
    .await
    .unwrap()
}

/// Codes minted for the stream: more than the clients get through before the last round ends.
const CODES: usize = 4_000;

/// The database part of [`scene`] (the server is stopped): returns the benefit's id and the
/// claims of the codes, each recorded as issued to a citizen.
async fn fill(
    setup: &Setup,
    partner: &str,
    citizens: &[String],
) -> (String, Vec<moralbank_code::Claims>) {
    use moralbank_store::evaluation::{NewDeed, NewStandard, Reporter, Rules};
    let store = open(setup).await;
    store
        .evaluation()
        .save_standard(
            &NewStandard {
                code: "crash-service".into(),
                name_zh: "公交文明志愿服务".into(),
                name_en: "Bus courtesy volunteering".into(),
                points_min: 1,
                points_max: 1_000,
                cap_points: None,
                cap_period: "none".into(),
                evidence_zh: "志愿者联合会核实".into(),
                evidence_en: "verified by the volunteer alliance".into(),
                awarder: "partner".into(),
                active: true,
                trusted_partners: vec![partner.to_string()],
            },
            "staff:crash",
        )
        .await
        .unwrap();
    // Reported eight days ago: the publicity of seven has ended, so the next start credits them.
    let then = moralbank_store::now_ms() - 8 * domain::time::DAY_MS;
    for (i, c) in citizens.iter().enumerate() {
        store
            .evaluation()
            .report_deed(
                &NewDeed {
                    citizen_id: c.clone(),
                    reporter: Reporter::Partner {
                        partner_id: partner.to_string(),
                        key: domain::IdempotencyKey::parse(&format!("deed-{i}")).unwrap(),
                    },
                    standard_code: "crash-service".into(),
                    deed_date: moralbank_store::day_of(then),
                    place: "公交站".into(),
                    description: "高峰时段维持乘车秩序".into(),
                    evidence: vec![],
                    points: Some(1_000),
                },
                &Rules::default(),
                then,
            )
            .await
            .unwrap();
    }
    store.code().ensure_default_scenes().await.unwrap();
    let bus = store
        .code()
        .create_benefit(&moralbank_store::code::benefits::NewBenefit {
            scene: "transport".into(),
            partner_id: partner.to_string(),
            name_zh: "公交免费乘车券".into(),
            name_en: "Free bus ride".into(),
            description_zh: "用1积分兑换一次公交免费乘车".into(),
            description_en: "One point for a free ride".into(),
            min_tier: 1,
            kind: "points".into(),
            points_cost: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let issuer = moralbank_code::Issuer::parse("moralbank.localhost").unwrap();
    let lifetimes = moralbank_code::Lifetimes {
        phone_s: 3_600,
        ..Default::default()
    };
    let now_s = moralbank_store::now_ms() / 1000;
    let mut claims = Vec::with_capacity(CODES);
    for i in 0..CODES {
        let holder = moralbank_code::Holder {
            pseudonym: moralbank_code::Pseudonym([u8::try_from(i % 251).unwrap(); 16]),
            tier: 1,
            badges: vec![],
            masked_name: moralbank_code::MaskedName::parse("谢*华").unwrap(),
        };
        let c = moralbank_code::Claims::issue(
            issuer.clone(),
            holder,
            moralbank_code::Carrier::Phone,
            now_s,
            &lifetimes,
        );
        store
            .code()
            .record_issued_code(
                &c.code_id.to_string(),
                &citizens[i % citizens.len()],
                false,
                c.expires_at,
            )
            .await
            .unwrap();
        claims.push(c);
    }
    store.close().await;
    (bus.id, claims)
}

/// What a redemption answered: the decision's id and the ledger index of its spending.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    decision: String,
    index: Option<u64>,
}

/// Redeem with code `n` under key `crash-<n>`: `Some` when answered, `None` when the server
/// did not answer (killed, or its writer stopping).
fn redeem(addr: &str, scene: &Scene, n: usize) -> Option<Answer> {
    let auth = format!("Bearer {}", scene.key);
    let idem = format!("crash-{n}");
    let body = json!({"benefit_id": scene.benefit, "code": scene.codes[n]}).to_string();
    match http(
        addr,
        "POST",
        "/api/v1/redemptions",
        &[("Authorization", &auth), ("Idempotency-Key", &idem)],
        &body,
    ) {
        Ok((200, text)) => {
            let v: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(v["granted"], true, "redemption {n}: {v}");
            Some(Answer {
                decision: v["id"].as_str().expect("id").to_string(),
                index: Some(
                    v["ledger_index"]
                        .as_u64()
                        .expect("a granted spend has its entry"),
                ),
            })
        }
        Ok((503, _)) | Err(_) => None,
        Ok((s, text)) => panic!("redemption {n}: unexpected {s}: {text}"),
    }
}

/// Count rows straight in the database (the server is stopped).
fn count(setup: &Setup, sql: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = open(setup).await;
        let n = store.count_for_tests(sql).await.unwrap();
        store.close().await;
        n
    })
}

fn crash_repeatedly(setup: Setup, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let scene = Arc::new(scene(&setup));
    let (mut server, mut addr) = setup.serve();
    // The credit run at start awards the deeds: wait for their entries before spending.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let checkpoint = http(&addr, "GET", "/log/checkpoint", &[], "").unwrap().1;
        if checkpoint.lines().nth(1) == Some(&CITIZENS.to_string()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the deeds were not credited: {checkpoint}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let next = Arc::new(Mutex::new(0usize));
    // Code number → answer, for every acknowledged redemption; and those in flight at a crash.
    let acked: Arc<Mutex<HashMap<usize, Answer>>> = Arc::default();
    let mut unanswered: Vec<usize> = Vec::new();
    for round in 0..ROUNDS {
        // Redemptions that were in flight at the last crash are retried first, as a client would.
        for n in std::mem::take(&mut unanswered) {
            let a = redeem(&addr, &scene, n).expect("a retry after restart is answered");
            acked.lock().unwrap().insert(n, a);
        }
        let stop_at = Instant::now() + Duration::from_millis(rng.gen_range(300..1200));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let (addr, scene, next, acked) =
                    (addr.clone(), scene.clone(), next.clone(), acked.clone());
                std::thread::spawn(move || loop {
                    let n = {
                        let mut g = next.lock().unwrap();
                        *g += 1;
                        *g
                    };
                    if n >= scene.codes.len() {
                        return None;
                    }
                    match redeem(&addr, &scene, n) {
                        Some(a) => {
                            acked.lock().unwrap().insert(n, a);
                        }
                        None => return Some(n),
                    }
                })
            })
            .collect();
        std::thread::sleep(stop_at.saturating_duration_since(Instant::now()));
        kill_9(&mut server);
        for c in clients {
            unanswered.extend(c.join().unwrap());
        }
        eprintln!(
            "round {round}: {} acknowledged so far",
            acked.lock().unwrap().len()
        );
        (server, addr) = setup.serve();
    }
    for n in std::mem::take(&mut unanswered) {
        let a = redeem(&addr, &scene, n).expect("answered");
        acked.lock().unwrap().insert(n, a);
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the clients got through: {}", acked.len());
    // Nothing acknowledged was lost: every key still answers with its decision and entry.
    for (&n, a) in &acked {
        assert_eq!(redeem(&addr, &scene, n).as_ref(), Some(a), "redemption {n}");
    }
    // Nothing exists twice: one entry per key, and the log holds exactly the credited deeds
    // and the acknowledged spends.
    let mut indexes: Vec<u64> = acked.values().filter_map(|a| a.index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), acked.len(), "two keys share an entry");
    let checkpoint = http(&addr, "GET", "/log/checkpoint", &[], "").unwrap().1;
    let size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
    assert_eq!(
        size,
        CITIZENS + acked.len() as u64,
        "the log holds an entry no deed or key accounts for"
    );
    assert!(server.terminate().success());
    // Every decision the database holds is an acknowledged one, and each has exactly one row
    // in its resident's access log (same transaction); every partner deed has its row too.
    let decisions = count(&setup, "SELECT COUNT(*) FROM redemptions");
    assert_eq!(
        decisions,
        acked.len() as i64,
        "decisions no key accounts for"
    );
    let rows = count(
        &setup,
        "SELECT COUNT(*) FROM access_log WHERE action = 'redemption' AND actor_kind = 'partner'",
    );
    assert_eq!(
        rows, decisions,
        "a decision without its access-log row, or two"
    );
    let deed_rows = count(
        &setup,
        "SELECT COUNT(*) FROM access_log WHERE action = 'deed_submitted'",
    );
    assert_eq!(deed_rows, CITIZENS as i64);
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
fn sqlite_survives_kill_9_under_a_stream_of_redemptions() {
    crash_repeatedly(prepare(|dir| sqlite_url(dir, "crash.db")), 1);
}

#[test]
fn postgres_survives_kill_9_under_a_stream_of_redemptions() {
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
