//! `moralbank bench witness`: what witnessing costs.
//!
//! 1. **One witness.** `add-checkpoint` requests handled by one witness (the same code as
//!    `moralbank witness`, called in-process without HTTP): parse, the log's signature, the
//!    consistency proof from the size it holds (at tree sizes 1 M and 20 M, each request adding
//!    `--step` entries), the durable write of its record (written, `fsync`ed, renamed) and the
//!    cosignature. The tree's leaves are all one hash, so every perfect subtree of a height has
//!    one hash and any size's proof is built instantly; the witness's work (the proof's length,
//!    the hashing, the signatures) is that of any tree of the size. Baselines in the same run:
//!    the durable write alone (the floor a witness that keeps its promise cannot go below) and
//!    the checks and the cosignature without the write.
//! 2. **The log's append rate.** Closed-loop appends through the real sequencer for
//!    `--seconds`, alternately without witnesses and with three witnesses on loopback ports and
//!    their collectors asking every `--interval-ms`, `--rounds` times each; the medians and
//!    their ratio. The witnesses run on the same two cores, so this is the worst case.

use crate::bench::http::{loadavg, round1};
use crate::bench::ledger::{closed_loop, Generator};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use moralbank_ledger::witness::{generate_witness_key, AddCheckpoint, WitnessKey};
use moralbank_ledger::{Hash, LogKey};
use moralbank_store::ledger::{Sequencer, SequencerConfig};
use moralbank_witness::state::{LogRecord, WitnessState};
use moralbank_witness::{Endpoint, Witness};
use serde_json::json;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tlog_tiles::{HashReader, TreeProof};

#[derive(clap::Args)]
pub struct WitnessOptions {
    /// Requests measured at each tree size.
    #[arg(long, default_value_t = 2_000)]
    pub requests: u32,
    /// Entries each request adds to the tree.
    #[arg(long, default_value_t = 1_000)]
    pub step: u64,
    /// Length of each append phase, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Append phases of each kind (without, with witnesses), alternating.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
    /// Concurrent closed-loop clients appending.
    #[arg(long, default_value_t = 64)]
    pub clients: u32,
    /// How often each collector asks its witness, in milliseconds.
    #[arg(long, default_value_t = 200)]
    pub interval_ms: u64,
}

/// A tree whose every leaf is one hash: the stored hash at level `l` is `level[l]`.
struct Uniform {
    level: Vec<Hash>,
}

impl Uniform {
    fn new() -> Uniform {
        let mut level = vec![moralbank_ledger::leaf_hash(b"moralbank bench witness")];
        for l in 0..63 {
            level.push(tlog_tiles::node_hash(level[l], level[l]));
        }
        Uniform { level }
    }

    fn root(&self, size: u64) -> Hash {
        tlog_tiles::tree_hash(size, self).unwrap_or(Hash([0; 32]))
    }

    fn proof(&self, old: u64, new: u64) -> TreeProof {
        tlog_tiles::prove_tree(new, old, self).unwrap_or_default()
    }
}

impl HashReader for Uniform {
    fn read_hashes(&self, indexes: &[u64]) -> std::result::Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes
            .iter()
            .map(|&i| self.level[usize::from(tlog_tiles::split_stored_hash_index(i).0)])
            .collect())
    }
}

fn per_second(n: u32, d: Duration) -> f64 {
    round1(f64::from(n) / d.as_secs_f64().max(1e-9))
}

