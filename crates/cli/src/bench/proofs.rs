//! `moralbank bench proofs`: inclusion and consistency proofs per second on a log of
//! `--leaves` **synthetic** leaves, for log sizes that would take hours to append through the
//! sequencer (issue 3 asks for 20 M entries).
//!
//! On a database whose log is empty, the stored hashes of `--leaves` synthetic leaves (leaf *i*
//! is [`moralbank_store::fixtures::ledger::synthetic_leaf`]) are computed with the store's own tree code
//! (`Frontier::append`, i.e. `tlog_tiles`) and inserted in bulk into `log_hashes`, and the log
//! head is set to their size and root; no ledger entries, postings, balances or checkpoints are
//! written. A database that already holds such a log of `--leaves` leaves is reused (no refill).
//! Then the proofs are measured exactly as `bench ledger`'s proof phase measures them: 100 of
//! each kind verified against the root first, then `--proofs` random proofs of each kind, from
//! one task and then from two. Afterwards the database is good only for this benchmark.

use crate::bench::ledger::{proofs, round3, LeafSource};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use moralbank_store::Store;
use serde_json::json;
use std::time::Instant;

pub struct ProofsOptions {
    pub leaves: u64,
    pub proofs: u32,
}

pub async fn proofs_bench(config: Config, o: ProofsOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench proofs fills the log with synthetic leaves: name a scratch database with --database-url"
                .into(),
        ));
    }
    if o.leaves == 0 || o.proofs == 0 {
        return Err(CliError::Usage(
            "--leaves and --proofs must be positive".into(),
        ));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let result = run(&store, &o).await;
    store.close().await;
    println!("{}", result?);
    Ok(())
}

async fn run(store: &Store, o: &ProofsOptions) -> Result<serde_json::Value> {
    let size = store.ledger().log_head().await?.size;
    let (filled, fill_s) = if size == 0 {
        eprintln!("filling the log with {} synthetic leaves", o.leaves);
        let t = Instant::now();
        store
            .fixtures()
            .bench_seed_log(o.leaves, |n| {
                eprintln!("  {n} leaves after {:.0} s", t.elapsed().as_secs_f64())
            })
            .await?;
        (true, t.elapsed().as_secs_f64())
    } else if size == o.leaves && store.fixtures().bench_log_is_synthetic().await? {
        eprintln!("reusing the synthetic log of {size} leaves");
        (false, 0.0)
    } else {
        return Err(CliError::Usage(format!(
            "the log already has {size} entries: name a new database (or one this benchmark filled with --leaves {size})"
        )));
    };
    let size = store.ledger().log_head().await?.size;
    eprintln!(
        "proofs: {} of each kind against the log of {size} synthetic leaves",
        o.proofs
    );
    let p = proofs(store, size, o.proofs, LeafSource::Synthetic).await?;
    Ok(json!({
        "bench": "proofs",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "leaves": "synthetic",
        "log_size": size,
        "filled": filled,
        "fill_seconds": round3(fill_s),
        "proofs": o.proofs,
        "inclusion_proofs_per_s": p.inclusion_1.round(),
        "consistency_proofs_per_s": p.consistency_1.round(),
        "inclusion_proofs_per_s_2_tasks": p.inclusion_2.round(),
        "consistency_proofs_per_s_2_tasks": p.consistency_2.round(),
        "proofs_verified": p.verified,
        "peak_rss_mib": crate::bench::http::rss_mib("VmHWM"),
    }))
}
