//! The ledger's single writer. Callers hand it entries with idempotency keys; it gathers them
//! into batches (up to `max_batch`, waiting at most `max_wait` for more) and commits each batch
//! as one transaction holding the entries, their postings, the new balances and credit
//! buckets, the Merkle log's new stored hashes, a signed checkpoint and the log head. A caller's
//! `append` returns only after that commit, with the entry's leaf index.
//!
//! Every batch starts by updating the one `log_head` row, which takes the write lock on SQLite
//! and a row lock on PostgreSQL: two servers sharing a database take turns, and each re-reads
//! the head so that it appends where the other stopped.
//!
//! A batch is four steps: [`load`] what it needs to know, [`decide`] each append (pure logic,
//! unit-tested without a database), [`write`] the rows, then sign the new checkpoint.

mod decide;
mod load;
mod write;

use super::{read_hashes, to_i64, to_u64, NewEntry};
use crate::{now_ms, Result, Store, StoreError};
use decide::{AccountState, Decider, Outcome};
use moralbank_ledger::{Frontier, LogKey};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// Most entries in one transaction.
    pub max_batch: usize,
    /// Longest a first entry waits for others to join its batch.
    pub max_wait: Duration,
    /// Appends waiting for the writer before `append` itself waits.
    pub queue: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            max_batch: 512,
            max_wait: Duration::from_millis(1),
            queue: 16_384,
        }
    }
}

/// The answer to an append.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Appended {
    pub index: u64,
    pub entry_id: String,
    pub at_ms: i64,
    /// True when the key had already been used for this same request: nothing new was written.
    pub replayed: bool,
}

struct Pending {
    key: String,
    entry: NewEntry,
    hash: [u8; 32],
    reply: oneshot::Sender<Result<Appended>>,
}

/// A handle on the writer; cheap to clone.
#[derive(Clone)]
pub struct Sequencer {
    tx: mpsc::Sender<Pending>,
}

impl Sequencer {
    /// Start the writer on `store`, signing checkpoints with `key`. The returned task ends when
    /// every handle is dropped, after finishing what was queued.
    pub async fn start(
        store: Store,
        key: LogKey,
        cfg: SequencerConfig,
    ) -> Result<(Sequencer, tokio::task::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let mut writer = Writer {
            store,
            key: Arc::new(key),
            frontier: None,
            cache: Cache::default(),
        };
        // Load the tree now, so that a damaged log stops the server at start, not at first use.
        let mut conn = writer.store.write.acquire().await?;
        let frontier = load_frontier(&mut conn).await?;
        // Publish the current tree under the current key when no checkpoint of it does: the
        // empty tree of a new log, and the tree as it stands after a key rotation (so receipts
        // issued from now on verify under the key /log/vkey serves).
        let key_id = writer.key.key_id();
        let signed = sqlx::query(
            "SELECT COUNT(*) AS n FROM log_checkpoints WHERE size = $1 AND signer = $2",
        )
        .bind(to_i64(frontier.size())?)
        .bind(&key_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>("n")?;
        if signed == 0 {
            let root = frontier.root();
            let note = writer
                .key
                .sign(frontier.size(), root)
                .map_err(|e| StoreError::Config(format!("signing the checkpoint: {e}")))?;
            sqlx::query(
                "INSERT INTO log_checkpoints (size, signer, root, note, at_ms) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (size, signer) DO NOTHING",
            )
            .bind(to_i64(frontier.size())?)
            .bind(&key_id)
            .bind(root.0.as_slice())
            .bind(&note)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
        }
        writer.frontier = Some(frontier);
        drop(conn);
        let task = tokio::spawn(writer.run(rx, cfg));
        Ok((Sequencer { tx }, task))
    }

    /// Append a reversal that two admins agreed on (the web's four-eyes flow), keyed by its
    /// request. Nothing else can be appended from outside the store: awards come only from
    /// credited deeds ([`crate::evaluation`]'s credit run, under the deed's published standard)
    /// and spending only from redemptions of a scanned code ([`crate::code`]).
    pub async fn append_reversal(&self, key: String, entry: NewEntry) -> Result<Appended> {
        if entry.kind != moralbank_ledger::EntryKind::Reversal {
            return Err(StoreError::invalid(
                "kind",
                "not_a_reversal",
                "only a reversal is appended this way: points are awarded by credited deeds and spent by redemptions",
            ));
        }
        self.append(key, entry).await
    }

    /// Append any entry, bypassing the rules that decide who may award or spend points: for
    /// tests of the writer itself and the benchmarks' load only (the `testing` and `fixtures`
    /// features, which the web layer never has: CI checks).
    #[cfg(any(feature = "testing", feature = "fixtures"))]
    pub async fn append_unruled(&self, key: String, entry: NewEntry) -> Result<Appended> {
        self.append(key, entry).await
    }

    /// Append `entry` under the idempotency key `key` (already scoped to its caller). Returns
    /// after the entry is durably committed. Only the store's rule-keeping paths call it.
    pub(crate) async fn append(&self, key: String, entry: NewEntry) -> Result<Appended> {
        entry.check().map_err(StoreError::Invalid)?;
        let hash = entry.request_hash();
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Pending {
                key,
                entry,
                hash,
                reply,
            })
            .await
            .map_err(|_| StoreError::Unavailable("the ledger writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the ledger writer has stopped".into()))?
    }
}

