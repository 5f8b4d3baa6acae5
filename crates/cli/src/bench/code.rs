//! `moralbank bench code` and `moralbank bench redemptions` (issue 5's speed goals).
//!
//! * `bench code`, on one core (this thread only): codes issued per second (claims, CBOR,
//!   COSE_Sign1 with Ed25519, Base45), codes verified per second through the whole pipeline
//!   (prefix, Base45, COSE, key id, signature, claims, expiry), and, as the baseline measured
//!   in the same run, raw Ed25519 verifications per second with the same library
//!   (`ed25519-dalek`'s `verify_strict`, as the verifier calls it) of messages as long as a
//!   code's signed structure. Rounds alternate between the pipeline and the baseline.
//! * `bench redemptions`: prepares a scratch database (residents, a library partner with an API
//!   key, an eligibility benefit, one code per resident), serves the real app on a loopback
//!   port from this process, and loads `POST /api/v1/redemptions` with `wrk` — a separate
//!   process — after a `/healthz` phase with the same connections as the baseline; then it
//!   checks that the redemptions recorded equal the requests answered ([`super::tally`]).

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use moralbank_code::{
    Badge, Carrier, Claims, Holder, IssuerKey, KeySet, Lifetimes, MaskedName, Pseudonym,
};
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

pub struct CodeOptions {
    /// Codes per round for each measurement.
    pub codes: u32,
    pub rounds: u32,
}

fn holder(i: u32) -> Result<Holder> {
    let mut pseudonym = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut pseudonym);
    Ok(Holder {
        pseudonym: Pseudonym(pseudonym),
        tier: u8::try_from(i % 5 + 1).unwrap_or(1),
        badges: if i.is_multiple_of(7) {
            vec![Badge::parse("green-card").map_err(|e| CliError::Config(e.to_string()))?]
        } else {
            vec![]
        },
        masked_name: MaskedName::parse("谢*华").map_err(|e| CliError::Config(e.to_string()))?,
    })
}

fn issuer() -> Result<moralbank_code::Issuer> {
    moralbank_code::Issuer::parse("bench.moralbank.localhost")
        .map_err(|e| CliError::Config(e.to_string()))
}

/// This thread's CPU time in seconds (user + system, from `/proc/thread-self/stat`, in clock
/// ticks of 1/100 s), so that rates can be given per CPU-second as well as per wall-second: on
/// a shared machine the wall clock also counts the time other processes held the core.
pub(crate) fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `work` and gives (per wall-second, per CPU-second) for `n` items.
pub(crate) fn rates(n: u32, work: impl FnOnce() -> Result<()>) -> Result<(f64, f64)> {
    let (t, c) = (Instant::now(), thread_cpu_s());
    work()?;
    let wall = t.elapsed().as_secs_f64();
    let cpu = match (c, thread_cpu_s()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall,
    };
    Ok((f64::from(n) / wall, f64::from(n) / cpu))
}

pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn code(o: CodeOptions) -> Result<()> {
    if o.codes == 0 || o.rounds == 0 {
        return Err(CliError::Usage(
            "--codes and --rounds must be positive".into(),
        ));
    }
    let key = IssuerKey::generate();
    let keys =
        KeySet::new(vec![key.public()]).map_err(|e| CliError::Config(format!("key set: {e}")))?;
    let iss = issuer()?;
    let lifetimes = Lifetimes::default();
    let now = moralbank_store::now_ms() / 1000;
    let holders = (0..o.codes).map(holder).collect::<Result<Vec<_>>>()?;
    // The baseline's messages: as long as a code's COSE bytes (its signed structure is a few
    // bytes longer than the payload and protected header it carries).
    let raw_key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let raw_public = raw_key.verifying_key();
    // Per round: (per wall-second, per CPU-second) of issuing, verifying, raw verifying.
    let mut r: [Vec<f64>; 6] = Default::default();
    let mut code_chars = 0;
    let mut qr_version = 0;
    for round in 0..o.rounds {
        // Issue.
        let mut codes = Vec::with_capacity(holders.len());
        let (w, c) = rates(o.codes, || {
            for h in &holders {
                let claims = Claims::issue(iss.clone(), h.clone(), Carrier::Phone, now, &lifetimes);
                codes.push(
                    moralbank_code::encode(&claims, &key)
                        .map_err(|e| CliError::Config(format!("encoding: {e}")))?,
                );
            }
            Ok(())
        })?;
        r[0].push(w);
        r[1].push(c);
        // Verify, the whole pipeline.
        let mut ok = 0u32;
        let (w, c) = rates(o.codes, || {
            for code in &codes {
                ok += u32::from(moralbank_code::verify(code, &keys, now, 30).is_ok());
            }
            Ok(())
        })?;
        r[2].push(w);
        r[3].push(c);
        if ok != o.codes {
            return Err(CliError::Config(format!(
                "only {ok} of {} codes verified",
                o.codes
            )));
        }
        // Raw Ed25519 verify, same library, messages of the codes' length.
        let len = base45::decode(codes[0].trim_start_matches(moralbank_code::PREFIX))
            .map(|b| b.len())
            .unwrap_or(200);
        let signed: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..o.codes)
            .map(|i| {
                let mut m = vec![0u8; len];
                m[..4].copy_from_slice(&i.to_le_bytes());
                let s = ed25519_dalek::Signer::sign(&raw_key, &m);
                (m, s)
            })
            .collect();
        let mut ok = 0u32;
        let (w, c) = rates(o.codes, || {
            for (m, s) in &signed {
                ok += u32::from(raw_public.verify_strict(m, s).is_ok());
            }
            Ok(())
        })?;
        r[4].push(w);
        r[5].push(c);
        if ok != o.codes {
            return Err(CliError::Config("raw verification failed".into()));
        }
        if round == 0 {
            code_chars = codes[0].len();
            qr_version = moralbank_code::CodeQr::new(&codes[0])
                .map(|q| q.version())
                .unwrap_or(0);
        }
        let i = round as usize;
        eprintln!(
            "round {}: per CPU-second: issued {:.0}, verified {:.0}, raw Ed25519 {:.0} (per wall-second: {:.0}, {:.0}, {:.0})",
            round + 1, r[1][i], r[3][i], r[5][i], r[0][i], r[2][i], r[4][i]
        );
    }
    let [iw, ic, vw, vc, rw, rc] = r.map(|mut v| median(&mut v));
    println!(
        "{}",
        json!({
            "bench": "code", "codes_per_round": o.codes, "rounds": o.rounds, "threads": 1,
            "code_chars": code_chars, "qr_version": qr_version,
            "issued_per_s": iw.round(), "verified_per_s": vw.round(), "raw_ed25519_verify_per_s": rw.round(),
            "verify_ratio_to_raw": (vw / rw * 1000.0).round() / 1000.0,
            "issued_per_cpu_s": ic.round(), "verified_per_cpu_s": vc.round(), "raw_ed25519_verify_per_cpu_s": rc.round(),
            "verify_ratio_to_raw_cpu": (vc / rc * 1000.0).round() / 1000.0,
        })
    );
    Ok(())
}

#[derive(Clone, Copy)]
pub struct RedemptionOptions {
    pub residents: u64,
    pub seconds: u32,
    pub connections: u32,
    pub threads: u32,
}

