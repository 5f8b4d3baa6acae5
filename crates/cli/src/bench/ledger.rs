//! `moralbank bench ledger`: appends through the real sequencer (hashing, tree integration,
//! balances, a signed checkpoint and a durable commit per batch) against the same rows
//! inserted plainly, proofs built from the database, all in one run; prints one JSON line.
//!
//! Phases, in order:
//!
//! 1. **Throughput.** `--entries` awards from `--clients` concurrent closed-loop clients (each
//!    sends its next append when the previous one is acknowledged); appends/s over the phase's
//!    wall time, and each append's acknowledgement latency from its call to its durable commit.
//! 2. **Latency.** An open-loop load of `--rate` appends/s for `--seconds`: append *i* is due at
//!    `start + i / rate` whatever happened before, and its latency runs from that due time to
//!    the acknowledgement, so queueing in the writer is never hidden (no coordinated omission).
//! 3. **Baseline.** The throughput phase's entry and posting rows, read back and inserted into
//!    plain tables (same columns, keys and indexes; no foreign keys, no triggers) by one writer,
//!    in transactions as large as the sequencer's average batch, over the same connection
//!    settings (so the same durability). Only the inserting transactions are timed.
//! 4. **Proofs.** Random inclusion proofs and consistency proofs against the log's current
//!    size, each built from the stored hashes by `log_proof`; one task, then two concurrent
//!    tasks. A sample of the proofs is verified against the current root.

use crate::bench::http::{ms, pct, round1, rss_mib};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use domain::{IdempotencyKey, KeyOwner};
use moralbank_ledger::tree::{check_consistency, check_inclusion};
use moralbank_ledger::{Hash, LogKey, Plan};
use moralbank_store::ledger::{NewEntry, Sequencer, SequencerConfig};
use moralbank_store::Store;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Citizens seeded into a database that has none.
const SEED_CITIZENS: u64 = 2_000;
const SEED_RNG: u64 = 1;
/// Citizens the awards cycle through.
const CITIZENS_USED: u32 = 2_000;
/// Appends before the throughput phase, not measured (statement caches, first pages).
const WARMUP_APPENDS: u64 = 2_000;
/// Entries read back at a time for the baseline.
const BASELINE_READ: u32 = 4_096;
/// Proofs of each kind verified against the root.
const VERIFY_SAMPLE: usize = 100;
const PRINCIPAL: &str = "partner:bench";

pub struct LedgerOptions {
    pub entries: u64,
    pub clients: u32,
    pub rate: u32,
    pub seconds: u32,
    pub max_batch: Option<usize>,
    pub max_wait_ms: Option<u64>,
    pub proofs: u32,
    pub baseline_entries: Option<u64>,
    /// Entries filled in bulk before the run, on a new ledger (0: none).
    pub prefill: u64,
}

/// Appends per phase: counts and acknowledgement latencies in microseconds.
pub(crate) struct Acks {
    pub(crate) latencies_us: Vec<u64>,
    pub(crate) errors: u64,
    pub(crate) wall_s: f64,
}

