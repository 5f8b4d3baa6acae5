//! `moralbank bench credit` (issue 16's speed goals), on the database named by
//! `--database-url` (a new one, or one this benchmark prepared before):
//!
//! * **issuance**: on a seeded city (`--citizens`, 1.26 M by default) whose first `--households`
//!   households have three years of awards (12 per member, written in bulk), one authorised
//!   consent each; then each report issued through the store as the household's download does
//!   (`credit().household_report`: gather the figures, sign, keep, write the receipts), one
//!   after another; reports per second and the latency's median and p99. As a reference in the
//!   same run, the same reports signed alone (`encode_report`, no database).
//! * **verification**: the issued reports verified offline (`verify_report`: base64, COSE,
//!   header, signature, every field, audience, times) against raw Ed25519 verifications
//!   (`verify_strict`, the same library) of messages as long as a report's signed structure, in
//!   alternating rounds on this thread; the ratio of the medians.
//! * **loan book**: `--loans` approvals (bulk-written) and a monthly book of one row each,
//!   imported through the city-data pipeline (kind `bank-loans`), checked only (preview) and
//!   committed; seconds each.

use crate::bench::code::{median, rates};
use crate::bench::http::{loadavg, round1};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use moralbank_code::{IssuerKey, KeySet};
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::credit::reports::ReportSigner;
use moralbank_store::evaluation::Rules;
use moralbank_store::{now_ms, Store};
use serde_json::{json, Value};
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

const CITY_RNG: u64 = 1;
const BANK: &str = "余姚农村商业银行（测试）";
/// Awards per member of a benchmarked household over the three years.
const AWARDS_PER_CITIZEN: u64 = 12;

#[derive(clap::Args)]
pub struct CreditOptions {
    /// Residents to seed when the database has none.
    #[arg(long, default_value_t = 1_260_000)]
    pub citizens: u64,
    /// Households whose reports are issued (each with three years of awards).
    #[arg(long, default_value_t = 2_000)]
    pub households: u32,
    /// Loans in the monthly loan book.
    #[arg(long, default_value_t = 33_600)]
    pub loans: u32,
    /// Rounds of verification against raw Ed25519.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
    /// Reports asked for at once in the concurrent phase.
    #[arg(long, default_value_t = 16)]
    pub concurrency: u32,
}

/// Reports issued one after another without the writer (each its own transaction): the
/// sequential phase's sample.
const SEQUENTIAL: usize = 500;

