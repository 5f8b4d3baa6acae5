//! What `moralbank bench ledger` needs from the database besides the sequencer: citizens to
//! award, the writer's batch counter, and the baseline — the ledger's own entry and posting
//! rows copied into plain tables in ordinary transactions, without the sequencer, hashing,
//! balances, stored hashes or checkpoints.
//!
//! The plain tables (`bench_plain_entries`, `bench_plain_postings`) have the same columns,
//! keys and indexes as `ledger_entries` and `ledger_postings`, but no foreign keys and no
//! triggers. They are made by [`Store::bench_plain_reset`] and removed by
//! [`Store::bench_plain_drop`]; nothing else reads them.

use super::sequencer::positional;
use super::{to_i64, to_u64};
use crate::seed::{multi_insert, statement_rows};
use crate::StoreError;
use crate::{Backend, Result, Store};
use moralbank_ledger::{leaf_hash, Frontier, Hash};
use sqlx::Row;

/// One posting of a [`PlainEntry`]: (n, account, citizen id, amount).
pub type PlainPosting = (i64, String, Option<String>, i64);

/// One ledger entry with its postings, as stored.
#[derive(Debug, Clone)]
pub struct PlainEntry {
    pub idx: u64,
    pub id: String,
    pub idem_key: String,
    pub request_hash: Vec<u8>,
    pub kind: String,
    pub rule: String,
    pub reason: String,
    pub reference: String,
    pub approvers: String,
    pub reverses: Option<i64>,
    pub at_ms: i64,
    pub leaf: Vec<u8>,
    pub postings: Vec<PlainPosting>,
}

const PLAIN_TABLES: [&str; 2] = ["bench_plain_postings", "bench_plain_entries"];