pub async fn ledger(config: Config, o: LedgerOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench ledger appends to the ledger: name a scratch database with --database-url"
                .into(),
        ));
    }
    if o.entries == 0 || o.clients == 0 || o.rate == 0 || o.seconds == 0 || o.proofs == 0 {
        return Err(CliError::Usage(
            "--entries, --clients, --rate, --seconds and --proofs must be positive".into(),
        ));
    }
    if o.max_batch == Some(0) {
        return Err(CliError::Usage("--max-batch must be positive".into()));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let result = run(&store, &o).await;
    store.close().await;
    let (line, errors) = result?;
    println!("{line}");
    if errors > 0 {
        return Err(CliError::Usage(format!("{errors} appends failed")));
    }
    Ok(())
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, load, measure, report
async fn run(store: &Store, o: &LedgerOptions) -> Result<(serde_json::Value, u64)> {
    let mut citizens = store.fixtures().some_citizen_ids(CITIZENS_USED).await?;
    if citizens.is_empty() {
        eprintln!("no citizens: seeding {SEED_CITIZENS}");
        store.fixtures().seed_city(SEED_CITIZENS, SEED_RNG).await?;
        citizens = store.fixtures().some_citizen_ids(CITIZENS_USED).await?;
    }
    if citizens.is_empty() {
        return Err(CliError::Usage(
            "the database has no citizens to award".into(),
        ));
    }
    if o.prefill > 0 {
        eprintln!("prefill: {} entries in bulk", o.prefill);
        let started = Instant::now();
        let mut last = Instant::now();
        store
            .fixtures()
            .bench_fill_ledger(o.prefill, &citizens, |n| {
                if last.elapsed() >= Duration::from_secs(10) {
                    last = Instant::now();
                    eprintln!(
                        "  {n} filled, {:.0}/s",
                        n as f64 / started.elapsed().as_secs_f64()
                    );
                }
            })
            .await?;
        eprintln!("  filled in {:.1} s", started.elapsed().as_secs_f64());
    }
    let citizens = Arc::new(citizens);

    let defaults = SequencerConfig::default();
    let cfg = SequencerConfig {
        max_batch: o.max_batch.unwrap_or(defaults.max_batch),
        max_wait: o
            .max_wait_ms
            .map(Duration::from_millis)
            .unwrap_or(defaults.max_wait),
        queue: defaults.queue,
    };
    let (skey, _) = moralbank_ledger::generate_log_key("bench.moralbank.example/log");
    let key = LogKey::from_private(&skey)
        .map_err(|e| CliError::Config(format!("the benchmark's log key: {e}")))?;
    let (seq, writer) = Sequencer::start(store.clone(), key, cfg.clone()).await?;
    // Keys unique to this run, so that a second run on the same database appends again
    // instead of replaying the first run's entries.
    let run_tag = moralbank_store::now_ms();
    let gen = Arc::new(Generator { citizens, run_tag });

    eprintln!(
        "warm-up: {WARMUP_APPENDS} appends from {} clients (max_batch {}, max_wait {:?})",
        o.clients, cfg.max_batch, cfg.max_wait
    );
    let next = Arc::new(AtomicU64::new(0));
    closed_loop(&seq, &gen, &next, WARMUP_APPENDS, o.clients).await?;

    let start_size = store.ledger().log_head().await?.size;
    let batches0 = store.fixtures().ledger_batches().await?;
    eprintln!(
        "throughput: {} appends from {} clients",
        o.entries, o.clients
    );
    let tput = closed_loop(&seq, &gen, &next, WARMUP_APPENDS + o.entries, o.clients).await?;
    let batches = store
        .fixtures()
        .ledger_batches()
        .await?
        .saturating_sub(batches0);
    let appended = tput.latencies_us.len() as u64;
    let appends_per_s = appended as f64 / tput.wall_s.max(1e-9);
    let avg_batch = appended as f64 / batches.max(1) as f64;
    eprintln!(
        "  {appended} in {:.1} s: {appends_per_s:.0}/s, {batches} batches of {avg_batch:.1} on average",
        tput.wall_s
    );

    eprintln!("latency: {} appends/s offered for {} s", o.rate, o.seconds);
    let batches0 = store.fixtures().ledger_batches().await?;
    let open = open_loop(&seq, &gen, &next, o.rate, o.seconds).await?;
    let open_batches = store
        .fixtures()
        .ledger_batches()
        .await?
        .saturating_sub(batches0);
    eprintln!(
        "  p50 {} ms, p99 {} ms",
        ms(pct(&open.latencies_us, 0.50)),
        ms(pct(&open.latencies_us, 0.99))
    );
    drop(seq);
    writer
        .await
        .map_err(|_| CliError::Usage("the ledger writer panicked".into()))?;

    let baseline_entries = o.baseline_entries.unwrap_or(appended).min(appended);
    let baseline_batch = avg_batch.round().max(1.0) as u32;
    eprintln!(
        "baseline: {baseline_entries} entries copied into plain tables, {baseline_batch} per transaction"
    );
    let mirrored = (o.prefill > 0).then_some(start_size);
    let (base_rows, base_s) = baseline(
        store,
        start_size,
        baseline_entries,
        baseline_batch,
        mirrored,
    )
    .await?;
    let baseline_per_s = base_rows as f64 / base_s.max(1e-9);

    let size = store.ledger().log_head().await?.size;
    eprintln!(
        "proofs: {} of each kind against the log of {size} entries",
        o.proofs
    );
    let proofs = proofs(store, size, o.proofs, LeafSource::Ledger).await?;

    let errors = tput.errors + open.errors;
    let line = json!({
        "bench": "ledger",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "entries": appended,
        "clients": o.clients,
        "max_batch": cfg.max_batch,
        "max_wait_ms": cfg.max_wait.as_secs_f64() * 1000.0,
        "seconds": round3(tput.wall_s),
        "appends_per_s": appends_per_s.round(),
        "p50_ack_ms": ms(pct(&tput.latencies_us, 0.50)),
        "p99_ack_ms": ms(pct(&tput.latencies_us, 0.99)),
        "max_ack_ms": ms(pct(&tput.latencies_us, 1.0)),
        "batches": batches,
        "avg_batch": round1(avg_batch),
        "baseline_entries": base_rows,
        "baseline_batch": baseline_batch,
        "baseline_seconds": round3(base_s),
        "baseline_inserts_per_s": baseline_per_s.round(),
        "prefill": o.prefill,
        "ratio": (appends_per_s / baseline_per_s.max(1e-9) * 1000.0).round() / 1000.0,
        "open_loop_rate": o.rate,
        "open_loop_seconds": o.seconds,
        "open_loop_appends": open.latencies_us.len(),
        "open_loop_achieved_per_s": round1(open.latencies_us.len() as f64 / open.wall_s.max(1e-9)),
        "open_loop_p50_ms": ms(pct(&open.latencies_us, 0.50)),
        "open_loop_p90_ms": ms(pct(&open.latencies_us, 0.90)),
        "open_loop_p99_ms": ms(pct(&open.latencies_us, 0.99)),
        "open_loop_max_ms": ms(pct(&open.latencies_us, 1.0)),
        "open_loop_avg_batch": round1(open.latencies_us.len() as f64 / open_batches.max(1) as f64),
        "log_size": size,
        "proofs": o.proofs,
        "inclusion_proofs_per_s": proofs.inclusion_1.round(),
        "consistency_proofs_per_s": proofs.consistency_1.round(),
        "inclusion_proofs_per_s_2_tasks": proofs.inclusion_2.round(),
        "consistency_proofs_per_s_2_tasks": proofs.consistency_2.round(),
        "proofs_verified": proofs.verified,
        "errors": errors,
        "peak_rss_mib": rss_mib("VmHWM"),
    });
    Ok((line, errors))
}

/// The benchmark's appends: awards of 1 to 10 points cycling over the citizens.
pub(crate) struct Generator {
    pub(crate) citizens: Arc<Vec<String>>,
    pub(crate) run_tag: i64,
}

impl Generator {
    fn append(&self, i: u64) -> Result<(String, NewEntry)> {
        let key = IdempotencyKey::parse(&format!("bench-{}-{i}", self.run_tag))
            .map_err(|e| CliError::Usage(e.to_string()))?
            .scoped(KeyOwner::Partner("bench"));
        let citizen = &self.citizens[(i % self.citizens.len() as u64) as usize];
        let entry = NewEntry::award(
            citizen,
            1 + (i % 10) as i64,
            "issuance:330281",
            "standard:bench@1",
            "帮助邻居修理屋顶 (benchmark)",
            "deed:bench",
            vec![PRINCIPAL.into()],
        );
        Ok((key, entry))
    }
}

/// Appends `next..until` from `clients` closed-loop clients.
pub(crate) async fn closed_loop(
    seq: &Sequencer,
    gen: &Arc<Generator>,
    next: &Arc<AtomicU64>,
    until: u64,
    clients: u32,
) -> Result<Acks> {
    let done = Arc::new(AtomicU64::new(0));
    let progress = progress(done.clone());
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(clients as usize);
    for _ in 0..clients {
        let (seq, gen, next, done) = (seq.clone(), gen.clone(), next.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= until {
                    return Ok::<_, CliError>((lat, errors));
                }
                let (key, entry) = gen.append(i)?;
                let t = Instant::now();
                match seq.append_unruled(key, entry).await {
                    Ok(_) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        if errors == 1 {
                            tracing::warn!(error = %e, "an append failed");
                        }
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut acks = Acks {
        latencies_us: Vec::new(),
        errors: 0,
        wall_s: 0.0,
    };
    for t in tasks {
        let (lat, errors) = t
            .await
            .map_err(|_| CliError::Usage("a client panicked".into()))??;
        acks.latencies_us.extend(lat);
        acks.errors += errors;
    }
    acks.wall_s = start.elapsed().as_secs_f64();
    progress.abort();
    // The counter ran past `until` once per client; put it back for the next phase.
    next.store(until, Ordering::Relaxed);
    acks.latencies_us.sort_unstable();
    Ok(acks)
}

/// Offers `rate` appends a second for `seconds`, each from its own task at its due time.
async fn open_loop(
    seq: &Sequencer,
    gen: &Arc<Generator>,
    next: &Arc<AtomicU64>,
    rate: u32,
    seconds: u32,
) -> Result<Acks> {
    let total = u64::from(rate) * u64::from(seconds);
    let first = next.fetch_add(total, Ordering::Relaxed);
    let done = Arc::new(AtomicU64::new(0));
    let progress = progress(done.clone());
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for k in 0..total {
        let due = start + interval.mul_f64(k as f64);
        tokio::time::sleep_until(due.into()).await;
        let (key, entry) = gen.append(first + k)?;
        let (seq, done) = (seq.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let r = seq.append_unruled(key, entry).await;
            done.fetch_add(1, Ordering::Relaxed);
            r.map(|_| due.elapsed().as_micros() as u64)
        }));
    }
    let mut acks = Acks {
        latencies_us: Vec::with_capacity(total as usize),
        errors: 0,
        wall_s: 0.0,
    };
    for t in tasks {
        match t
            .await
            .map_err(|_| CliError::Usage("an append task panicked".into()))?
        {
            Ok(us) => acks.latencies_us.push(us),
            Err(e) => {
                acks.errors += 1;
                if acks.errors == 1 {
                    tracing::warn!(error = %e, "an append failed");
                }
            }
        }
    }
    acks.wall_s = start.elapsed().as_secs_f64();
    progress.abort();
    acks.latencies_us.sort_unstable();
    Ok(acks)
}

/// Prints how many appends were acknowledged every five seconds until aborted.
fn progress(done: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tick.tick().await;
            let n = done.load(Ordering::Relaxed);
            let s = start.elapsed().as_secs_f64();
            eprintln!("  {n} acknowledged after {s:.0} s ({:.0}/s)", n as f64 / s);
        }
    })
}

