//! The report writer: one task keeps issued reports in batches, each batch one transaction
//! (group commit), so that many households downloading at once cost one durable commit per
//! batch rather than one per report — the same design as the redemption writer. The reads and
//! the signing happen before, in the caller; the writer applies what must hold at the moment
//! of writing: the consent is still in force (its row locked first), one report per consent
//! (`ON CONFLICT DO NOTHING` on the unique consent), and the receipts are written with it.
//! Nothing in a batch fails on a rule, so one request never aborts another's; a batch that
//! fails as a whole is retried one report at a time.

use crate::credit::consents::tell_members;
use crate::registry::Actor;
use crate::{Result, Store, StoreError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A signed report to keep, and whom to tell.
pub(crate) struct ReportWrite {
    pub id: String,
    pub consent_id: String,
    pub household_id: String,
    pub bank_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub tier: i64,
    pub credit_points: i64,
    pub body: String,
    pub members: Vec<String>,
    pub actor: Actor,
}

/// What happened to one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Written, with its receipts.
    New,
    /// Another request kept a report under the consent first: read that one.
    Earlier,
    /// The consent was revoked or lapsed before the report could be kept.
    ConsentClosed,
}

struct Job {
    write: Box<ReportWrite>,
    reply: oneshot::Sender<Result<Kept>>,
}

/// Keeps reports in batches. Cheap to clone; the task ends when every handle is dropped.
#[derive(Clone)]
pub struct ReportWriter {
    tx: mpsc::Sender<Job>,
}

/// Most reports in one transaction.
const MAX_BATCH: usize = 128;
/// Longest a first report waits for others to join its batch.
const MAX_WAIT: Duration = Duration::from_millis(1);

fn stopped() -> StoreError {
    StoreError::Unavailable("the credit report writer has stopped".into())
}

impl ReportWriter {
    /// Start the writer on `store` (inside a Tokio runtime).
    pub fn start(store: Store) -> ReportWriter {
        let (tx, rx) = mpsc::channel(4_096);
        tokio::spawn(run(store, rx));
        ReportWriter { tx }
    }

    pub(crate) async fn keep(&self, write: ReportWrite) -> Result<Kept> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                write: Box::new(write),
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let batch = crate::batch::gather(&mut rx, first, MAX_BATCH, MAX_WAIT).await;
        let writes: Vec<&ReportWrite> = batch.iter().map(|j| j.write.as_ref()).collect();
        match commit(&store, &writes).await {
            Ok(done) => {
                for (job, k) in batch.into_iter().zip(done) {
                    let _ = job.reply.send(Ok(k));
                }
            }
            Err(e) => {
                if batch.len() > 1 {
                    tracing::warn!(error = %e, reports = batch.len(), "credit report batch failed; keeping its reports one by one");
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

/// Keep `writes` in one transaction.
pub(crate) async fn commit(store: &Store, writes: &[&ReportWrite]) -> Result<Vec<Kept>> {
    let mut tx = store.write.begin().await?;
    let mut done = Vec::with_capacity(writes.len());
    for w in writes {
        done.push(keep_one(&mut tx, w).await?);
    }
    tx.commit().await?;
    Ok(done)
}

async fn keep_one(conn: &mut sqlx::AnyConnection, w: &ReportWrite) -> Result<Kept> {
    // The consent's row first: a revocation waits for this batch, or this waits for it.
    let live = sqlx::query(
        "UPDATE credit_consents SET status = status WHERE id = $1 AND status = 'authorised' AND expires_at > $2",
    )
    .bind(&w.consent_id)
    .bind(w.issued_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if live == 0 {
        return Ok(Kept::ConsentClosed);
    }
    let inserted = sqlx::query(
        "INSERT INTO credit_reports (id, consent_id, household_id, bank_id, issued_at, expires_at, tier, credit_points, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (consent_id) DO NOTHING",
    )
    .bind(&w.id)
    .bind(&w.consent_id)
    .bind(&w.household_id)
    .bind(&w.bank_id)
    .bind(w.issued_at)
    .bind(w.expires_at)
    .bind(w.tier)
    .bind(w.credit_points)
    .bind(&w.body)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Kept::Earlier);
    }
    tell_members(
        conn,
        &w.members,
        &w.actor,
        "credit_report_issued",
        w.issued_at,
    )
    .await?;
    Ok(Kept::New)
}
