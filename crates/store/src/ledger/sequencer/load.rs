//! The writer's load step: what a batch needs from the database before it can decide, read
//! inside the batch's transaction (after it took the log head, so nothing changes meanwhile).
//! Citizens and accounts already in the writer's cache are not read again.

use super::decide::{AccountState, Known, Original};
use super::{Appended, Cache, Pending};
use crate::ledger::{citizen_account, to_i64, to_u64};
use crate::sql::{in_list, positional, statement_rows};
use crate::{Backend, Result};
use moralbank_ledger::EntryKind;
use sqlx::{AnyConnection, Row};
use std::collections::HashSet;

/// Read what `batch` needs: its keys used before and the awards it reverses (returned), the
/// citizens it names that are enrolled and the accounts it touches (added to `cache`).
pub(super) async fn load(
    tx: &mut AnyConnection,
    backend: Backend,
    batch: &[Pending],
    cache: &mut Cache,
) -> Result<Known> {
    let mut known = Known::default();
    let keys: Vec<&str> = batch.iter().map(|p| p.key.as_str()).collect();
    for chunk in keys.chunks(statement_rows(1)) {
        let sql = format!(
            "SELECT idem_key, request_hash, idx, id, at_ms FROM ledger_entries WHERE idem_key IN ({})",
            in_list(1, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for k in chunk {
            q = q.bind(*k);
        }
        for r in q.fetch_all(&mut *tx).await? {
            let h: Vec<u8> = r.try_get("request_hash")?;
            known.keys.insert(
                r.try_get("idem_key")?,
                (
                    <[u8; 32]>::try_from(h.as_slice()).unwrap_or([0; 32]),
                    Appended {
                        index: to_u64(r.try_get("idx")?),
                        entry_id: r.try_get("id")?,
                        at_ms: r.try_get("at_ms")?,
                        replayed: true,
                    },
                ),
            );
        }
    }
    load_originals(tx, backend, batch, &mut known).await?;
    let mut citizens: HashSet<String> = batch
        .iter()
        .filter(|p| p.entry.kind != EntryKind::Reversal)
        .map(|p| p.entry.citizen_id.clone())
        .collect();
    citizens.extend(known.originals.values().map(|o| o.citizen_id.clone()));
    let citizens: Vec<String> = citizens.into_iter().collect();
    load_enrolled(tx, backend, &citizens, cache).await?;
    let mut accounts: Vec<String> = citizens.iter().map(|c| citizen_account(c)).collect();
    accounts.extend(batch.iter().map(|p| p.entry.counter_account.clone()));
    accounts.extend(known.originals.values().map(|o| o.counter.clone()));
    accounts.sort();
    accounts.dedup();
    accounts.retain(|a| !cache.accounts.contains_key(a));
    load_accounts(tx, backend, &accounts, cache).await?;
    Ok(known)
}

/// The awards the batch's reversals undo, with whether each was reversed already.
async fn load_originals(
    tx: &mut AnyConnection,
    backend: Backend,
    batch: &[Pending],
    known: &mut Known,
) -> Result<()> {
    let wanted: Vec<i64> = batch
        .iter()
        .filter_map(|p| p.entry.reverses)
        .map(to_i64)
        .collect::<Result<_>>()?;
    for chunk in wanted.chunks(statement_rows(1)) {
        let sql = format!(
            "SELECT e.idx, e.kind, e.at_ms, p.citizen_id, p.amount, q.account AS counter, \
               (SELECT r.idx FROM ledger_entries r WHERE r.reverses = e.idx) AS reversed_by \
             FROM ledger_entries e \
             JOIN ledger_postings p ON p.entry_idx = e.idx AND p.citizen_id IS NOT NULL \
             JOIN ledger_postings q ON q.entry_idx = e.idx AND q.citizen_id IS NULL \
             WHERE e.idx IN ({})",
            in_list(1, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for i in chunk {
            q = q.bind(*i);
        }
        for r in q.fetch_all(&mut *tx).await? {
            known.originals.insert(
                to_u64(r.try_get("idx")?),
                Original {
                    kind: r.try_get("kind")?,
                    citizen_id: r.try_get("citizen_id")?,
                    counter: r.try_get("counter")?,
                    amount: r.try_get("amount")?,
                    at_ms: r.try_get("at_ms")?,
                    reversed_by: r.try_get("reversed_by")?,
                },
            );
        }
    }
    Ok(())
}

/// Which of `citizens` not yet in the cache are enrolled.
async fn load_enrolled(
    tx: &mut AnyConnection,
    backend: Backend,
    citizens: &[String],
    cache: &mut Cache,
) -> Result<()> {
    let unseen: Vec<&String> = citizens
        .iter()
        .filter(|c| !cache.enrolled.contains(*c))
        .collect();
    for chunk in unseen.chunks(statement_rows(1)) {
        let sql = format!(
            "SELECT id FROM citizens WHERE id IN ({})",
            in_list(1, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for c in chunk {
            q = q.bind(c.as_str());
        }
        for r in q.fetch_all(&mut *tx).await? {
            cache.enrolled.insert(r.try_get("id")?);
        }
    }
    Ok(())
}

/// The stored state of `accounts` (those without a row stay absent).
async fn load_accounts(
    tx: &mut AnyConnection,
    backend: Backend,
    accounts: &[String],
    cache: &mut Cache,
) -> Result<()> {
    for chunk in accounts.chunks(statement_rows(1)) {
        let sql = format!(
            "SELECT account, citizen_id, salt, balance, entries FROM ledger_accounts WHERE account IN ({})",
            in_list(1, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for a in chunk {
            q = q.bind(a.as_str());
        }
        for r in q.fetch_all(&mut *tx).await? {
            cache.accounts.insert(
                r.try_get("account")?,
                AccountState {
                    citizen_id: r.try_get("citizen_id")?,
                    salt: r.try_get("salt")?,
                    balance: r.try_get("balance")?,
                    entries: r.try_get("entries")?,
                    touched: false,
                },
            );
        }
    }
    Ok(())
}