pub async fn credit(config: Config, o: CreditOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench credit writes a city and its history: name a new (or a previously benched) database with --database-url".into(),
        ));
    }
    if o.households == 0 || o.loans == 0 || o.rounds == 0 {
        return Err(CliError::Usage(
            "--households, --loans and --rounds must be positive".into(),
        ));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let line = run(&store, &o).await;
    store.close().await;
    println!("{}", line?);
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn prepare(
    store: &Store,
    o: &CreditOptions,
    setup: &mut serde_json::Map<String, Value>,
) -> Result<(String, Vec<(String, Vec<String>)>)> {
    if store.registry().city().await?.is_none() {
        eprintln!("seeding a city of {} residents", o.citizens);
        let r = store.fixtures().seed_city(o.citizens, CITY_RNG).await?;
        setup.insert("city_seconds".into(), json!(round1(r.seconds)));
    }
    let bank = match store
        .credit()
        .banks()
        .await?
        .into_iter()
        .find(|b| b.name == BANK)
    {
        Some(b) => b.id,
        None => store.accounts().create_partner(BANK, "bank").await?.id,
    };
    if store.credit().current_table(&bank).await?.is_none() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
        let table = domain::credit::LineTable::parse(
            "4.35",
            &s(&["30000", "50000", "100000", "200000", "300000"]),
            &s(&["0", "5", "10", "20", "30"]),
        )
        .map_err(|e| CliError::Config(e.to_string()))?;
        store
            .credit()
            .publish_table(&bank, &table, "staff:bench", now_ms())
            .await?;
    }
    let households = store.fixtures().bench_households(o.households).await?;
    if store.ledger().log_head().await?.size == 0 {
        let citizens: Vec<String> = households.iter().flat_map(|(_, m)| m.clone()).collect();
        eprintln!(
            "writing three years of awards for {} residents of {} households",
            citizens.len(),
            households.len()
        );
        let t = Instant::now();
        let n = store
            .fixtures()
            .bench_credit_history(&citizens, AWARDS_PER_CITIZEN)
            .await?;
        setup.insert("history_entries".into(), json!(n));
        setup.insert(
            "history_seconds".into(),
            json!(round1(t.elapsed().as_secs_f64())),
        );
    }
    Ok((bank, households))
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, measure, report
async fn run(store: &Store, o: &CreditOptions) -> Result<Value> {
    let load_start = loadavg();
    let backend = format!("{:?}", store.backend()).to_lowercase();
    let mut setup = serde_json::Map::new();
    let (bank, households) = prepare(store, o, &mut setup).await?;
    let now = now_ms();
    let ids: Vec<String> = households.iter().map(|(h, _)| h.clone()).collect();
    let key = std::sync::Arc::new(IssuerKey::generate());
    let keys = KeySet::new(vec![key.public()]).map_err(|e| CliError::Config(e.to_string()))?;
    let thresholds = domain::tier::DEFAULT_THRESHOLDS;
    let plain = ReportSigner {
        key: &key,
        issuer: "bench.moralbank.localhost",
        thresholds: &thresholds,
        writer: None,
    };

    // One after another, each report its own transaction (one durable commit each).
    let sample = &households[..households.len().min(SEQUENTIAL)];
    let sample_ids: Vec<String> = sample.iter().map(|(h, _)| h.clone()).collect();
    let consents = store
        .fixtures()
        .bench_credit_consents(&bank, &sample_ids, now)
        .await?;
    eprintln!("issuing {} reports one after another", consents.len());
    let mut sequential = Vec::with_capacity(consents.len());
    let t = Instant::now();
    for ((_, members), consent) in sample.iter().zip(&consents) {
        let one = Instant::now();
        store
            .credit()
            .household_report(&members[0], consent, &plain, now)
            .await?;
        sequential.push(one.elapsed().as_secs_f64() * 1000.0);
    }
    let sequential_s = t.elapsed().as_secs_f64();
    sequential.sort_by(f64::total_cmp);

    // Many households at once, as the server issues them: through the report writer.
    let writer = moralbank_store::credit::writer::ReportWriter::start(store.clone());
    let consents = store
        .fixtures()
        .bench_credit_consents(&bank, &ids, now)
        .await?;
    eprintln!(
        "issuing {} reports, {} at a time, through the writer",
        consents.len(),
        o.concurrency
    );
    let jobs: Vec<(String, String)> = households
        .iter()
        .zip(&consents)
        .map(|((_, m), c)| (m[0].clone(), c.clone()))
        .collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(jobs.into_iter()));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let (store, queue, writer, key) =
            (store.clone(), queue.clone(), writer.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let signer = ReportSigner {
                key: &key,
                issuer: "bench.moralbank.localhost",
                thresholds: &domain::tier::DEFAULT_THRESHOLDS,
                writer: Some(&writer),
            };
            let mut out = Vec::new();
            loop {
                let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                let Some((member, consent)) = next else { break };
                let one = Instant::now();
                let r = store
                    .credit()
                    .household_report(&member, &consent, &signer, now)
                    .await?;
                out.push((one.elapsed().as_secs_f64() * 1000.0, r.body));
            }
            Ok::<_, moralbank_store::StoreError>(out)
        }));
    }
    let mut latencies = Vec::with_capacity(consents.len());
    let mut texts: Vec<String> = Vec::with_capacity(consents.len());
    for task in tasks {
        for (ms, body) in task.await.map_err(|e| CliError::Config(e.to_string()))?? {
            latencies.push(ms);
            texts.push(body);
        }
    }
    let issue_s = t.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let decoded: Vec<_> = texts
        .iter()
        .map(|x| moralbank_code::verify_report(x, &keys, Some(&bank), now / 1000, 30))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| CliError::Config(format!("an issued report does not verify: {e}")))?;
    let with_points = decoded
        .iter()
        .filter(|r: &&moralbank_code::CreditReport| r.credit_points > 0)
        .count();
    let n = u32::try_from(texts.len()).unwrap_or(u32::MAX);
    let (sign_only, _) = rates(n, || {
        for r in &decoded {
            moralbank_code::encode_report(r, &key).map_err(|e| CliError::Config(e.to_string()))?;
        }
        Ok(())
    })?;

    eprintln!("verifying them against raw Ed25519, {} rounds", o.rounds);
    let raw_key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let raw_public = raw_key.verifying_key();
    // A report's COSE bytes: three quarters of its base64 text.
    let len = texts[0]
        .len()
        .saturating_sub(moralbank_code::REPORT_PREFIX.len())
        * 3
        / 4;
    let signed: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..n)
        .map(|i| {
            let mut m = vec![0u8; len];
            m[..4].copy_from_slice(&i.to_le_bytes());
            (m.clone(), ed25519_dalek::Signer::sign(&raw_key, &m))
        })
        .collect();
    let (mut verified, mut raw, mut verified_cpu, mut raw_cpu) = (vec![], vec![], vec![], vec![]);
    for _ in 0..o.rounds {
        let mut ok = 0u32;
        let (w, c) = rates(n, || {
            for x in &texts {
                ok += u32::from(
                    moralbank_code::verify_report(x, &keys, Some(&bank), now / 1000, 30).is_ok(),
                );
            }
            Ok(())
        })?;
        if ok != n {
            return Err(CliError::Config(format!(
                "only {ok} of {n} reports verified"
            )));
        }
        verified.push(w);
        verified_cpu.push(c);
        let (w, c) = rates(n, || {
            for (m, s) in &signed {
                ok += u32::from(raw_public.verify_strict(m, s).is_ok());
            }
            Ok(())
        })?;
        raw.push(w);
        raw_cpu.push(c);
    }
    let (v, r, vc, rc) = (
        median(&mut verified),
        median(&mut raw),
        median(&mut verified_cpu),
        median(&mut raw_cpu),
    );

    // The loan book: approvals once, then a book of this month with fresh balances.
    let loan_households = store.fixtures().bench_households(o.loans).await?;
    if (loan_households.len() as u32) < o.loans {
        return Err(CliError::Usage(format!(
            "the city has {} households, fewer than --loans",
            loan_households.len()
        )));
    }
    let approved: i64 = store
        .credit()
        .decision_figures()
        .await?
        .iter()
        .map(|d| d.approved)
        .sum();
    let refs: Vec<String> = if approved >= i64::from(o.loans) {
        (0..o.loans).map(|i| format!("BENCH-{i:06}")).collect()
    } else {
        let ids: Vec<String> = loan_households.iter().map(|(h, _)| h.clone()).collect();
        store
            .fixtures()
            .bench_credit_approvals(&bank, &ids, now)
            .await?
    };
    let month = domain::time::month_of(now);
    let salt = now % 1000;
    let mut csv = String::from("贷款编号,月份,贷款状态,贷款余额（元）\n");
    for (i, r) in refs.iter().enumerate() {
        csv.push_str(&format!(
            "{r},{}-{:02},disbursed,{}\n",
            month / 100,
            month % 100,
            50_000 + i as i64 % 50_000 + salt
        ));
    }
    let book = |mode| {
        let csv = csv.as_bytes();
        let bank = bank.clone();
        async move {
            let t = Instant::now();
            let i = store
                .citydata()
                .import_file(
                    &Upload {
                        schema: &domain::citydata::kinds::BANK_LOANS,
                        owner: ImportOwner::Partner(bank.clone()),
                        by: bank,
                        file_name: "bench-loan-book.csv".into(),
                        bytes: csv,
                    },
                    mode,
                    &Rules::default(),
                    now,
                    &AtomicUsize::new(0),
                )
                .await?;
            Ok::<_, CliError>((t.elapsed().as_secs_f64(), i))
        }
    };
    eprintln!("importing a loan book of {} loans", refs.len());
    let (preview_s, p) = book(Mode::Preview).await?;
    let (commit_s, c) = book(Mode::Commit).await?;
    if c.status != "committed" || p.status != "previewed" {
        return Err(CliError::Config(format!(
            "the loan book was not committed: {} / {} (first problem {:?})",
            p.status,
            c.status,
            c.problems.first()
        )));
    }
    let mut lengths: Vec<f64> = texts.iter().map(|x| x.len() as f64).collect();
    let chars_median = median(&mut lengths);
    Ok(json!({
        "bench": "credit", "backend": backend, "setup": setup,
        "households": households.len(), "reports_with_points": with_points,
        "report_chars_median": chars_median,
        "concurrency": o.concurrency,
        "issued_per_s": (f64::from(n) / issue_s).round(),
        "issue_ms_p50": (percentile(&latencies, 0.5) * 100.0).round() / 100.0,
        "issue_ms_p99": (percentile(&latencies, 0.99) * 100.0).round() / 100.0,
        "issue_ms_max": (latencies[latencies.len() - 1] * 100.0).round() / 100.0,
        "sequential_reports": sequential.len(),
        "sequential_per_s": (sequential.len() as f64 / sequential_s).round(),
        "sequential_ms_p50": (percentile(&sequential, 0.5) * 100.0).round() / 100.0,
        "sequential_ms_p99": (percentile(&sequential, 0.99) * 100.0).round() / 100.0,
        "sign_only_per_s": sign_only.round(),
        "verified_per_s": v.round(), "raw_ed25519_verify_per_s": r.round(),
        "verify_ratio_to_raw": (v / r * 1000.0).round() / 1000.0,
        "verify_ratio_to_raw_cpu": (vc / rc * 1000.0).round() / 1000.0,
        "loan_book_rows": refs.len(), "loan_book_bytes": csv.len(),
        "loan_book_preview_seconds": (preview_s * 100.0).round() / 100.0,
        "loan_book_commit_seconds": (commit_s * 100.0).round() / 100.0,
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    }))
}