impl Store {
    /// Up to `limit` citizen ids, oldest enrolment first.
    pub async fn some_citizen_ids(&self, limit: u32) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM citizens ORDER BY enrolled_at, id LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("id")?))
            .collect()
    }

    /// How many batches the ledger's writer has run (`log_head.batches`).
    pub async fn ledger_batches(&self) -> Result<u64> {
        let row = sqlx::query("SELECT batches FROM log_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        Ok(to_u64(row.try_get("batches")?))
    }

    /// Ledger entries `from..from + limit` in index order, with their postings.
    pub async fn bench_ledger_rows(&self, from: u64, limit: u32) -> Result<Vec<PlainEntry>> {
        let (lo, hi) = (
            to_i64(from)?,
            to_i64(from.saturating_add(u64::from(limit)))?,
        );
        let rows = sqlx::query(
            "SELECT idx, id, idem_key, request_hash, kind, rule, reason, reference, approvers, \
             reverses, at_ms, leaf FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.read)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(PlainEntry {
                    idx: to_u64(r.try_get("idx")?),
                    id: r.try_get("id")?,
                    idem_key: r.try_get("idem_key")?,
                    request_hash: r.try_get("request_hash")?,
                    kind: r.try_get("kind")?,
                    rule: r.try_get("rule")?,
                    reason: r.try_get("reason")?,
                    reference: r.try_get("reference")?,
                    approvers: r.try_get("approvers")?,
                    reverses: r.try_get("reverses")?,
                    at_ms: r.try_get("at_ms")?,
                    leaf: r.try_get("leaf")?,
                    postings: Vec::with_capacity(2),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let postings = sqlx::query(
            "SELECT entry_idx, n, account, citizen_id, amount FROM ledger_postings \
             WHERE entry_idx >= $1 AND entry_idx < $2 ORDER BY entry_idx, n",
        )
        .bind(lo)
        .bind(hi)
        .fetch_all(&self.read)
        .await?;
        let mut i = 0;
        for p in &postings {
            let idx = to_u64(p.try_get("entry_idx")?);
            while i < out.len() && out[i].idx < idx {
                i += 1;
            }
            if let Some(e) = out.get_mut(i).filter(|e| e.idx == idx) {
                e.postings.push((
                    p.try_get("n")?,
                    p.try_get("account")?,
                    p.try_get("citizen_id")?,
                    p.try_get("amount")?,
                ));
            }
        }
        Ok(out)
    }

    /// (Re)create the empty plain tables of the baseline.
    pub async fn bench_plain_reset(&self) -> Result<()> {
        self.bench_plain_drop().await?;
        // Keyed and indexed as migration 0007 left ledger_entries and ledger_postings.
        let (blob, idx_key, without_rowid) = match self.backend {
            Backend::Sqlite => ("BLOB", "INTEGER PRIMARY KEY", " WITHOUT ROWID"),
            Backend::Postgres => ("BYTEA", "BIGINT PRIMARY KEY", ""),
        };
        let ddl = [
            format!(
                "CREATE TABLE bench_plain_entries (idx {idx_key}, id TEXT NOT NULL, \
                 idem_key TEXT NOT NULL UNIQUE, request_hash {blob} NOT NULL, kind TEXT NOT NULL, \
                 rule TEXT NOT NULL, reason TEXT NOT NULL, reference TEXT NOT NULL, \
                 approvers TEXT NOT NULL, reverses BIGINT, at_ms BIGINT NOT NULL, \
                 leaf {blob} NOT NULL)"
            ),
            "CREATE UNIQUE INDEX bench_plain_entries_reverses ON bench_plain_entries(reverses) \
             WHERE reverses IS NOT NULL"
                .into(),
            format!(
                "CREATE TABLE bench_plain_postings (entry_idx BIGINT NOT NULL, n BIGINT NOT NULL, \
                 account TEXT NOT NULL, citizen_id TEXT, amount BIGINT NOT NULL, \
                 PRIMARY KEY (entry_idx, n)){without_rowid}"
            ),
            "CREATE INDEX bench_plain_postings_citizen ON bench_plain_postings(citizen_id, entry_idx) \
             WHERE citizen_id IS NOT NULL"
                .into(),
            "CREATE INDEX bench_plain_postings_account ON bench_plain_postings(account, entry_idx) \
             WHERE citizen_id IS NULL"
                .into(),
        ];
        let mut tx = self.write.begin().await?;
        for sql in &ddl {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Remove the baseline's plain tables, if present.
    pub async fn bench_plain_drop(&self) -> Result<()> {
        for t in PLAIN_TABLES {
            sqlx::query(&format!("DROP TABLE IF EXISTS {t}"))
                .execute(&self.write)
                .await?;
        }
        Ok(())
    }

    /// Insert `entries` and their postings into the plain tables in one transaction, with the
    /// same statements as the sequencer's (multi-row INSERTs of at most 256 parameters, bound
    /// the same way).
    pub async fn bench_plain_insert(&self, entries: &[PlainEntry]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let head = "INSERT INTO bench_plain_entries (idx, id, idem_key, request_hash, kind, rule, \
                    reason, reference, approvers, reverses, at_ms, leaf)";
        for chunk in entries.chunks(statement_rows(12)) {
            let sql = positional(self.backend, multi_insert(head, 12, chunk.len()));
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(to_i64(e.idx)?)
                    .bind(e.id.as_str())
                    .bind(e.idem_key.as_str())
                    .bind(e.request_hash.as_slice())
                    .bind(e.kind.as_str())
                    .bind(e.rule.as_str())
                    .bind(e.reason.as_str())
                    .bind(e.reference.as_str())
                    .bind(e.approvers.as_str())
                    .bind(e.reverses)
                    .bind(e.at_ms)
                    .bind(e.leaf.as_slice());
            }
            q.execute(&mut *tx).await?;
        }
        let postings: Vec<(u64, &PlainPosting)> = entries
            .iter()
            .flat_map(|e| e.postings.iter().map(move |p| (e.idx, p)))
            .collect();
        let head = "INSERT INTO bench_plain_postings (entry_idx, n, account, citizen_id, amount)";
        for chunk in postings.chunks(statement_rows(5)) {
            let sql = positional(self.backend, multi_insert(head, 5, chunk.len()));
            let mut q = sqlx::query(&sql);
            for (idx, (n, account, citizen, amount)) in chunk {
                q = q
                    .bind(to_i64(*idx)?)
                    .bind(*n)
                    .bind(account.as_str())
                    .bind(citizen.as_deref())
                    .bind(*amount);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The bytes of synthetic leaf `i` of [`Store::bench_seed_log`].
pub fn synthetic_leaf(i: u64) -> Vec<u8> {
    format!("moralbank bench synthetic leaf {i}").into_bytes()
}

/// Bound parameters per INSERT when filling a synthetic log: bound by position on SQLite (see
/// [`positional`]), so far above the seeder's cap costs nothing extra.
const SEED_LOG_PARAMS: usize = 8_192;

/// Leaves per transaction when filling a synthetic log.
const SEED_LOG_TX_LEAVES: u64 = 1 << 16;

impl Store {
    /// Fill an empty log with `leaves` synthetic leaves ([`synthetic_leaf`]): their stored hashes,
    /// computed by the writer's own tree code ([`Frontier::append`]), inserted in bulk into
    /// `log_hashes`, and the log head set to their size and root. No entries, postings,
    /// balances or checkpoints: the database is good only for benchmarking proofs afterwards.
    /// `progress` hears the leaves written so far after each transaction.
    pub async fn bench_seed_log(&self, leaves: u64, mut progress: impl FnMut(u64)) -> Result<Hash> {
        let size = self.log_head().await?.size;
        let stored: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM (SELECT id FROM log_hashes LIMIT 1) AS t")
                .fetch_one(&self.read)
                .await?
                .try_get("n")?;
        if size != 0 || stored != 0 {
            return Err(StoreError::Config(format!(
                "the log is not empty ({size} entries, {stored} stored hashes): use a new database"
            )));
        }
        let rows = (SEED_LOG_PARAMS / 2).max(1);
        let head = "INSERT INTO log_hashes (id, hash)";
        let full = positional(self.backend, multi_insert(head, 2, rows));
        let mut frontier = Frontier::new();
        let mut next = 0u64;
        while next < leaves {
            let end = (next + SEED_LOG_TX_LEAVES).min(leaves);
            let mut hashes = Vec::with_capacity(2 * (end - next) as usize + 64);
            for i in next..end {
                hashes.extend(frontier.append(leaf_hash(&synthetic_leaf(i))));
            }
            let mut tx = self.write.begin().await?;
            for chunk in hashes.chunks(rows) {
                let partial;
                let sql = if chunk.len() == rows {
                    &full
                } else {
                    partial = positional(self.backend, multi_insert(head, 2, chunk.len()));
                    &partial
                };
                let mut q = sqlx::query(sql);
                for (id, h) in chunk {
                    q = q.bind(to_i64(*id)?).bind(h.0.as_slice());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            next = end;
            progress(next);
        }
        let root = frontier.root();
        sqlx::query("UPDATE log_head SET size = $1, root = $2, updated_at = $3 WHERE id = 1")
            .bind(to_i64(leaves)?)
            .bind(root.0.to_vec())
            .bind(crate::now_ms())
            .execute(&self.write)
            .await?;
        Ok(root)
    }

    /// True when the log has leaves but the ledger no entries: a log [`Store::bench_seed_log`]
    /// filled.
    pub async fn bench_log_is_synthetic(&self) -> Result<bool> {
        let size = self.log_head().await?.size;
        let entries: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ledger_entries")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        Ok(size > 0 && entries == 0)
    }
}