/// Copies entries `from..from + count` into the plain tables, `batch` per transaction; returns
/// the entries copied and the seconds spent in the inserting transactions.
/// Copy `count` entries from index `from` into the plain tables, `batch` per transaction;
/// with `mirrored`, the tables first get every entry below that index (untimed), so that they
/// are as large as the ledger's were. Returns the rows copied and the seconds the copying
/// transactions took.
async fn baseline(
    store: &Store,
    from: u64,
    count: u64,
    batch: u32,
    mirrored: Option<u64>,
) -> Result<(u64, f64)> {
    store.fixtures().bench_plain_reset().await?;
    if let Some(upto) = mirrored {
        let t = Instant::now();
        store.fixtures().bench_plain_mirror(upto).await?;
        eprintln!(
            "  {upto} rows mirrored into the plain tables in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let (mut copied, mut busy) = (0u64, Duration::ZERO);
    let end = from + count;
    let mut at = from;
    let mut last_note = Instant::now();
    while at < end {
        let want = (end - at).min(u64::from(BASELINE_READ.max(batch))) as u32;
        let rows = store.fixtures().bench_ledger_rows(at, want).await?;
        if rows.is_empty() {
            break;
        }
        for chunk in rows.chunks(batch as usize) {
            let t = Instant::now();
            store.fixtures().bench_plain_insert(chunk).await?;
            busy += t.elapsed();
        }
        copied += rows.len() as u64;
        at += u64::from(want);
        if last_note.elapsed() >= Duration::from_secs(5) {
            last_note = Instant::now();
            eprintln!(
                "  {copied} copied, {:.0}/s",
                copied as f64 / busy.as_secs_f64().max(1e-9)
            );
        }
    }
    let secs = busy.as_secs_f64();
    store.fixtures().bench_plain_drop().await?;
    Ok((copied, secs))
}

pub(crate) struct ProofRates {
    pub inclusion_1: f64,
    pub consistency_1: f64,
    pub inclusion_2: f64,
    pub consistency_2: f64,
    pub verified: usize,
}

/// Where the verified sample's leaves come from.
#[derive(Clone, Copy)]
pub(crate) enum LeafSource {
    /// The ledger's entries.
    Ledger,
    /// [`moralbank_store::fixtures::ledger::synthetic_leaf`] (a log `bench proofs` filled).
    Synthetic,
}

#[derive(Clone, Copy)]
enum ProofKind {
    Inclusion,
    Consistency,
}

fn plan(kind: ProofKind, size: u64, rng: &mut impl Rng) -> Plan {
    match kind {
        ProofKind::Inclusion => Plan::Inclusion {
            index: rng.gen_range(0..size),
            size,
        },
        ProofKind::Consistency => Plan::Consistency {
            old: rng.gen_range(1..=size),
            new: size,
        },
    }
}

/// Builds `n` random proofs of `kind` from `tasks` concurrent tasks; proofs per second.
async fn proof_rate(store: &Store, kind: ProofKind, size: u64, n: u32, tasks: u32) -> Result<f64> {
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        let share = n / tasks + u32::from(t < n % tasks);
        handles.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(u64::from(t) + 7);
            for _ in 0..share {
                store.ledger().log_proof(plan(kind, size, &mut rng)).await?;
            }
            Ok::<_, CliError>(())
        }));
    }
    for h in handles {
        h.await
            .map_err(|_| CliError::Usage("a proof task panicked".into()))??;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64().max(1e-9))
}

