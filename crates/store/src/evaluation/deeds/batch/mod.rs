//! A file's partner submissions at once (city data imports), inside the import's transaction.
//!
//! Each row meets exactly the checks of one submission: [`report::prepare`] (fields, resident,
//! standard, trust, points) and then, in file order, what `write_report` decides (a retried key
//! is the deed it made, the same key for another deed a conflict, an automatic submission within
//! its standard's cap, a deed of the same person, category and day flagged as a duplicate). What
//! differs is only how the rows are read and written: residents, standards, keys, the caps'
//! points so far and earlier deeds are read for many rows per statement ([`reads`]), decided in
//! file order ([`decide`]), and deeds, their events, the residents' notifications and
//! access-log rows are written many per statement ([`insert`]). A row the committee must decide
//! (a standard that does not take partners' submissions automatically) is written on its own by
//! `write_report`, in its place in the file.
//!
//! Two ways through:
//! - [`Evaluation::report_batch`] reads what the rows depend on in the import's transaction
//!   itself, then writes them (PostgreSQL always: the caps' residents are locked in it);
//! - on SQLite, [`Evaluation::plan_batch`] decides a batch on a connection of its own while the
//!   transaction writes the batch before ([`Evaluation::write_planned`]). The transaction holds
//!   the database's only write lock from the start ([`Evaluation::hold_writes`]), so that
//!   connection reads the database exactly as the transaction does, less the file's own rows;
//!   a batch is planned so only when none of its rows shares a resident and standard, or a key,
//!   with an earlier row of the file ([`Touched`]), and none goes to the committee. Any other
//!   batch takes the first way, in its place.

mod decide;
mod insert;
mod reads;

use super::report::{self, Prepared, Written};
use super::{lock_resident, refused, NewDeed, Rules};
use crate::evaluation::{Evaluation, Standard};
use crate::registry::CitizenSummary;
use crate::sql::Backend;
use crate::{Result, StoreError};
use decide::{decide, Rows};
use insert::write_rows;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Rows a batch's loops go through before they let a write in flight go on. The next batch
/// is decided on the task that writes this one (`tokio::join!`), and a statement's result waits
/// for that task to send the next statement: a whole batch decided at once (a few
/// milliseconds) would leave the database idle meanwhile.
const YIELD_ROWS: usize = 32;

/// Every [`YIELD_ROWS`] rows (`i` counts them), let the task's other work go on.
pub(crate) async fn let_writes_go_on(i: usize) {
    if i % YIELD_ROWS == YIELD_ROWS - 1 {
        tokio::task::yield_now().await;
    }
}

/// What one row came to: the deed (new, or the one its key made before) and its status, or
/// why it was refused.
pub(crate) type RowOutcome = std::result::Result<(Written, String), StoreError>;

/// A row that passed its checks, at its place in the batch: an automatic submission (goes to
/// publicity with the others) or the committee's.
struct Ready<'a> {
    at: usize,
    new: &'a NewDeed,
    p: Prepared,
}

/// What the file's rows so far may have changed for a later row: each row's resident and
/// standard (its caps' points and its earlier deeds of a day) and its key, as 64-bit
/// fingerprints. Two different rows that share a fingerprint only send a batch the exact way
/// (through the transaction): never a wrong decision.
#[derive(Default)]
pub(crate) struct Touched(HashSet<u64>);

impl Touched {
    /// A row's fingerprints: its resident and standard, and its key (a partner's).
    fn prints(new: &NewDeed) -> impl Iterator<Item = u64> + '_ {
        let print = |what: u8, a: &str, b: &str| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (what, a, b).hash(&mut h);
            h.finish()
        };
        let key = match &new.reporter {
            super::Reporter::Partner { partner_id, key } => {
                Some(print(1, partner_id, key.as_str()))
            }
            _ => None,
        };
        std::iter::once(print(0, &new.citizen_id, &new.standard_code)).chain(key)
    }

    /// Does any of `rows` share a resident and standard, or a key, with a row touched before?
    fn meets(&self, rows: &[NewDeed]) -> bool {
        rows.iter()
            .any(|r| Self::prints(r).any(|p| self.0.contains(&p)))
    }

    fn add(&mut self, rows: &[NewDeed]) {
        for r in rows {
            self.0.extend(Self::prints(r));
        }
    }
}

