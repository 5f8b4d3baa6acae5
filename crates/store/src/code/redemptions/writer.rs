//! The redemption writer: one task records redemption decisions in batches, each batch one
//! transaction (group commit), so that a busy scanner fleet costs one durable commit per batch
//! rather than one per scan. The reads a decision needs (the benefit, whose code it is, a retry
//! of a key) happen before, in the caller; the writer applies the rules that must hold under
//! concurrency:
//!
//! * a code id opens a quota or points benefit once: the row is inserted with
//!   `ON CONFLICT DO NOTHING` against the unique index of granted, consuming redemptions (and
//!   the unique idempotency key), so a conflict never aborts the batch's transaction;
//! * the quota counter is a conditional increment; when it refuses, the decision row is turned
//!   into a `quota_used` refusal in the same transaction;
//! * the resident's access-log entry is written with the decision.
//!
//! A batch that fails as a whole (a lost connection, a row whose resident was just withdrawn)
//! is retried one request at a time, so that one bad request fails only itself.

use super::{Decision, Prepared, Presented};
use crate::ledger::Sequencer;
use crate::registry::access::insert_access;
use crate::{Actor, Result, Store, StoreError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone)]
pub struct RedeemerConfig {
    /// Most decisions in one transaction.
    pub max_batch: usize,
    /// Longest a first decision waits for others to join its batch.
    pub max_wait: Duration,
    /// Decisions waiting for the writer before `redeem` itself waits.
    pub queue: usize,
}

impl Default for RedeemerConfig {
    fn default() -> Self {
        RedeemerConfig {
            max_batch: 256,
            max_wait: Duration::from_millis(1),
            queue: 8_192,
        }
    }
}

/// One decision for the writer to record, with what the caller's reads decided.
pub(crate) struct Write {
    pub id: String,
    pub idem: String,
    pub hash: [u8; 32],
    pub benefit_id: String,
    /// The partner and scene, for the resident's access log.
    pub actor: Actor,
    pub points: bool,
    /// Whose code it is; `None` when the server does not know the code id.
    pub citizen: Option<String>,
    pub code_id: String,
    /// A quota or points benefit: the code id may open it once.
    pub consumes: bool,
    /// Why the reads already refused it.
    pub refusal: Option<&'static str>,
    /// A quota benefit's period and quota.
    pub quota: Option<(String, i64)>,
    pub at_ms: i64,
}

/// What the writer did with one decision.
enum Written {
    /// `granted`, or why not.
    Decided { reason: &'static str },
    /// The idempotency key was recorded meanwhile (a concurrent retry): read its decision.
    KeyTaken,
}

struct Job {
    write: Box<Write>,
    reply: oneshot::Sender<Result<Written>>,
}

/// Redeems benefits: the reads in the caller, the decisions through the writer task, points
/// through the ledger's sequencer. Cheap to clone.
#[derive(Clone)]
pub struct Redeemer {
    store: Store,
    sequencer: Sequencer,
    tx: mpsc::Sender<Job>,
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the redemption writer has stopped".into())
}

impl Redeemer {
    /// Start the writer on `store`. The returned task ends when every handle is dropped, after
    /// recording what was queued.
    pub fn start(
        store: Store,
        sequencer: Sequencer,
        cfg: RedeemerConfig,
    ) -> (Redeemer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let task = tokio::spawn(run(store.clone(), rx, cfg));
        (
            Redeemer {
                store,
                sequencer,
                tx,
            },
            task,
        )
    }