pub(crate) async fn proofs(
    store: &Store,
    size: u64,
    n: u32,
    leaves: LeafSource,
) -> Result<ProofRates> {
    if size == 0 {
        return Err(CliError::Usage("the log is empty: nothing to prove".into()));
    }
    let verified = verify_sample(store, size, leaves).await?;
    Ok(ProofRates {
        inclusion_1: proof_rate(store, ProofKind::Inclusion, size, n, 1).await?,
        consistency_1: proof_rate(store, ProofKind::Consistency, size, n, 1).await?,
        inclusion_2: proof_rate(store, ProofKind::Inclusion, size, n, 2).await?,
        consistency_2: proof_rate(store, ProofKind::Consistency, size, n, 2).await?,
        verified,
    })
}

async fn root(store: &Store, size: u64) -> Result<Hash> {
    store
        .ledger()
        .log_proof(Plan::Root { size })
        .await?
        .first()
        .copied()
        .ok_or_else(|| CliError::Usage(format!("no root for the tree of {size} entries")))
}

/// Checks a sample of proofs of each kind against the log's root (not timed).
async fn verify_sample(store: &Store, size: u64, leaves: LeafSource) -> Result<usize> {
    let head = root(store, size).await?;
    if hex::encode(head.0) != store.ledger().log_head().await?.root {
        return Err(CliError::Usage(
            "the root built from the stored hashes is not the log head's".into(),
        ));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let bad = |what: String| CliError::Usage(format!("a {what} does not verify"));
    for _ in 0..VERIFY_SAMPLE {
        let index = rng.gen_range(0..size);
        let proof = store
            .ledger()
            .log_proof(Plan::Inclusion { index, size })
            .await?;
        let leaf = match leaves {
            LeafSource::Ledger => {
                store
                    .fixtures()
                    .bench_ledger_rows(index, 1)
                    .await?
                    .pop()
                    .ok_or_else(|| bad(format!("entry {index} (missing)")))?
                    .leaf
            }
            LeafSource::Synthetic => moralbank_store::fixtures::ledger::synthetic_leaf(index),
        };
        check_inclusion(&proof, size, head, index, &leaf)
            .map_err(|_| bad(format!("inclusion proof of entry {index}")))?;
        let old = rng.gen_range(1..=size);
        let proof = store
            .ledger()
            .log_proof(Plan::Consistency { old, new: size })
            .await?;
        let old_root = root(store, old).await?;
        check_consistency(&proof, size, head, old, old_root)
            .map_err(|_| bad(format!("consistency proof from {old}")))?;
    }
    Ok(2 * VERIFY_SAMPLE)
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
