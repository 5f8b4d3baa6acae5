//! The ledger's single writer. Callers hand it entries with idempotency keys; it gathers them
//! into batches (up to `max_batch`, waiting at most `max_wait` for more) and commits each batch
//! as one transaction holding the entries, their postings, the new balances and credit
//! buckets, the Merkle log's new stored hashes, a signed checkpoint and the log head. A caller's
//! `append` returns only after that commit, with the entry's leaf index.
//!
//! Every batch starts by updating the one `log_head` row, which takes the write lock on SQLite
//! and a row lock on PostgreSQL: two servers sharing a database take turns, and each re-reads
//! the head so that it appends where the other stopped.

use super::{citizen_account, in_list, month_of, read_hashes, to_i64, to_u64, NewEntry};
use crate::seed::{multi_insert, statement_rows};
use crate::{now_ms, Backend, Result, Store, StoreError};
use domain::FieldError;
use moralbank_ledger::{
    details_commitment, leaf_hash, AccountRef, Commitment, EntryKind, Frontier, LeafEntry, LogKey,
    Posting,
};
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

    /// Append `entry` under the idempotency key `key` (already scoped to its caller, see
    /// [`super::scoped_key`]). Returns after the entry is durably committed.
    pub async fn append(&self, key: String, entry: NewEntry) -> Result<Appended> {
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

/// What became of one pending append.
enum Outcome {
    Done(Appended),
    Refused(StoreError),
}

/// The effect of an accepted entry on one citizen, resolved before writing.
struct Effect {
    citizen_id: String,
    counter: String,
    /// Signed change of the citizen's balance.
    delta: i64,
    /// Change of credit points, in the month it counts for.
    credit: Option<(i64, i64)>,
}

/// An earlier award, as a reversal needs it.
struct Original {
    kind: String,
    citizen_id: String,
    counter: String,
    amount: i64,
    at_ms: i64,
    reversed_by: Option<i64>,
}

#[derive(Clone)]
struct AccountState {
    citizen_id: Option<String>,
    salt: Option<Vec<u8>>,
    balance: i64,
    entries: i64,
    touched: bool,
}

fn display_key(scoped: &str) -> &str {
    scoped.split_once('/').map_or(scoped, |(_, k)| k)
}

fn refuse(field: &'static str, code: &'static str, detail: String) -> StoreError {
    StoreError::Conflict(FieldError::new(field, code, detail))
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

        // What the database already knows: keys used before, reversed originals, accounts.
        let keys: Vec<&str> = batch.iter().map(|p| p.key.as_str()).collect();
        let mut known: HashMap<String, ([u8; 32], Appended)> = HashMap::new();
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
                known.insert(
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
        let wanted: Vec<i64> = batch
            .iter()
            .filter_map(|p| p.entry.reverses)
            .map(to_i64)
            .collect::<Result<_>>()?;
        let mut originals: HashMap<u64, Original> = HashMap::new();
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
                originals.insert(
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
        let mut citizens: HashSet<String> = batch
            .iter()
            .filter(|p| p.entry.kind != EntryKind::Reversal)
            .map(|p| p.entry.citizen_id.clone())
            .collect();
        citizens.extend(originals.values().map(|o| o.citizen_id.clone()));
        let citizens: Vec<String> = citizens.into_iter().collect();
        let unseen: Vec<&String> = citizens
            .iter()
            .filter(|c| !cache.enrolled.contains(*c))
            .collect();
        let enrolled = &mut cache.enrolled;
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
                enrolled.insert(r.try_get("id")?);
            }
        }
        let mut accounts_wanted: Vec<String> =
            citizens.iter().map(|c| citizen_account(c)).collect();
        accounts_wanted.extend(batch.iter().map(|p| p.entry.counter_account.clone()));
        accounts_wanted.extend(originals.values().map(|o| o.counter.clone()));
        accounts_wanted.sort();
        accounts_wanted.dedup();
        accounts_wanted.retain(|a| !cache.accounts.contains_key(a));
        let accounts = &mut cache.accounts;
        for chunk in accounts_wanted.chunks(statement_rows(1)) {
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
                accounts.insert(
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

        // Decide each append in order, against the state the earlier ones leave.
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut in_batch: HashMap<&str, ([u8; 32], Appended)> = HashMap::new();
        let mut reversed_now: HashSet<u64> = HashSet::new();
        let mut rows = Rows::default();
        let mut credit: HashMap<(String, i64), i64> = HashMap::new();
        for p in batch {
            if let Some((h, a)) = in_batch.get(p.key.as_str()).or_else(|| known.get(&p.key)) {
                outcomes.push(if *h == p.hash {
                    Outcome::Done(Appended {
                        replayed: true,
                        ..a.clone()
                    })
                } else {
                    Outcome::Refused(refuse(
                        "Idempotency-Key",
                        "idempotency_conflict",
                        format!(
                            "key '{}' was already used for a different request (entry {})",
                            display_key(&p.key),
                            a.index
                        ),
                    ))
                });
                continue;
            }
            let effect = match self.resolve(p, &originals, &reversed_now) {
                Ok(e) => e,
                Err(e) => {
                    outcomes.push(Outcome::Refused(e));
                    continue;
                }
            };
            if !enrolled.contains(&effect.citizen_id) {
                outcomes.push(Outcome::Refused(StoreError::NotFound { what: "citizen" }));
                continue;
            }
            let acct = citizen_account(&effect.citizen_id);
            let state = accounts
                .entry(acct.clone())
                .or_insert_with(|| AccountState {
                    citizen_id: Some(effect.citizen_id.clone()),
                    salt: Some(crate::vault::random_bytes(32)),
                    balance: 0,
                    entries: 0,
                    touched: false,
                });
            if state.balance + effect.delta < 0 {
                outcomes.push(Outcome::Refused(StoreError::Invalid(
                    FieldError::new(
                        "amount",
                        "insufficient_balance",
                        format!(
                            "the balance is {} points, {} are needed",
                            state.balance, -effect.delta
                        ),
                    )
                    .into(),
                )));
                continue;
            }
            let Some(salt) = state
                .salt
                .as_deref()
                .and_then(|s| <[u8; 32]>::try_from(s).ok())
            else {
                outcomes.push(Outcome::Refused(StoreError::NotFound { what: "citizen" }));
                continue;
            };
            let index = frontier.size();
            let leaf = LeafEntry {
                entry_id: domain::new_id(),
                kind: p.entry.kind,
                rule: p.entry.rule.clone(),
                reference: p.entry.reference.clone(),
                postings: vec![
                    Posting {
                        account: AccountRef::Citizen(Commitment::new(&salt, &effect.citizen_id)),
                        amount: effect.delta,
                    },
                    Posting {
                        account: AccountRef::System(effect.counter.clone()),
                        amount: -effect.delta,
                    },
                ],
                approvers: p.entry.approvers.clone(),
                at_ms: now,
                details: details_commitment(&salt, p.entry.reason.trim()),
            };
            let bytes = match leaf.encode() {
                Ok(b) => b,
                Err(e) => {
                    outcomes.push(Outcome::Refused(StoreError::invalid(
                        "entry",
                        "invalid_format",
                        &e.to_string(),
                    )));
                    continue;
                }
            };
            // Only an entry that encodes changes the batch's state.
            state.balance += effect.delta;
            state.entries += 1;
            state.touched = true;
            let counter = accounts
                .entry(effect.counter.clone())
                .or_insert_with(|| AccountState {
                    citizen_id: None,
                    salt: None,
                    balance: 0,
                    entries: 0,
                    touched: false,
                });
            counter.balance -= effect.delta;
            counter.entries += 1;
            counter.touched = true;
            if let Some((month, pts)) = effect.credit {
                *credit
                    .entry((effect.citizen_id.clone(), month))
                    .or_insert(0) += pts;
            }
            rows.hashes.extend(frontier.append(leaf_hash(&bytes)));
            if let Some(of) = p.entry.reverses {
                reversed_now.insert(of);
            }
            let appended = Appended {
                index,
                entry_id: leaf.entry_id.clone(),
                at_ms: now,
                replayed: false,
            };
            rows.postings.push((
                index,
                0,
                acct,
                Some(effect.citizen_id.clone()),
                effect.delta,
            ));
            rows.postings
                .push((index, 1, effect.counter.clone(), None, -effect.delta));
            rows.entries.push((p, appended.clone(), bytes));
            in_batch.insert(p.key.as_str(), (p.hash, appended.clone()));
            outcomes.push(Outcome::Done(appended));
        }
        if rows.entries.is_empty() {
            tx.rollback().await?;
            // Nothing was written; what the batch read is still true (an account it made up
            // in memory has no row yet, and gets its salt when first written).
            cache.at = Some((size, withdrawals));
            self.cache = cache;
            return Ok(outcomes);
        }

        rows.write(&mut tx, backend).await?;
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
        let size = frontier.size();
        let root = frontier.root();
        let note = self
            .key
            .sign(size, root)
            .map_err(|e| StoreError::Config(format!("signing the checkpoint: {e}")))?;
        sqlx::query(
            "INSERT INTO log_checkpoints (size, signer, root, note, at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(to_i64(size)?)
        .bind(self.key.key_id())
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
        tx.commit().await?;
        for s in cache.accounts.values_mut() {
            s.touched = false;
        }
        cache.at = Some((size, withdrawals));
        self.cache = cache;
        self.frontier = Some(frontier);
        Ok(outcomes)
    }

    /// Who and what an append changes, or why it cannot be appended.
    fn resolve(
        &self,
        p: &Pending,
        originals: &HashMap<u64, Original>,
        reversed_now: &HashSet<u64>,
    ) -> std::result::Result<Effect, StoreError> {
        let e = &p.entry;
        match e.kind {
            EntryKind::Award => Ok(Effect {
                citizen_id: e.citizen_id.clone(),
                counter: e.counter_account.clone(),
                delta: e.amount,
                credit: Some((month_of(now_ms()), e.amount)),
            }),
            EntryKind::Redemption => Ok(Effect {
                citizen_id: e.citizen_id.clone(),
                counter: e.counter_account.clone(),
                delta: -e.amount,
                credit: None,
            }),
            EntryKind::Reversal => {
                let of = e.reverses.unwrap_or(u64::MAX);
                let Some(o) = originals.get(&of) else {
                    return Err(StoreError::NotFound { what: "entry" });
                };
                if o.kind != "award" {
                    return Err(refuse(
                        "reverses",
                        "not_reversible",
                        format!("entry {of} is a {}; only an award can be reversed", o.kind),
                    ));
                }
                if let Some(r) = o.reversed_by {
                    return Err(refuse(
                        "reverses",
                        "already_reversed",
                        format!("entry {of} was already reversed by entry {r}"),
                    ));
                }
                if reversed_now.contains(&of) {
                    return Err(refuse(
                        "reverses",
                        "already_reversed",
                        format!("entry {of} is already being reversed"),
                    ));
                }
                Ok(Effect {
                    citizen_id: o.citizen_id.clone(),
                    counter: o.counter.clone(),
                    delta: -o.amount,
                    credit: Some((month_of(o.at_ms), -o.amount)),
                })
            }
        }
    }
}

/// The rows a batch inserts.
#[derive(Default)]
struct Rows<'a> {
    entries: Vec<(&'a Pending, Appended, Vec<u8>)>,
    postings: Vec<(u64, i64, String, Option<String>, i64)>,
    hashes: Vec<(u64, moralbank_ledger::Hash)>,
}

impl Rows<'_> {
    async fn write(&self, tx: &mut sqlx::AnyConnection, backend: Backend) -> Result<()> {
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

/// `sql` as `backend` binds it fastest. SQLite binds a `$N` parameter by looking its name up in
/// the list of all of a statement's names, so binding a statement costs the square of its
/// parameters (measured: 16% of the writer's CPU at 252 parameters per statement); anonymous
/// `?` parameters are bound by position. Only for statements whose `$N` appear once each, in
/// order, outside string literals: those made by `multi_insert` and `in_list`.
pub(crate) fn positional(backend: Backend, sql: String) -> String {
    if backend != Backend::Sqlite {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.next_if(char::is_ascii_digit).is_some() {}
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_statements_bind_by_position() {
        let sql = multi_insert("INSERT INTO t (a, b)", 2, 2);
        assert_eq!(
            positional(Backend::Sqlite, sql.clone()),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?)"
        );
        assert_eq!(positional(Backend::Postgres, sql.clone()), sql);
        assert_eq!(
            positional(
                Backend::Sqlite,
                format!("SELECT x FROM t WHERE y IN ({})", in_list(1, 12))
            ),
            format!("SELECT x FROM t WHERE y IN ({})", ["?"; 12].join(","))
        );
    }
}