/// What a batch decided beside the transaction ([`Evaluation::plan_batch`]) writes.
pub(crate) struct Planned {
    rows: Rows,
    now: i64,
}

/// Where [`Evaluation::plan_batch`] sends a batch.
pub(crate) enum Plan {
    /// Decided beside the transaction: what to write there, and each row's outcome, in order.
    Decided(Planned, Vec<RowOutcome>),
    /// To go through [`Evaluation::report_batch`] in its place, with its rows' checks.
    InTurn(Vec<Result<Prepared>>),
}

/// Does a prepared row go to publicity with the others (not to the committee)?
fn automatic(p: &Prepared) -> bool {
    p.automatic && p.points.is_some()
}

/// A batch's rows in file order: the refused ones' outcomes in place, the others as automatic
/// submissions or, in `Err`, the committee's.
fn sorted<'a>(
    rows: &'a [NewDeed],
    prepared: Vec<Result<Prepared>>,
) -> (
    Vec<Option<RowOutcome>>,
    Vec<std::result::Result<Ready<'a>, Ready<'a>>>,
) {
    let mut outcomes: Vec<Option<RowOutcome>> = (0..rows.len()).map(|_| None).collect();
    let mut next = Vec::with_capacity(rows.len());
    for (at, (new, p)) in rows.iter().zip(prepared).enumerate() {
        match p {
            Err(e) => outcomes[at] = Some(Err(e)),
            Ok(p) if automatic(&p) => next.push(Ok(Ready { at, new, p })),
            Ok(p) => next.push(Err(Ready { at, new, p })),
        }
    }
    (outcomes, next)
}