/// The wrk script: each request a code from the list, a unique idempotency key.
const WRK_SCRIPT: &str = r#"
local codes = {}
for line in io.lines(CODES_FILE) do codes[#codes + 1] = line end
local counter = 0
local threads = 0
-- Runs once per wrk thread, in the main script; `thread_id` becomes a global of that thread.
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
function request()
  counter = counter + 1
  local code = codes[(counter * 7919 + (thread_id or 0) * 104729) % #codes + 1]
  local body = '{"code":"' .. code .. '","benefit_id":"' .. BENEFIT .. '"}'
  return wrk.format("POST", "/api/v1/redemptions", {
    ["Authorization"] = "Bearer " .. API_KEY,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = RUN .. "-" .. (thread_id or 0) .. "-" .. counter,
  }, body)
end
"#;

struct WrkResult {
    requests_per_s: f64,
    requests: u64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    socket_errors: u64,
}

fn parse_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("us") {
        return v.parse::<f64>().ok().map(|x| x / 1000.0);
    }
    if let Some(v) = s.strip_suffix("ms") {
        return v.parse().ok();
    }
    if let Some(v) = s.strip_suffix('m') {
        return v.parse::<f64>().ok().map(|x| x * 60_000.0);
    }
    s.strip_suffix('s')
        .and_then(|v| v.parse::<f64>().ok())
        .map(|x| x * 1000.0)
}

fn parse_wrk(out: &str) -> Result<WrkResult> {
    let pct = |p: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(p).and_then(parse_ms))
    };
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(str::trim).map(str::to_string))
    };
    let requests = out
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let socket_errors = field("Socket errors:")
        .map(|s| {
            s.split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let missing = || CliError::Config(format!("could not read wrk's output:\n{out}"));
    Ok(WrkResult {
        requests_per_s: field("Requests/sec:")
            .and_then(|s| s.parse().ok())
            .ok_or_else(missing)?,
        requests,
        p50_ms: pct("50%").ok_or_else(missing)?,
        p90_ms: pct("90%").ok_or_else(missing)?,
        p99_ms: pct("99%").ok_or_else(missing)?,
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        socket_errors,
    })
}

fn run_wrk(
    o: &RedemptionOptions,
    url: &str,
    script: Option<&std::path::Path>,
) -> Result<WrkResult> {
    let mut cmd = std::process::Command::new("wrk");
    cmd.arg(format!("-t{}", o.threads))
        .arg(format!("-c{}", o.connections))
        .arg(format!("-d{}s", o.seconds))
        .arg("--latency");
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().map_err(|e| {
        CliError::Usage(format!(
            "could not run wrk ({e}); install it (Debian: apt-get install wrk)"
        ))
    })?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(CliError::Config(format!(
            "wrk failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    parse_wrk(&text)
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, load, measure, report
pub async fn redemptions(config: Config, o: RedemptionOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench redemptions writes to the database: name a scratch one with --database-url"
                .into(),
        ));
    }
    if o.residents == 0 || o.seconds == 0 || o.connections == 0 || o.threads == 0 {
        return Err(CliError::Usage(
            "--residents, --seconds, --connections and --threads must be positive".into(),
        ));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let (citizens, _) = store.registry().count_citizens().await?;
    if citizens == 0 {
        eprintln!("seeding {} residents…", o.residents);
        store.fixtures().seed_city(o.residents, 5).await?;
    }
    store.code().ensure_default_scenes().await?;
    let run = domain::new_id();
    // The end of the id: its start is the clock (UUIDv7), the same for runs a minute apart.
    let partner = store
        .accounts()
        .create_partner(&format!("压测图书馆 {}", &run[run.len() - 12..]), "library")
        .await?;
    let (_, api_key) = store
        .accounts()
        .create_api_key(&partner.id, &["benefits:redeem".into()], "bench")
        .await?;
    let benefit = store
        .code()
        .create_benefit(&moralbank_store::code::benefits::NewBenefit {
            scene: "reading".into(),
            partner_id: partner.id.clone(),
            name_zh: "免押金借书证".into(),
            name_en: "Deposit-free library card".into(),
            description_zh: "压测".into(),
            description_en: "benchmark".into(),
            min_tier: 1,
            kind: "eligibility".into(),
            ..Default::default()
        })
        .await?;
    // One code per resident, valid for two hours (the phone's 90 s would expire mid-run).
    let key = IssuerKey::generate();
    let published =
        KeySet::new(vec![key.public()]).map_err(|e| CliError::Config(format!("key set: {e}")))?;
    let lifetimes = Lifetimes {
        phone_s: 7200,
        ..Lifetimes::default()
    };
    let iss = issuer()?;
    let now_s = moralbank_store::now_ms() / 1000;
    let ids = store
        .fixtures()
        .some_citizen_ids(u32::try_from(o.residents.min(20_000)).unwrap_or(20_000))
        .await?;
    let mut codes = String::new();
    for (i, cid) in ids.iter().enumerate() {
        let claims = Claims::issue(
            iss.clone(),
            holder(u32::try_from(i).unwrap_or(0))?,
            Carrier::Phone,
            now_s,
            &lifetimes,
        );
        store
            .code()
            .record_issued_code(&claims.code_id.to_string(), cid, false, claims.expires_at)
            .await?;
        codes.push_str(
            &moralbank_code::encode(&claims, &key)
                .map_err(|e| CliError::Config(format!("encoding: {e}")))?,
        );
        codes.push('\n');
    }
    let dir = tempfile::tempdir().map_err(CliError::io("making a scratch folder"))?;
    let codes_file = dir.path().join("codes.txt");
    std::fs::write(&codes_file, codes).map_err(CliError::io("writing the codes"))?;
    let script = dir.path().join("redeem.lua");
    std::fs::write(
        &script,
        format!(
            "CODES_FILE = {:?}\nBENEFIT = {:?}\nAPI_KEY = {:?}\nRUN = {:?}\n{WRK_SCRIPT}",
            codes_file.display().to_string(),
            benefit.id,
            api_key,
            run
        ),
    )
    .map_err(CliError::io("writing the wrk script"))?;

    let (skey, vkey) = moralbank_ledger::generate_log_key("bench.moralbank.localhost/log");
    let log_key = moralbank_ledger::LogKey::from_private(&skey)
        .map_err(|e| CliError::Config(format!("bench log key: {e}")))?;
    let ledger =
        moralbank_web::Ledger::start(&store, log_key, vkey, vec![], Default::default()).await?;
    let web = moralbank_web::WebConfig {
        cookie_secure: false,
        ..moralbank_web::WebConfig::default()
    };
    let state = moralbank_web::AppState::new(
        store.clone(),
        web,
        Arc::new(moralbank_web::DevSender),
        ledger,
    )
    .with_codes(moralbank_web::code::CodeIssuer {
        key: Arc::new(key),
        published: Arc::new(published),
        issuer: iss,
        lifetimes,
        tiers: Arc::new(domain::tier::DEFAULT_THRESHOLDS.to_vec()),
    });
    let tally = Arc::new(crate::bench::tally::Tally::default());
    let (addr, stop, server) =
        crate::bench::http::serve_loopback_graceful(tally.wrap(moralbank_web::app(state))).await?;
    let base = format!("http://{addr}");
    let before = store.code().count_redemptions().await?;
    eprintln!(
        "{} codes; wrk -t{} -c{}: {} s of /healthz, then {} s of redemptions",
        ids.len(),
        o.threads,
        o.connections,
        o.seconds,
        o.seconds
    );
    let wrk_opts = o;
    let (health, redeem) = tokio::task::spawn_blocking(move || {
        let h = run_wrk(&wrk_opts, &format!("{base}/healthz"), None)?;
        let r = run_wrk(&wrk_opts, &base, Some(&script))?;
        Ok::<_, CliError>((h, r))
    })
    .await
    .map_err(|e| CliError::Config(format!("wrk task: {e}")))??;
    // Stop gracefully, then wait until every request the server received has finished: only
    // then is every decision it will make recorded.
    let _ = stop.send(());
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), server).await;
    let settled = tally
        .settle(std::time::Duration::from_secs(30))
        .await
        .ok_or_else(|| {
            CliError::Check("redemptions still running 30 s after the load ended".into())
        })?;
    let recorded = store.code().count_redemptions().await? - before;
    let recorded = u64::try_from(recorded).unwrap_or(0);
    let checked = crate::bench::tally::check(recorded, settled, redeem.requests, o.connections);
    let summary = |w: &WrkResult| {
        json!({
            "requests": w.requests, "per_s": w.requests_per_s.round(),
            "p50_ms": w.p50_ms, "p90_ms": w.p90_ms, "p99_ms": w.p99_ms,
            "non_2xx": w.non_2xx, "socket_errors": w.socket_errors,
        })
    };
    println!(
        "{}",
        json!({
            "bench": "redemptions", "backend": format!("{:?}", store.backend()).to_lowercase(),
            "codes": ids.len(), "connections": o.connections, "wrk_threads": o.threads, "seconds": o.seconds,
            "baseline_healthz": summary(&health), "redemptions": summary(&redeem),
            "redemptions_recorded": recorded, "redemption_requests_received": settled.started,
            "redemptions_answered_200": settled.ok, "recorded_equals_answered": checked.is_ok(),
            "ratio_to_baseline": (redeem.requests_per_s / health.requests_per_s.max(1e-9) * 1000.0).round() / 1000.0,
            "redemptions_per_s": redeem.requests_per_s.round(), "p99_ms": redeem.p99_ms,
        })
    );
    store.close().await;
    if redeem.non_2xx > 0 {
        return Err(CliError::Check(format!(
            "{} redemptions were not answered 200",
            redeem.non_2xx
        )));
    }
    checked.map_err(|e| CliError::Check(format!("bench redemptions FAILED: {e}")))
}