struct Writer {
    store: Store,
    key: Arc<LogKey>,
    /// The tree as of the last commit; `None` after a failed batch (reloaded from the database).
    frontier: Option<Frontier>,
    /// Citizens and accounts as of the last commit; empty after a failed batch.
    cache: Cache,
}

/// Most accounts the writer keeps in memory between batches; beyond, it starts again empty.
const CACHE_ACCOUNTS_MAX: usize = 100_000;

/// The enrolled citizens and the accounts (balance, entries, salt) the writer has read or
/// written, kept between batches so that a batch reads only those it has not seen. Valid while
/// the log head shows that nothing else changed them since the last commit: the same size (no
/// other writer appended: only appends change balances) and the same count of withdrawals
/// (the only other change: a withdrawal deletes the citizen and the account's salt, and counts
/// itself in `log_head.withdrawals` in its own transaction).
#[derive(Default)]
struct Cache {
    /// The (log size, withdrawals) the contents are valid at; `None` when empty.
    at: Option<(u64, i64)>,
    enrolled: HashSet<String>,
    accounts: HashMap<String, AccountState>,
}

async fn load_frontier(conn: &mut sqlx::AnyConnection) -> Result<Frontier> {
    let row = sqlx::query("SELECT size, root FROM log_head WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let size = to_u64(row.try_get("size")?);
    let root: Vec<u8> = row.try_get("root")?;
    let hashes = read_hashes(conn, &Frontier::indexes(size)).await?;
    let f = Frontier::load(size, &hashes)
        .map_err(|e| StoreError::Integrity(format!("log of {size} entries: {e}")))?;
    if f.root().0.as_slice() != root.as_slice() {
        return Err(StoreError::Integrity(format!(
            "the log head's root at size {size} does not match the stored hashes"
        )));
    }
    Ok(f)
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>, cfg: SequencerConfig) {
        while let Some(first) = rx.recv().await {
            let batch = crate::batch::gather(&mut rx, first, cfg.max_batch, cfg.max_wait).await;
            self.process(batch).await;
        }
    }

    async fn process(&mut self, batch: Vec<Pending>) {
        let n = batch.len();
        match self.commit(&batch).await {
            Ok(outcomes) => {
                for (p, o) in batch.into_iter().zip(outcomes) {
                    let _ = p.reply.send(match o {
                        Outcome::Done(a) => Ok(a),
                        Outcome::Refused(e) => Err(e),
                    });
                }
            }
            Err(e) => {
                tracing::error!(error = %e, entries = n, "ledger batch failed; nothing of it was written");
                self.frontier = None;
                let why = e.to_string();
                for p in batch {
                    let _ = p.reply.send(Err(StoreError::Unavailable(why.clone())));
                }
            }
        }
    }

    async fn commit(&mut self, batch: &[Pending]) -> Result<Vec<Outcome>> {
        let now = now_ms();
        let backend = self.store.backend();
        let mut tx = self.store.write.begin().await?;
        // Take the writer's turn first (see the module comment).
        let head = sqlx::query(
            "UPDATE log_head SET batches = batches + 1, updated_at = $1 WHERE id = 1 RETURNING size, withdrawals",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let size = to_u64(head.try_get("size")?);
        let withdrawals: i64 = head.try_get("withdrawals")?;
        // Taken out for the batch and put back only after its commit, so that a failed batch
        // (any early return) leaves the writer with an empty cache.
        let mut cache = std::mem::take(&mut self.cache);
        if cache.at != Some((size, withdrawals)) || cache.accounts.len() > CACHE_ACCOUNTS_MAX {
            cache = Cache::default();
        }
        let mut frontier = match &self.frontier {
            Some(f) if f.size() == size => f.clone(),
            _ => load_frontier(&mut tx).await?,
        };
        let known = load::load(&mut tx, backend, batch, &mut cache).await?;
        let mut new_salt = || crate::vault::random_bytes(32);
        let (outcomes, rows) = Decider::new(
            now,
            &mut frontier,
            &cache.enrolled,
            &mut cache.accounts,
            &mut new_salt,
        )
        .decide(batch, &known);
        if rows.entries.is_empty() {
            tx.rollback().await?;
            // Nothing was written; what the batch read is still true (an account it made up
            // in memory has no row yet, and gets its salt when first written).
            cache.at = Some((size, withdrawals));
            self.cache = cache;
            return Ok(outcomes);
        }
        rows.write(&mut tx, backend).await?;
        write::write_balances(&mut tx, backend, &cache.accounts, rows.credit, now).await?;
        let size = frontier.size();
        write::sign(&mut tx, &self.key, size, frontier.root(), now).await?;
        tx.commit().await?;
        for s in cache.accounts.values_mut() {
            s.touched = false;
        }
        cache.at = Some((size, withdrawals));
        self.cache = cache;
        self.frontier = Some(frontier);
        Ok(outcomes)
    }
}