    /// Redeem `benefit_id` for the holder of a verified code, as partner `partner_id` under its
    /// idempotency `key`. Returns once the decision is durably recorded; a retry with the same
    /// key and request gets the recorded decision (`replayed`), another request under the same
    /// key a conflict.
    pub async fn redeem(
        &self,
        partner_id: &str,
        key: &domain::IdempotencyKey,
        benefit_id: &str,
        p: &Presented,
        now_ms: i64,
    ) -> Result<Decision> {
        // Twice at most: the second time, a key taken meanwhile is read back as a retry.
        for _ in 0..2 {
            let w = match self
                .store
                .code()
                .prepare_redemption(partner_id, key, benefit_id, p, now_ms)
                .await?
            {
                Prepared::Recorded { decision, idem } => {
                    // A points redemption interrupted before its ledger entry: finish it.
                    if decision.granted && decision.ledger_index.is_none() {
                        let points = self
                            .store
                            .code()
                            .benefit(&decision.benefit_id)
                            .await?
                            .is_some_and(|b| b.kind == "points");
                        if points {
                            return self
                                .store
                                .code()
                                .finish_points(&self.sequencer, &idem, &decision.id, partner_id)
                                .await;
                        }
                    }
                    return Ok(decision);
                }
                Prepared::Write(w) => w,
            };
            let (id, idem, benefit_id, points) =
                (w.id.clone(), w.idem.clone(), w.benefit_id.clone(), w.points);
            let (reply, answer) = oneshot::channel();
            self.tx
                .send(Job { write: w, reply })
                .await
                .map_err(|_| stopped())?;
            match answer.await.map_err(|_| stopped())?? {
                Written::KeyTaken => continue,
                Written::Decided { reason } => {
                    if reason == "granted" && points {
                        return self
                            .store
                            .code()
                            .finish_points(&self.sequencer, &idem, &id, partner_id)
                            .await;
                    }
                    return Ok(Decision::new(&id, &benefit_id, reason, None));
                }
            }
        }
        Err(StoreError::Unavailable(
            "the redemption's key changed hands twice while it was recorded; retry".into(),
        ))
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>, cfg: RedeemerConfig) {
    while let Some(first) = rx.recv().await {
        let batch = crate::batch::gather(&mut rx, first, cfg.max_batch, cfg.max_wait).await;
        let writes: Vec<&Write> = batch.iter().map(|j| j.write.as_ref()).collect();
        match commit(&store, &writes).await {
            Ok(done) => {
                for (job, w) in batch.into_iter().zip(done) {
                    let _ = job.reply.send(Ok(w));
                }
            }
            Err(e) => {
                if batch.len() > 1 {
                    tracing::warn!(error = %e, decisions = batch.len(), "redemption batch failed; recording its decisions one by one");
                }
                for job in batch {
                    let one = commit(&store, &[job.write.as_ref()])
                        .await
                        .and_then(|mut d| d.pop().ok_or_else(stopped));
                    let _ = job.reply.send(one);
                }
            }
        }
    }
}

/// Record `writes` in one transaction.
async fn commit(store: &Store, writes: &[&Write]) -> Result<Vec<Written>> {
    let mut tx = store.write.begin().await?;
    let mut done = Vec::with_capacity(writes.len());
    for w in writes {
        done.push(record(&mut tx, w).await?);
    }
    tx.commit().await?;
    Ok(done)
}

async fn insert_row(
    conn: &mut sqlx::AnyConnection,
    w: &Write,
    granted: bool,
    consumes: bool,
    reason: &str,
) -> Result<bool> {
    Ok(sqlx::query(
        "INSERT INTO redemptions (id, idem_key, request_hash, benefit_id, citizen_id, code_id, consumes, granted, reason, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(&w.id)
    .bind(&w.idem)
    .bind(w.hash.as_slice())
    .bind(&w.benefit_id)
    .bind(w.citizen.as_deref())
    .bind(&w.code_id)
    .bind(i64::from(consumes))
    .bind(i64::from(granted))
    .bind(reason)
    .bind(w.at_ms)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

async fn key_taken(conn: &mut sqlx::AnyConnection, idem: &str) -> Result<bool> {
    Ok(
        sqlx::query("SELECT id FROM redemptions WHERE idem_key = $1")
            .bind(idem)
            .fetch_optional(&mut *conn)
            .await?
            .is_some(),
    )
}

/// Record one decision inside the batch's transaction. Nothing here may fail on a rule (a
/// failed statement aborts a PostgreSQL transaction): conflicts are answered by
/// `ON CONFLICT DO NOTHING` and read back.
async fn record(conn: &mut sqlx::AnyConnection, w: &Write) -> Result<Written> {
    let mut reason = w.refusal.unwrap_or("granted");
    if !insert_row(conn, w, reason == "granted", w.consumes, reason).await? {
        if key_taken(conn, &w.idem).await? {
            return Ok(Written::KeyTaken);
        }
        // The only other unique rule: this code id already opened a quota or points benefit.
        reason = "code_used";
        if !insert_row(conn, w, false, false, reason).await? {
            return Ok(Written::KeyTaken);
        }
    } else if reason == "granted" {
        if let (Some((period, quota)), Some(citizen)) = (&w.quota, &w.citizen) {
            let counted = sqlx::query(
                "INSERT INTO benefit_usage (citizen_id, benefit_id, period, used) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (citizen_id, benefit_id, period) DO UPDATE SET used = benefit_usage.used + 1 \
                 WHERE benefit_usage.used < $4 RETURNING used",
            )
            .bind(citizen)
            .bind(&w.benefit_id)
            .bind(period)
            .bind(*quota)
            .fetch_optional(&mut *conn)
            .await?;
            if counted.is_none() {
                reason = "quota_used";
                sqlx::query("UPDATE redemptions SET granted = 0, reason = $1 WHERE id = $2")
                    .bind(reason)
                    .bind(&w.id)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    // The scan goes into the resident's access log with the decision.
    if let Some(c) = &w.citizen {
        insert_access(conn, c, &w.actor, "redemption", w.at_ms).await?;
    }
    Ok(Written::Decided { reason })
}
