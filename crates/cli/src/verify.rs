//! `moralbank verify RECEIPT --policy POLICY` or `--vkey VKEY` (offline, no database) and
//! `moralbank audit`.

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, log_keys, server};
use moralbank_ledger::{verify_receipt_with_policy, AccountRef, Policy, Receipt};
use std::path::Path;

/// Largest receipt file read (a receipt is a few kilobytes).
const RECEIPT_BYTES_MAX: u64 = 256 * 1024;

/// Check a receipt offline under a trust policy (the log's key, and the quorum of witnesses
/// whose cosignatures the receipt's checkpoint must carry); prints what it proves, or fails
/// saying exactly what is wrong.
pub fn verify(receipt: &Path, policy: &Policy) -> Result<()> {
    let meta = std::fs::metadata(receipt)
        .map_err(CliError::io(format!("reading {}", receipt.display())))?;
    if meta.len() > RECEIPT_BYTES_MAX {
        return Err(CliError::Check(format!(
            "{} is {} bytes; a receipt is at most {RECEIPT_BYTES_MAX}",
            receipt.display(),
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(receipt)
        .map_err(CliError::io(format!("reading {}", receipt.display())))?;
    // Either layout: our JSON (which may carry the opening) or a C2SP tlog-proof.
    let r: Receipt = if text.starts_with(moralbank_ledger::TLOG_PROOF_HEADER) {
        Receipt::from_tlog_proof(&text)
            .map_err(|e| CliError::Check(format!("receipt NOT valid: {e}")))?
    } else {
        serde_json::from_str(&text).map_err(|e| {
            CliError::Check(format!("receipt NOT valid: not a receipt document: {e}"))
        })?
    };
    let (v, w) = verify_receipt_with_policy(&r, policy)
        .map_err(|e| CliError::Check(format!("receipt NOT valid: {e}")))?;
    let amount = v
        .entry
        .postings
        .iter()
        .find(|p| matches!(p.account, AccountRef::Citizen(_)))
        .map(|p| p.amount)
        .unwrap_or(0);
    println!("receipt valid");
    println!(
        "  entry {} ({}, {} points, rule {}, at {} ms)",
        v.index,
        v.entry.kind.as_str(),
        amount,
        v.entry.rule,
        v.entry.at_ms
    );
    println!(
        "  is leaf {} of the log's tree of {} entries, root {}",
        v.index,
        v.size,
        hex::encode(v.root.0)
    );
    println!("  checkpoint signed by the log's key");
    if policy.witnesses.is_empty() {
        println!(
            "  no witnesses checked: with --policy (from /log/policy) it also shows that the witnesses saw this same log"
        );
    } else {
        let by: Vec<String> = w
            .cosigners
            .iter()
            .map(|(name, at)| format!("{name} (at {at} s)"))
            .collect();
        println!(
            "  cosigned by {} of {} witnesses (quorum {}): {}",
            w.cosigners.len(),
            policy.witnesses.len(),
            policy.quorum,
            if by.is_empty() {
                "none".to_string()
            } else {
                by.join(", ")
            }
        );
    }
    match v.opened_for {
        Some(c) => println!("  the citizen account in it is {c} (the opening matches)"),
        None => println!("  no opening: the citizen account is not identified"),
    }
    Ok(())
}

/// Recompute the whole log and every balance; fails naming the first thing that differs.
pub async fn audit(config: Config) -> Result<()> {
    let keys_file = log_keys::read(&log_keys::path(&config))?;
    let vault = keys::load_vault(&config)?;
    let store = server::open(&config, vault, false).await?;
    let started = std::time::Instant::now();
    let result = store
        .ledger()
        .audit(&keys_file.all_vkeys(), |n| {
            if n % 100_000 < 5_000 {
                eprintln!("audit: {n} entries checked");
            }
        })
        .await;
    store.close().await;
    match result {
        Ok(r) => {
            println!(
                "audit passed: {} entries, {} stored hashes, {} checkpoints, {} accounts ({} of withdrawn residents, {} withdrawals); guards intact; root {} ({:.1} s)",
                r.entries,
                r.stored_hashes,
                r.checkpoints,
                r.accounts,
                r.withdrawn_accounts,
                r.withdrawals,
                r.root,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => Err(CliError::Check(format!("audit FAILED: {e}"))),
    }
}
