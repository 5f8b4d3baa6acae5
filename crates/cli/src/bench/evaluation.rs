//! `moralbank bench evaluation`: issue 4's speed goals at city scale, as one JSON line.
//!
//! On the database named by `--database-url` (it writes a whole city): seeds the city when the
//! database has none, the default standards, a committee for every village, and — when there
//! are no deeds yet — a year of deed history in bulk (see
//! `moralbank_store::fixtures::evaluation`). Then it puts `--credit` more deeds on
//! publicity that all ends at one moment, and measures with the real store functions, one
//! call at a time (closed loop), each for `--seconds`:
//!
//! - the baseline: `deed(id)`, a primary-key lookup with the same joins and row decoding;
//! - `committee_queue(village, 500)` and the first page of `publicity_board` (what the page
//!   and the API serve, `BOARD_PAGE_ROWS`) over random villages, and, so that paging hides
//!   nothing, a village's whole board read page after page (`publicity_board_all_pages`);
//! - `citizen_deeds(citizen, 200)` over random citizens, half drawn in proportion to their
//!   deeds (those who have some) and half uniformly from the whole city.
//!
//! Last, it starts the real ledger writer and calls `credit_due` the way the server's credit
//! run does (5,000 deeds per call) until nothing is due, and times it.

use crate::bench::http::{loadavg, ms, pct, round1, rss_mib};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use moralbank_store::evaluation::BOARD_PAGE_ROWS;
use moralbank_store::fixtures::evaluation::BenchCity;
use moralbank_store::ledger::{Sequencer, SequencerConfig};
use moralbank_store::{now_ms, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The same city as `bench seed` seeds.
const CITY_RNG: u64 = 1;
const HISTORY_RNG: u64 = 4;
/// What the pages and the API ask for.
const QUEUE_LIMIT: i64 = 500;
const DEEDS_LIMIT: i64 = 200;
/// Deeds per `credit_due` call, as the server's credit run.
const CREDIT_LIMIT: i64 = 5_000;
/// Deeds (and citizens) sampled for the baseline and the deed lists.
const SAMPLE: u32 = 2_000;
const WARM_UP_S: u32 = 2;

pub struct EvaluationOptions {
    pub citizens: u64,
    pub deeds: u64,
    pub credit: u64,
    pub seconds: u32,
}

#[derive(Clone, Copy)]
enum Query {
    Deed,
    Queue,
    /// The first page of a board.
    Board,
    /// A whole board, following `next_cursor` to the last page (one "call").
    BoardAll,
    Deeds,
    /// `deed_by_ledger_index`: the deed behind a ledger entry (the key is the entry's index).
    ByLedger,
}

struct Phase {
    latencies_us: Vec<u64>,
    rows: u64,
    rows_max: usize,
}

impl Phase {
    fn summary(&self) -> Value {
        let l = &self.latencies_us;
        json!({
            "calls": l.len(),
            "p50_ms": ms(pct(l, 0.50)), "p90_ms": ms(pct(l, 0.90)),
            "p99_ms": ms(pct(l, 0.99)), "max_ms": ms(pct(l, 1.0)),
            "rows_mean": round1(self.rows as f64 / l.len().max(1) as f64), "rows_max": self.rows_max,
        })
    }

    fn ratio(&self, base: &Phase, q: f64) -> f64 {
        let b = pct(&base.latencies_us, q).max(1) as f64;
        round1(pct(&self.latencies_us, q) as f64 / b)
    }
}

pub async fn evaluation(config: Config, o: EvaluationOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench evaluation writes a whole city and its deeds: name an empty (or new) database, \
             or one it seeded before, with --database-url"
                .into(),
        ));
    }
    if o.seconds == 0 {
        return Err(CliError::Usage("--seconds must be positive".into()));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let line = run(&store, &o).await;
    store.close().await;
    println!("{}", line?);
    Ok(())
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, load, measure, report
async fn run(store: &Store, o: &EvaluationOptions) -> Result<Value> {
    let load_start = loadavg();
    let backend = format!("{:?}", store.backend()).to_lowercase();
    let mut setup = serde_json::Map::new();
    let city = city_with_history(store, o.citizens, o.deeds, &mut setup).await?;
    // The batch's publicity ends before every other running publicity, so that crediting up
    // to its end credits exactly the batch.
    let first_end = store.fixtures().bench_first_publicity_end().await?;
    let ends = first_end.map_or(now_ms(), |e| e.min(now_ms())) - 1;
    if o.credit > 0 {
        eprintln!(
            "putting {} deeds on publicity ending at one moment",
            o.credit
        );
        let r = store
            .fixtures()
            .bench_evaluation_publicity(&city, o.credit, ends, ends as u64)
            .await?;
        setup.insert("publicity_batch".into(), bulk_json(&r));
    }
    if let Some(s) = store.fixtures().bench_analyze().await? {
        setup.insert("analyze_seconds".into(), json!(round1(s)));
    }
    let counts = store.fixtures().bench_evaluation_counts().await?;
    eprintln!("deeds: {counts:?}");

    let villages = city.village_ids();
    let sample = store.fixtures().bench_random_deeds(SAMPLE).await?;
    if sample.is_empty() {
        return Err(CliError::Usage("the database has no deeds".into()));
    }
    let deed_ids: Vec<String> = sample.iter().map(|(d, _)| d.clone()).collect();
    let mut citizens: Vec<String> = sample
        .iter()
        .take(SAMPLE as usize / 2)
        .map(|(_, c)| c.clone())
        .collect();
    citizens.extend(city.random_citizens(SAMPLE as usize / 2, HISTORY_RNG));

    let mut rng = StdRng::seed_from_u64(HISTORY_RNG);
    let plan = [
        (Query::Deed, &deed_ids),
        (Query::Queue, &villages),
        (Query::Board, &villages),
        (Query::BoardAll, &villages),
        (Query::Deeds, &citizens),
    ];
    // A running server keeps its villages' queues and boards in the cache: one pass over every
    // village first (timed: the first, colder answers), then a short warm-up of each phase.
    eprintln!(
        "first pass over every village, warm-up, then {} s each of deed(id), committee_queue, \
         publicity_board (first page, all pages), citizen_deeds",
        o.seconds
    );
    let first_queue = every(store, Query::Queue, &villages).await?;
    let first_board = every(store, Query::BoardAll, &villages).await?;
    for (q, keys) in plan {
        phase(store, q, keys, WARM_UP_S, &mut rng).await?;
    }
    let mut phases = Vec::new();
    for (q, keys) in plan {
        phases.push(phase(store, q, keys, o.seconds, &mut rng).await?);
    }
    let [base, queue, board, board_all, deeds] =
        <[Phase; 5]>::try_from(phases).map_err(|_| CliError::Usage("phases missing".into()))?;

    let (credit, by_ledger) = if o.credit > 0 {
        let (summary, entries) = credit(store, ends, o.credit).await?;
        // The deed behind a ledger entry, over the entries just made.
        let keys: Vec<String> = (0..SAMPLE)
            .map(|_| rng.gen_range(entries.clone()).to_string())
            .collect();
        let p = if entries.is_empty() {
            Value::Null
        } else {
            phase(store, Query::ByLedger, &keys, o.seconds, &mut rng)
                .await?
                .summary()
        };
        (summary, p)
    } else {
        (Value::Null, Value::Null)
    };
    let counts = store.fixtures().bench_evaluation_counts().await?;
    Ok(json!({
        "bench": "evaluation", "backend": backend,
        "citizens": city.citizens(), "villages": villages.len(), "counts": counts,
        "setup": setup, "seconds_per_phase": o.seconds,
        "baseline_deed_by_id": base.summary(),
        "committee_queue": queue.summary(), "publicity_board": board.summary(),
        "publicity_board_all_pages": board_all.summary(), "board_page_rows": BOARD_PAGE_ROWS,
        "citizen_deeds": deeds.summary(),
        "first_pass": { "committee_queue": first_queue.summary(), "publicity_board_all_pages": first_board.summary() },
        "p99_ratio": {
            "queue": queue.ratio(&base, 0.99), "board": board.ratio(&base, 0.99),
            "board_all_pages": board_all.ratio(&base, 0.99), "deeds": deeds.ratio(&base, 0.99),
        },
        "p50_ratio": {
            "queue": queue.ratio(&base, 0.50), "board": board.ratio(&base, 0.50),
            "board_all_pages": board_all.ratio(&base, 0.50), "deeds": deeds.ratio(&base, 0.50),
        },
        "credit": credit, "deed_by_ledger_index": by_ledger,
        "loadavg_start": load_start, "loadavg_end": loadavg(),
        "rss_mib": rss_mib("VmRSS"), "peak_rss_mib": rss_mib("VmHWM"),
    }))
}

/// The city `bench evaluation` and `bench dashboard` measure: seeded when the database has none,
/// the default standards, a committee for every village, and `deeds` deeds of a year's history
/// when it has no deeds; what was made, and how long it took, goes into `setup`.
pub(crate) async fn city_with_history(
    store: &Store,
    citizens: u64,
    deeds: u64,
    setup: &mut serde_json::Map<String, Value>,
) -> Result<BenchCity> {
    if store.registry().city().await?.is_none() {
        eprintln!("seeding a city of {citizens} citizens");
        let r = store.fixtures().seed_city(citizens, CITY_RNG).await?;
        setup.insert("city_seconds".into(), json!(round1(r.seconds)));
    }
    store
        .evaluation()
        .ensure_default_standards("staff:bench")
        .await?;
    let city = store.fixtures().bench_evaluation_city(HISTORY_RNG).await?;
    setup.insert("staff_created".into(), json!(city.staff_created));
    let counts = store.fixtures().bench_evaluation_counts().await?;
    if counts.get("deeds").copied().unwrap_or(0) == 0 && deeds > 0 {
        eprintln!("writing {deeds} deeds of history");
        let r = store
            .fixtures()
            .bench_evaluation_history(&city, deeds, now_ms(), HISTORY_RNG)
            .await?;
        setup.insert("history".into(), bulk_json(&r));
    }
    Ok(city)
}

fn bulk_json(r: &moralbank_store::fixtures::evaluation::BulkReport) -> Value {
    json!({
        "deeds": r.deeds, "votes": r.votes, "objections": r.objections, "appeals": r.appeals,
        "events": r.events, "rows": r.rows, "seconds": round1(r.seconds),
        "rows_per_s": (r.rows as f64 / r.seconds.max(1e-9)).round(),
    })
}

/// Each key once, in order.
async fn every(store: &Store, q: Query, keys: &[String]) -> Result<Phase> {
    let mut p = Phase {
        latencies_us: Vec::with_capacity(keys.len()),
        rows: 0,
        rows_max: 0,
    };
    for key in keys {
        let started = Instant::now();
        let rows = call(store, q, key).await?;
        p.latencies_us.push(started.elapsed().as_micros() as u64);
        p.rows += rows as u64;
        p.rows_max = p.rows_max.max(rows);
    }
    p.latencies_us.sort_unstable();
    Ok(p)
}

async fn call(store: &Store, q: Query, key: &str) -> Result<usize> {
    Ok(match q {
        Query::Deed => usize::from(store.evaluation().deed(key).await?.is_some()),
        Query::Queue => store
            .evaluation()
            .committee_queue(key, QUEUE_LIMIT)
            .await?
            .len(),
        Query::Board => {
            let page = store
                .evaluation()
                .publicity_board(key, None, BOARD_PAGE_ROWS)
                .await?;
            page.items.len()
        }
        Query::BoardAll => {
            let (mut rows, mut after) = (0, None);
            loop {
                let page = store
                    .evaluation()
                    .publicity_board(key, after.as_ref(), BOARD_PAGE_ROWS)
                    .await?;
                rows += page.items.len();
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break rows,
                }
            }
        }
        Query::Deeds => store
            .evaluation()
            .citizen_deeds(key, DEEDS_LIMIT)
            .await?
            .len(),
        Query::ByLedger => {
            let index = key.parse().unwrap_or(-1);
            usize::from(
                store
                    .evaluation()
                    .deed_by_ledger_index(index)
                    .await?
                    .is_some(),
            )
        }
    })
}