/// Requests at `start` and growing, handled by a fresh witness; (requests/s, the same without
/// the durable write, durable writes alone/s).
fn one_witness(o: &WitnessOptions, start: u64) -> Result<(f64, f64, f64)> {
    let tree = Uniform::new();
    let (skey, vkey) = moralbank_ledger::generate_log_key("bench.moralbank.example/log");
    let log = LogKey::from_private(&skey).map_err(|e| CliError::Config(e.to_string()))?;
    let sign = |size: u64| {
        log.sign(size, tree.root(size))
            .map_err(|e| CliError::Config(e.to_string()))
    };
    let (wkey, _) = generate_witness_key("witness.bench.example")
        .map_err(|e| CliError::Config(e.to_string()))?;
    let dir = tempfile::tempdir().map_err(CliError::io("a temporary folder"))?;
    let witness = Witness::open(
        WitnessKey::from_private(&wkey).map_err(|e| CliError::Config(e.to_string()))?,
        vec![vkey.clone()],
        dir.path(),
    )
    .map_err(CliError::io("opening the witness"))?;
    let first = AddCheckpoint {
        old: 0,
        proof: Vec::new(),
        checkpoint: sign(start)?,
    }
    .to_body();
    if !matches!(
        witness.add_checkpoint(first.as_bytes(), 0),
        moralbank_witness::server::Outcome::Cosigned(_)
    ) {
        return Err(CliError::Check(
            "the first checkpoint was not cosigned".into(),
        ));
    }
    let bodies = (0..u64::from(o.requests))
        .map(|i| {
            let (old, new) = (start + i * o.step, start + (i + 1) * o.step);
            Ok(AddCheckpoint {
                old,
                proof: tree.proof(old, new).to_vec(),
                checkpoint: sign(new)?,
            }
            .to_body())
        })
        .collect::<Result<Vec<_>>>()?;
    let t = Instant::now();
    for b in &bodies {
        if !matches!(
            witness.add_checkpoint(b.as_bytes(), 1),
            moralbank_witness::server::Outcome::Cosigned(_)
        ) {
            return Err(CliError::Check(
                "a consistent checkpoint was refused".into(),
            ));
        }
    }
    let full = per_second(o.requests, t.elapsed());
    // The checks and the cosignature alone, from the same starting record each time.
    let latest = moralbank_ledger::witness::Recorded {
        size: start,
        root: tree.root(start),
        note: String::new(),
    };
    let (wk, _) = generate_witness_key("witness.bench.example")
        .map_err(|e| CliError::Config(e.to_string()))?;
    let wk = WitnessKey::from_private(&wk).map_err(|e| CliError::Config(e.to_string()))?;
    let single = AddCheckpoint {
        old: start,
        proof: tree.proof(start, start + o.step).to_vec(),
        checkpoint: sign(start + o.step)?,
    }
    .to_body();
    let logs = [vkey];
    let t = Instant::now();
    for _ in 0..o.requests {
        let req =
            AddCheckpoint::parse(single.as_bytes()).map_err(|e| CliError::Check(e.to_string()))?;
        let a = moralbank_ledger::witness::check(&req, &logs, Some(&latest))
            .map_err(|e| CliError::Check(e.to_string()))?;
        std::hint::black_box(wk.cosign(&a.body, 1));
    }
    let checks = per_second(o.requests, t.elapsed());
    // The durable write alone.
    let dir = tempfile::tempdir().map_err(CliError::io("a temporary folder"))?;
    let state = WitnessState::open(dir.path()).map_err(CliError::io("opening a folder"))?;
    let t = Instant::now();
    for i in 0..u64::from(o.requests) {
        state
            .record(&LogRecord {
                origin: "bench.moralbank.example/log".into(),
                recorded: moralbank_ledger::witness::Recorded {
                    size: i,
                    root: Hash([1; 32]),
                    note: first.clone(),
                },
                cosigned_at: i,
            })
            .map_err(CliError::io("writing a record"))?;
    }
    let writes = per_second(o.requests, t.elapsed());
    Ok((full, checks, writes))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Three witnesses on loopback ports and a collector for each, until the handles are dropped.
async fn start_witnesses(
    store: &moralbank_store::Store,
    log_vkey: &str,
    interval: Duration,
) -> Result<(Vec<tempfile::TempDir>, Vec<tokio::task::JoinHandle<()>>)> {
    let (mut dirs, mut tasks, mut endpoints) = (Vec::new(), Vec::new(), Vec::new());
    for name in ["bank", "hospital", "library"] {
        let dir = tempfile::tempdir().map_err(CliError::io("a temporary folder"))?;
        let (skey, _) = generate_witness_key(&format!("witness.{name}.bench.example"))
            .map_err(|e| CliError::Config(e.to_string()))?;
        let key = WitnessKey::from_private(&skey).map_err(|e| CliError::Config(e.to_string()))?;
        let vkey = key.vkey();
        let witness = Arc::new(
            Witness::open(key, vec![log_vkey.to_string()], dir.path())
                .map_err(CliError::io("opening a witness"))?,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(CliError::io("listening"))?;
        let url = format!(
            "http://{}",
            listener.local_addr().map_err(CliError::io("address"))?
        );
        tasks.push(tokio::spawn(async move {
            let _ =
                moralbank_witness::server::serve(witness, listener, std::future::pending()).await;
        }));
        endpoints.push(Endpoint { vkey, url });
        dirs.push(dir);
    }
    tasks.extend(moralbank_witness::collector::spawn(
        store,
        &endpoints,
        interval,
        Duration::from_secs(5),
    ));
    Ok((dirs, tasks))
}

pub async fn witness(config: Config, o: WitnessOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench witness appends to a ledger: name a scratch database with --database-url".into(),
        ));
    }
    if o.requests == 0 || o.step == 0 || o.seconds == 0 || o.rounds == 0 || o.clients == 0 {
        return Err(CliError::Usage(
            "--requests, --step, --seconds, --rounds and --clients must be positive".into(),
        ));
    }
    let load_start = loadavg();
    let (full_1m, checks_1m, writes_1m) = one_witness(&o, 1 << 20)?;
    let (full_20m, checks_20m, writes_20m) = one_witness(&o, 20_000_000)?;

    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let mut citizens = store.fixtures().some_citizen_ids(2_000).await?;
    if citizens.is_empty() {
        store.fixtures().seed_city(2_000, 1).await?;
        citizens = store.fixtures().some_citizen_ids(2_000).await?;
    }
    let (skey, log_vkey) = moralbank_ledger::generate_log_key("bench.moralbank.example/log");
    let key = LogKey::from_private(&skey).map_err(|e| CliError::Config(e.to_string()))?;
    let (seq, _task) = Sequencer::start(store.clone(), key, SequencerConfig::default()).await?;
    let gen = Arc::new(Generator {
        citizens: Arc::new(citizens),
        run_tag: moralbank_store::now_ms(),
    });
    let next = Arc::new(AtomicU64::new(0));
    let phase = |seq: Sequencer,
                 gen: Arc<Generator>,
                 next: Arc<AtomicU64>,
                 clients: u32,
                 seconds: u64| async move {
        // Closed loop for the phase's length: appends in slices of 2,000 until time is up.
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_secs(seconds) {
            let from = next.load(std::sync::atomic::Ordering::Relaxed);
            let acks = closed_loop(&seq, &gen, &next, from + 2_000, clients).await?;
            n += acks.latencies_us.len() as u64;
        }
        Ok::<f64, CliError>(n as f64 / t.elapsed().as_secs_f64())
    };
    phase(seq.clone(), gen.clone(), next.clone(), o.clients, 1).await?; // warm-up
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut witnessed_sizes = Vec::new();
    for _ in 0..o.rounds {
        without.push(phase(seq.clone(), gen.clone(), next.clone(), o.clients, o.seconds).await?);
        let (dirs, tasks) =
            start_witnesses(&store, &log_vkey, Duration::from_millis(o.interval_ms)).await?;
        with.push(phase(seq.clone(), gen.clone(), next.clone(), o.clients, o.seconds).await?);
        tokio::time::sleep(Duration::from_millis(3 * o.interval_ms)).await;
        let names: Vec<String> = ["bank", "hospital", "library"]
            .iter()
            .map(|n| format!("witness.{n}.bench.example"))
            .collect();
        let latest = store
            .ledger()
            .latest_checkpoint()
            .await?
            .map_or(0, |c| c.size);
        let witnessed = store
            .ledger()
            .witnessed_checkpoint(&names, 2)
            .await?
            .map_or(0, |w| w.size);
        witnessed_sizes.push(json!({ "log": latest, "witnessed": witnessed }));
        for t in tasks {
            t.abort();
        }
        drop(dirs);
    }
    let (w0, w1) = (median(&mut without), median(&mut with));
    let line = json!({
        "bench": "witness",
        "one_witness": {
            "requests": o.requests, "step": o.step,
            "at_1m": { "cosigned_per_s": full_1m, "checks_without_write_per_s": checks_1m, "durable_writes_per_s": writes_1m },
            "at_20m": { "cosigned_per_s": full_20m, "checks_without_write_per_s": checks_20m, "durable_writes_per_s": writes_20m },
        },
        "appends": {
            "seconds": o.seconds, "rounds": o.rounds, "clients": o.clients, "interval_ms": o.interval_ms,
            "without_witnesses_per_s": without.iter().map(|x| round1(*x)).collect::<Vec<_>>(),
            "with_three_witnesses_per_s": with.iter().map(|x| round1(*x)).collect::<Vec<_>>(),
            "median_without": round1(w0), "median_with": round1(w1),
            "ratio": (w1 / w0.max(1e-9) * 1000.0).round() / 1000.0,
            "after_each_with_phase": witnessed_sizes,
        },
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    });
    println!("{line}");
    store.close().await;
    Ok(())
}
