//! The writer's write and sign steps: the batch's rows in multi-row INSERTs (bound by position
//! on SQLite, see [`crate::sql::positional`]), the accounts and credit months it changed, then
//! the signed checkpoint of the new tree and the log head.

use super::decide::{AccountState, Rows};
use crate::ledger::to_i64;
use crate::sql::{multi_insert, positional, statement_rows};
use crate::{Backend, Result, StoreError};
use moralbank_ledger::{Hash, LogKey};
use std::collections::HashMap;

impl Rows<'_> {
    pub(super) async fn write(&self, tx: &mut sqlx::AnyConnection, backend: Backend) -> Result<()> {
        let head =
            "INSERT INTO ledger_entries (idx, id, idem_key, request_hash, kind, rule, reason, \
             reference, approvers, reverses, at_ms, leaf)";
        for chunk in self.entries.chunks(statement_rows(12)) {
            let sql = multi_insert(head, 12, chunk.len());
            let sql = positional(backend, sql);
            let mut q = sqlx::query(&sql);
            for (p, a, leaf) in chunk {
                q = q
                    .bind(to_i64(a.index)?)
                    .bind(a.entry_id.as_str())
                    .bind(p.key.as_str())
                    .bind(p.hash.as_slice())
                    .bind(p.entry.kind.as_str())
                    .bind(p.entry.rule.as_str())
                    .bind(p.entry.reason.trim())
                    .bind(p.entry.reference.as_str())
                    .bind(p.entry.approvers.join(" "))
                    .bind(p.entry.reverses.map(to_i64).transpose()?)
                    .bind(a.at_ms)
                    .bind(leaf.as_slice());
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO ledger_postings (entry_idx, n, account, citizen_id, amount)";
        for chunk in self.postings.chunks(statement_rows(5)) {
            let sql = multi_insert(head, 5, chunk.len());
            let sql = positional(backend, sql);
            let mut q = sqlx::query(&sql);
            for (idx, n, account, citizen, amount) in chunk {
                q = q
                    .bind(to_i64(*idx)?)
                    .bind(*n)
                    .bind(account.as_str())
                    .bind(citizen.as_deref())
                    .bind(*amount);
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO log_hashes (id, hash)";
        for chunk in self.hashes.chunks(statement_rows(2)) {
            let sql = multi_insert(head, 2, chunk.len());
            let sql = positional(backend, sql);
            let mut q = sqlx::query(&sql);
            for (id, h) in chunk {
                q = q.bind(to_i64(*id)?).bind(h.0.as_slice());
            }
            q.execute(&mut *tx).await?;
        }
        Ok(())
    }
}

/// Upsert the accounts the batch touched and add its credit points per citizen and month.
pub(super) async fn write_balances(
    tx: &mut sqlx::AnyConnection,
    backend: Backend,
    accounts: &HashMap<String, AccountState>,
    credit: HashMap<(String, i64), i64>,
    now: i64,
) -> Result<()> {
    let touched: Vec<(&String, &AccountState)> =
        accounts.iter().filter(|(_, s)| s.touched).collect();
    let head =
        "INSERT INTO ledger_accounts (account, citizen_id, salt, balance, entries, updated_at)";
    for chunk in touched.chunks(statement_rows(6)) {
        let sql = format!(
            "{} ON CONFLICT (account) DO UPDATE SET balance = excluded.balance, \
             entries = excluded.entries, updated_at = excluded.updated_at",
            multi_insert(head, 6, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for (a, s) in chunk {
            q = q
                .bind(a.as_str())
                .bind(s.citizen_id.as_deref())
                .bind(s.salt.as_deref())
                .bind(s.balance)
                .bind(s.entries)
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    let credit: Vec<((String, i64), i64)> = credit.into_iter().collect();
    let head = "INSERT INTO ledger_credit (citizen_id, month, points)";
    for chunk in credit.chunks(statement_rows(3)) {
        let sql = format!(
            "{} ON CONFLICT (citizen_id, month) DO UPDATE SET points = ledger_credit.points + excluded.points",
            multi_insert(head, 3, chunk.len())
        );
        let sql = positional(backend, sql);
        let mut q = sqlx::query(&sql);
        for ((c, m), pts) in chunk {
            q = q.bind(c.as_str()).bind(*m).bind(*pts);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Sign the checkpoint of the tree at `size` with `root` and make it the log head.
pub(super) async fn sign(
    tx: &mut sqlx::AnyConnection,
    key: &LogKey,
    size: u64,
    root: Hash,
    now: i64,
) -> Result<()> {
    let note = key
        .sign(size, root)
        .map_err(|e| StoreError::Config(format!("signing the checkpoint: {e}")))?;
    sqlx::query(
        "INSERT INTO log_checkpoints (size, signer, root, note, at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(to_i64(size)?)
    .bind(key.key_id())
    .bind(root.0.as_slice())
    .bind(&note)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE log_head SET size = $1, root = $2 WHERE id = 1")
        .bind(to_i64(size)?)
        .bind(root.0.as_slice())
        .execute(&mut *tx)
        .await?;
    Ok(())
}