async fn phase(
    store: &Store,
    q: Query,
    keys: &[String],
    seconds: u32,
    rng: &mut StdRng,
) -> Result<Phase> {
    let until = Instant::now() + Duration::from_secs(u64::from(seconds));
    let mut p = Phase {
        latencies_us: Vec::new(),
        rows: 0,
        rows_max: 0,
    };
    while Instant::now() < until {
        let key = &keys[rng.gen_range(0..keys.len())];
        let started = Instant::now();
        let rows = call(store, q, key).await?;
        p.latencies_us.push(started.elapsed().as_micros() as u64);
        p.rows += rows as u64;
        p.rows_max = p.rows_max.max(rows);
    }
    p.latencies_us.sort_unstable();
    Ok(p)
}

/// Start the real ledger writer and credit everything due at `ends` the way the server does.
async fn credit(store: &Store, ends: i64, expected: u64) -> Result<(Value, std::ops::Range<u64>)> {
    let (skey, _) = moralbank_ledger::generate_log_key("bench.moralbank.localhost/log");
    let key = moralbank_ledger::LogKey::from_private(&skey)
        .map_err(|e| CliError::Config(format!("bench log key: {e}")))?;
    let (seq, writer) = Sequencer::start(store.clone(), key, SequencerConfig::default()).await?;
    let log_before = store.ledger().log_head().await?.size;
    eprintln!("crediting {expected} deeds whose publicity ends at the same moment");
    let started = Instant::now();
    let (mut credited, mut failed, mut calls) = (0usize, 0usize, Vec::new());
    loop {
        let t = Instant::now();
        let r = store
            .evaluation()
            .credit_due(&seq, ends, CREDIT_LIMIT)
            .await?;
        calls.push(t.elapsed().as_secs_f64());
        credited += r.credited;
        failed += r.failed;
        if r.credited == 0 || r.failed > 0 {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(seq);
    let _ = writer.await;
    let log_after = store.ledger().log_head().await?.size;
    let linked = store.fixtures().bench_credited_at(ends, log_before).await?;
    let mut sorted = calls.clone();
    sorted.sort_by(f64::total_cmp);
    let summary = json!({
        "deeds": credited, "failed": failed, "expected": expected,
        "with_ledger_entry": linked, "ledger_entries_added": log_after - log_before,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "deeds_per_s": (credited as f64 / seconds.max(1e-9)).round(),
        "calls": calls.len(),
        "call_median_s": (sorted[sorted.len() / 2] * 1000.0).round() / 1000.0,
        "call_max_s": (sorted[sorted.len() - 1] * 1000.0).round() / 1000.0,
    });
    Ok((summary, log_before..log_after))
}