impl Evaluation<'_> {
    /// Submit `rows` (partner submissions, `prepared` by [`Self::prepare_batch`]) in the
    /// caller's transaction; one outcome per row, in order. A failure of the database itself is
    /// the error of the whole batch.
    pub(crate) async fn report_batch(
        &self,
        tx: &mut AnyConnection,
        rows: &[NewDeed],
        prepared: Vec<Result<Prepared>>,
        rules: &Rules,
        now: i64,
    ) -> Result<Vec<RowOutcome>> {
        let (mut outcomes, next) = sorted(rows, prepared);
        let mut group: Vec<Ready<'_>> = Vec::new();
        for n in next {
            match n {
                Ok(a) => group.push(a),
                Err(one) => {
                    // The committee's deeds keep their place: what came before is written first.
                    self.write_automatic(tx, std::mem::take(&mut group), &mut outcomes, now, rules)
                        .await?;
                    outcomes[one.at] = Some(self.write_one(tx, one.new, &one.p, rules, now).await?);
                }
            }
        }
        self.write_automatic(tx, group, &mut outcomes, now, rules)
            .await?;
        Ok(every_row(outcomes))
    }

    /// SQLite: take the database's write lock for `tx` now (a write that changes nothing), so
    /// that from here on no other connection commits until `tx` ends, and a connection reading
    /// beside it sees what `tx` sees, less what `tx` writes. Nothing on PostgreSQL.
    pub(crate) async fn hold_writes(&self, tx: &mut AnyConnection) -> Result<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("UPDATE citizens SET id = id WHERE 0")
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// SQLite: decide `rows` (`prepared` by [`Self::prepare_batch`]) reading on `look`, beside
    /// a transaction that holds the write lock ([`Self::hold_writes`]) and has written, or will
    /// write before this batch, every earlier row of the file, each recorded in `touched` (as
    /// this call records `rows`). [`Plan::InTurn`] when the batch must go through
    /// [`Self::report_batch`] in its place: on PostgreSQL, or when a row shares a resident and
    /// standard, or a key, with an earlier row (`look` does not see the transaction's rows), or
    /// goes to the committee (written on its own, in order).
    pub(crate) async fn plan_batch(
        &self,
        look: &mut AnyConnection,
        rows: &[NewDeed],
        prepared: Vec<Result<Prepared>>,
        (rules, now): (&Rules, i64),
        touched: &mut Touched,
    ) -> Result<Plan> {
        if self.backend != Backend::Sqlite {
            return Ok(Plan::InTurn(prepared));
        }
        let met = touched.meets(rows);
        touched.add(rows);
        if met
            || prepared
                .iter()
                .any(|p| p.as_ref().is_ok_and(|p| !automatic(p)))
        {
            return Ok(Plan::InTurn(prepared));
        }
        let (mut outcomes, next) = sorted(rows, prepared);
        let group: Vec<Ready<'_>> = next.into_iter().flatten().collect();
        let known = self.look_up(look, &group, false).await?;
        let rows = decide(group, known, &mut outcomes, now, rules).await;
        Ok(Plan::Decided(Planned { rows, now }, every_row(outcomes)))
    }

    /// Write a batch [`Self::plan_batch`] decided, in the transaction it was decided beside.
    pub(crate) async fn write_planned(
        &self,
        tx: &mut AnyConnection,
        planned: Planned,
    ) -> Result<()> {
        write_rows(tx, self.backend, planned.rows, planned.now).await
    }

    /// Each row through `report::prepare`, as one submission's checks: its standard (current
    /// version), the partner's trust in it, its resident from `citizens` (looked up by the
    /// caller; a resident absent from it is refused as unknown).
    pub(crate) async fn prepare_batch(
        &self,
        rows: &[NewDeed],
        citizens: &HashMap<String, CitizenSummary>,
        now: i64,
    ) -> Result<Vec<Result<Prepared>>> {
        let mut standards: HashMap<&str, Option<Standard>> = HashMap::new();
        for r in rows {
            if !standards.contains_key(r.standard_code.as_str()) {
                standards.insert(
                    &r.standard_code,
                    self.standard_current(&r.standard_code).await?,
                );
            }
        }
        let mut trusts: HashMap<(String, String), bool> = HashMap::new();
        let mut prepared = Vec::with_capacity(rows.len());
        for (i, new) in rows.iter().enumerate() {
            let_writes_go_on(i).await;
            let standard = standards.get(new.standard_code.as_str()).cloned().flatten();
            let trusted = match (&new.reporter, &standard) {
                (super::Reporter::Partner { partner_id, .. }, Some(s))
                    if s.awarder == "partner" =>
                {
                    let k = (s.id.clone(), partner_id.clone());
                    match trusts.get(&k) {
                        Some(t) => *t,
                        None => {
                            let t = self.standard_trusts(&s.id, partner_id).await?;
                            trusts.insert(k, t);
                            t
                        }
                    }
                }
                _ => false,
            };
            let citizen = citizens.get(new.citizen_id.as_str()).cloned();
            prepared.push(report::prepare(new, citizen, standard, trusted, 1, now));
        }
        Ok(prepared)
    }

    /// One row through `write_report`, in a savepoint so that a refusal leaves nothing.
    async fn write_one(
        &self,
        tx: &mut AnyConnection,
        new: &NewDeed,
        p: &Prepared,
        rules: &Rules,
        now: i64,
    ) -> Result<RowOutcome> {
        use sqlx::Connection;
        let mut sp = tx.begin().await?;
        match self.write_report(&mut sp, new, p, rules, now).await {
            Ok(w) => {
                let id = match &w {
                    Written::New(id) | Written::Replay(id) => id.clone(),
                };
                let status: String = sqlx::query("SELECT status FROM deeds WHERE id = $1")
                    .bind(&id)
                    .fetch_one(&mut *sp)
                    .await?
                    .try_get("status")?;
                sp.commit().await?;
                Ok(Ok((w, status)))
            }
            Err(
                e
                @ (StoreError::Invalid(_) | StoreError::Conflict(_) | StoreError::NotFound { .. }),
            ) => {
                sp.rollback().await?;
                Ok(Err(e))
            }
            Err(StoreError::Database(d)) if StoreError::is_unique_violation(&d) => {
                sp.rollback().await?;
                Ok(Err(StoreError::Database(d)))
            }
            Err(e) => Err(e),
        }
    }

    /// Automatic submissions, in file order, as `write_report` would write them one by one.
    async fn write_automatic(
        &self,
        tx: &mut AnyConnection,
        group: Vec<Ready<'_>>,
        outcomes: &mut [Option<RowOutcome>],
        now: i64,
        rules: &Rules,
    ) -> Result<()> {
        if group.is_empty() {
            return Ok(());
        }
        let known = self.look_up(tx, &group, true).await?;
        let rows = decide(group, known, outcomes, now, rules).await;
        write_rows(tx, self.backend, rows, now).await
    }
}

/// Every row's outcome, in order (each was decided).
fn every_row(outcomes: Vec<Option<RowOutcome>>) -> Vec<RowOutcome> {
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(StoreError::Config("a row was not decided".into()))))
        .collect()
}
