//! The points ledger and its transparency log, as stored.
//!
//! Writes go through one [`Sequencer`] (see [`sequencer`]); this module holds the types callers
//! build entries with, the validation every entry passes before it reaches the sequencer, and
//! the reads: balances and credit points, a citizen's entries, totals, log tiles, proofs and
//! receipts. [`audit`] recomputes everything from the stored rows.

pub mod audit;
pub mod sequencer;
mod witnessed;

use crate::sql::in_list;
use crate::{Result, StoreError};
pub use domain::time::month_of;
use domain::time::months_before;
use moralbank_ledger::{Hash, Plan, Receipt, TilePath};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

pub use moralbank_ledger::entry::{NewEntry, AMOUNT_MAX, REASON_CHARS_MAX};
pub use moralbank_ledger::EntryKind;
pub use sequencer::{Appended, Sequencer, SequencerConfig};
pub use witnessed::{LatestCosignature, WitnessedCheckpoint};

crate::facet!(Ledger, ledger, "The ledger's part of the store (`store.ledger()`): balances, entries, the log's tiles, proofs and receipts, reversal requests, the audit. Appends go through the [`ledger::Sequencer`].");

/// Credit points count what was earned in this many calendar months, this one included.
pub const CREDIT_MONTHS: i64 = 36;

/// The first month that still counts towards credit points at `now_ms`.
pub fn credit_window_start(now_ms: i64) -> i64 {
    months_before(month_of(now_ms), CREDIT_MONTHS - 1)
}

/// A citizen's or a household's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Points {
    /// Spendable.
    pub balance: i64,
    /// Earned in the last 36 months (awards less their reversals).
    pub credit: i64,
}

/// One entry as its citizen (or an admin) sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryView {
    pub index: u64,
    pub id: String,
    pub kind: &'static str,
    pub rule: String,
    pub reason: String,
    pub reference: String,
    pub approvers: Vec<String>,
    /// Signed, for this citizen: + credited, − debited.
    pub amount: i64,
    pub counter_account: String,
    pub at_ms: i64,
    pub reverses: Option<u64>,
    pub reversed_by: Option<u64>,
}

/// The log's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHead {
    pub size: u64,
    pub root: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
    pub at_ms: i64,
}

/// System-wide figures for the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub entries: u64,
    pub awards: u64,
    pub redemptions: u64,
    pub reversals: u64,
    /// Points held by citizens (the sum of their balances).
    pub outstanding: i64,
    pub citizens_with_points: u64,
    /// Every system account and its balance (issuance accounts are negative: they issue).
    pub system_accounts: Vec<(String, i64)>,
}

/// A pending or decided reversal request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReversalRequest {
    pub id: String,
    pub entry_index: u64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub decision: Option<String>,
    pub reversal_index: Option<u64>,
}

pub(crate) fn citizen_account(id: &str) -> String {
    format!("citizen:{id}")
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::invalid("index", "out_of_range", "is too large"))
}

const ENTRY_COLUMNS: &str = "e.idx, e.id, e.kind, e.rule, e.reason, e.reference, e.approvers, \
     e.at_ms, e.reverses, (SELECT r.idx FROM ledger_entries r WHERE r.reverses = e.idx) AS reversed_by";

fn entry_view(row: &sqlx::any::AnyRow) -> Result<EntryView> {
    let kind: String = row.try_get("kind")?;
    let approvers: String = row.try_get("approvers")?;
    Ok(EntryView {
        index: to_u64(row.try_get("idx")?),
        id: row.try_get("id")?,
        kind: match kind.as_str() {
            "award" => "award",
            "redemption" => "redemption",
            _ => "reversal",
        },
        rule: row.try_get("rule")?,
        reason: row.try_get("reason")?,
        reference: row.try_get("reference")?,
        approvers: approvers.split(' ').map(str::to_string).collect(),
        amount: row.try_get("amount")?,
        counter_account: row.try_get("counter_account")?,
        at_ms: row.try_get("at_ms")?,
        reverses: row.try_get::<Option<i64>, _>("reverses")?.map(to_u64),
        reversed_by: row.try_get::<Option<i64>, _>("reversed_by")?.map(to_u64),
    })
}

fn hash_of(b: &[u8]) -> Result<Hash> {
    <[u8; 32]>::try_from(b)
        .map(Hash)
        .map_err(|_| StoreError::Crypto("a stored hash is not 32 bytes"))
}

impl Ledger<'_> {
    /// A citizen's balance and credit points at `now_ms`.
    pub async fn points(&self, citizen_id: &str, now_ms: i64) -> Result<Points> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE((SELECT balance FROM ledger_accounts WHERE citizen_id = $1), 0) AS BIGINT) AS balance, \
             CAST(COALESCE((SELECT SUM(points) FROM ledger_credit WHERE citizen_id = $1 AND month >= $2), 0) AS BIGINT) AS credit",
        )
        .bind(citizen_id)
        .bind(credit_window_start(now_ms))
        .fetch_one(&self.read)
        .await?;
        let points = Points {
            balance: row.try_get("balance")?,
            credit: row.try_get("credit")?,
        };
        // Asserted again on the way out: a negative balance means the rows were tampered with.
        if points.balance < 0 {
            return Err(StoreError::Integrity(format!(
                "citizen {citizen_id} has a negative balance"
            )));
        }
        Ok(points)
    }

    /// The sums over a household's current members.
    pub async fn household_points(&self, household_id: &str, now_ms: i64) -> Result<Points> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE((SELECT SUM(a.balance) FROM ledger_accounts a JOIN citizens c ON c.id = a.citizen_id \
                WHERE c.household_id = $1), 0) AS BIGINT) AS balance, \
             CAST(COALESCE((SELECT SUM(k.points) FROM ledger_credit k JOIN citizens c ON c.id = k.citizen_id \
                WHERE c.household_id = $1 AND k.month >= $2), 0) AS BIGINT) AS credit",
        )
        .bind(household_id)
        .bind(credit_window_start(now_ms))
        .fetch_one(&self.read)
        .await?;
        Ok(Points {
            balance: row.try_get("balance")?,
            credit: row.try_get("credit")?,
        })
    }

    /// A citizen's entries, newest first, before index `before` (a cursor) if given.
    pub async fn citizen_entries(
        &self,
        citizen_id: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<EntryView>> {
        let before = match before {
            Some(b) => to_i64(b)?,
            None => i64::MAX,
        };
        let sql = format!(
            "SELECT {ENTRY_COLUMNS}, p.amount AS amount, \
               (SELECT q.account FROM ledger_postings q WHERE q.entry_idx = e.idx AND q.citizen_id IS NULL ORDER BY q.n LIMIT 1) AS counter_account \
             FROM ledger_postings p JOIN ledger_entries e ON e.idx = p.entry_idx \
             WHERE p.citizen_id = $1 AND p.entry_idx < $2 ORDER BY p.entry_idx DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(citizen_id)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(entry_view).collect()
    }

    /// One entry as its citizen sees it, with the citizen it belongs to.
    pub async fn entry(&self, index: u64) -> Result<Option<(String, EntryView)>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS}, p.amount AS amount, p.citizen_id AS citizen_id, \
               (SELECT q.account FROM ledger_postings q WHERE q.entry_idx = e.idx AND q.citizen_id IS NULL ORDER BY q.n LIMIT 1) AS counter_account \
             FROM ledger_entries e JOIN ledger_postings p ON p.entry_idx = e.idx AND p.citizen_id IS NOT NULL \
             WHERE e.idx = $1"
        );
        let row = sqlx::query(&sql)
            .bind(to_i64(index)?)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok((r.try_get("citizen_id")?, entry_view(&r)?)))
            .transpose()
    }

    /// The entry an idempotency key produced, if any (for a caller that lost the answer).
    pub async fn entry_by_key(&self, scoped_key: &str) -> Result<Option<u64>> {
        let row = sqlx::query("SELECT idx FROM ledger_entries WHERE idem_key = $1")
            .bind(scoped_key)
            .fetch_optional(&self.read)
            .await?;
        row.map(|r| Ok(to_u64(r.try_get("idx")?))).transpose()
    }

    pub async fn ledger_totals(&self) -> Result<Totals> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS entries, \
               CAST(COALESCE(SUM(CASE WHEN kind = 'award' THEN 1 ELSE 0 END), 0) AS BIGINT) AS awards, \
               CAST(COALESCE(SUM(CASE WHEN kind = 'redemption' THEN 1 ELSE 0 END), 0) AS BIGINT) AS redemptions, \
               CAST(COALESCE(SUM(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END), 0) AS BIGINT) AS reversals \
             FROM ledger_entries",
        )
        .fetch_one(&self.read)
        .await?;
        let acc = sqlx::query(
            "SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS outstanding, \
               CAST(COALESCE(SUM(CASE WHEN balance > 0 THEN 1 ELSE 0 END), 0) AS BIGINT) AS holders \
             FROM ledger_accounts WHERE citizen_id IS NOT NULL",
        )
        .fetch_one(&self.read)
        .await?;
        let system = sqlx::query(
            "SELECT account, balance FROM ledger_accounts WHERE citizen_id IS NULL ORDER BY account",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("account")?, r.try_get("balance")?)))
        .collect::<Result<Vec<(String, i64)>>>()?;
        // Asserted on reading back: double entry means all balances together are zero.
        let outstanding: i64 = acc.try_get("outstanding")?;
        let system_sum: i64 = system.iter().map(|(_, b)| b).sum();
        if outstanding + system_sum != 0 {
            return Err(StoreError::Integrity(format!(
                "the accounts do not balance: citizens hold {outstanding}, system accounts {system_sum}"
            )));
        }
        Ok(Totals {
            entries: to_u64(row.try_get("entries")?),
            awards: to_u64(row.try_get("awards")?),
            redemptions: to_u64(row.try_get("redemptions")?),
            reversals: to_u64(row.try_get("reversals")?),
            outstanding: acc.try_get("outstanding")?,
            citizens_with_points: to_u64(acc.try_get("holders")?),
            system_accounts: system,
        })
    }

    pub async fn log_head(&self) -> Result<LogHead> {
        let row = sqlx::query("SELECT size, root FROM log_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        let root: Vec<u8> = row.try_get("root")?;
        Ok(LogHead {
            size: to_u64(row.try_get("size")?),
            root: hex::encode(root),
        })
    }

    /// The newest signed checkpoint.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        let row = sqlx::query(
            "SELECT size, note, at_ms FROM log_checkpoints ORDER BY size DESC, at_ms DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredCheckpoint {
                size: to_u64(r.try_get("size")?),
                note: r.try_get("note")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .transpose()
    }

    /// Checkpoints in size order after `after` (for audit and witnesses).
    pub async fn checkpoints(&self, after: u64, limit: u32) -> Result<Vec<StoredCheckpoint>> {
        let rows = sqlx::query(
            "SELECT size, note, at_ms FROM log_checkpoints WHERE size > $1 ORDER BY size, at_ms LIMIT $2",
        )
        .bind(to_i64(after)?)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredCheckpoint {
                    size: to_u64(r.try_get("size")?),
                    note: r.try_get("note")?,
                    at_ms: r.try_get("at_ms")?,
                })
            })
            .collect()
    }

    /// Stored hashes by index; a missing one is simply absent from the map.
    pub async fn log_hashes(&self, indexes: &[u64]) -> Result<HashMap<u64, Hash>> {
        let mut conn = self.read.acquire().await?;
        read_hashes(&mut conn, indexes).await
    }

    /// Build a root or a proof from stored hashes, for a tree no larger than the log.
    pub async fn log_proof(&self, plan: Plan) -> Result<Vec<Hash>> {
        let indexes = plan
            .indexes()
            .map_err(|e| StoreError::invalid("size", "out_of_range", &e.to_string()))?;
        let hashes = self.log_hashes(&indexes).await?;
        plan.build(&hashes)
            .map_err(|e| StoreError::invalid("size", "out_of_range", &e.to_string()))
    }

    /// The bytes of a C2SP tile (hashes) or entry bundle, when the log is big enough to have it.
    pub async fn log_tile(&self, tile: &TilePath) -> Result<Option<Vec<u8>>> {
        let size = self.log_head().await?.size;
        if tile.needs_size() > u128::from(size) {
            return Ok(None);
        }
        match tile.kind {
            moralbank_ledger::TileKind::Entries => {
                let r = tile.leaf_range();
                let rows = sqlx::query(
                    "SELECT leaf FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                )
                .bind(to_i64(r.start)?)
                .bind(to_i64(r.end)?)
                .fetch_all(&self.read)
                .await?;
                let leaves = rows
                    .iter()
                    .map(|r| r.try_get::<Vec<u8>, _>("leaf"))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                Ok(Some(moralbank_ledger::tiles::encode_bundle(
                    leaves.iter().map(Vec::as_slice),
                )))
            }
            moralbank_ledger::TileKind::Hashes { .. } => {
                let idx = tile.stored_indexes();
                let hashes = self.log_hashes(&idx).await?;
                let mut out = Vec::with_capacity(idx.len() * 32);
                for i in idx {
                    let h = hashes
                        .get(&i)
                        .ok_or(StoreError::Crypto("a stored hash of the log is missing"))?;
                    out.extend_from_slice(&h.0);
                }
                Ok(Some(out))
            }
        }
    }

    /// A receipt for entry `index` against the newest checkpoint; with the citizen's opening
    /// when `for_citizen` is the entry's citizen. `None` if there is no such entry.
    pub async fn receipt(&self, index: u64, for_citizen: Option<&str>) -> Result<Option<Receipt>> {
        self.witnessed_receipt(index, for_citizen, &[], 0).await
    }

    /// [`Ledger::receipt`] against the newest checkpoint cosigned by `quorum` of `witnesses`
    /// when that one holds the entry (its cosignatures travel in the receipt), else against the
    /// newest signed checkpoint (a verifier that requires the quorum will then refuse it, saying
    /// which witnesses are missing, until the witnesses catch up).
    pub async fn witnessed_receipt(
        &self,
        index: u64,
        for_citizen: Option<&str>,
        witnesses: &[String],
        quorum: usize,
    ) -> Result<Option<Receipt>> {
        let row = sqlx::query(
            "SELECT e.leaf, p.citizen_id, a.salt FROM ledger_entries e \
             JOIN ledger_postings p ON p.entry_idx = e.idx AND p.citizen_id IS NOT NULL \
             LEFT JOIN ledger_accounts a ON a.citizen_id = p.citizen_id WHERE e.idx = $1",
        )
        .bind(to_i64(index)?)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let leaf: Vec<u8> = row.try_get("leaf")?;
        let owner: String = row.try_get("citizen_id")?;
        let salt: Option<Vec<u8>> = row.try_get("salt")?;
        let witnessed = self
            .witnessed_checkpoint(witnesses, quorum)
            .await?
            .filter(|w| w.size > index);
        let cp = match witnessed {
            Some(w) => StoredCheckpoint {
                size: w.size,
                note: w.note,
                at_ms: 0,
            },
            None => match self.latest_checkpoint().await? {
                Some(cp) => cp,
                None => return Ok(None),
            },
        };
        let proof = self
            .log_proof(Plan::Inclusion {
                index,
                size: cp.size,
            })
            .await?;
        let mut receipt = Receipt::new(&leaf, index, &proof, &cp.note);
        if for_citizen == Some(owner.as_str()) {
            if let Some(salt) = salt.and_then(|s| <[u8; 32]>::try_from(s).ok()) {
                receipt = receipt.with_opening(&owner, &salt);
            }
        }
        Ok(Some(receipt))
    }

    /// Ask for a reversal of award `index`; another staff member must approve it.
    pub async fn request_reversal(
        &self,
        index: u64,
        reason: &str,
        requested_by: &str,
        now_ms: i64,
    ) -> Result<String> {
        let probe = NewEntry::reversal(index, reason, vec![requested_by.into(), "-".into()]);
        probe.check().map_err(StoreError::Invalid)?;
        let Some((_, e)) = self.entry(index).await? else {
            return Err(StoreError::NotFound { what: "entry" });
        };
        if e.kind != "award" {
            return Err(StoreError::conflict(
                "entry_index",
                "not_reversible",
                "only an award can be reversed",
            ));
        }
        if let Some(r) = e.reversed_by {
            return Err(StoreError::conflict(
                "entry_index",
                "already_reversed",
                &format!("entry {index} was already reversed by entry {r}"),
            ));
        }
        let id = domain::new_id();
        let res = sqlx::query(
            "INSERT INTO ledger_reversal_requests (id, entry_idx, reason, requested_by, requested_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(to_i64(index)?)
        .bind(reason.trim())
        .bind(requested_by)
        .bind(now_ms)
        .execute(&self.write)
        .await;
        match res {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::conflict(
                "entry_index",
                "reversal_pending",
                &format!("a reversal of entry {index} is already waiting for approval"),
            )),
            Err(e) => Err(e.into()),
            Ok(_) => Ok(id),
        }
    }

    pub async fn reversal_requests(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<ReversalRequest>> {
        let filter = if pending_only {
            "WHERE decided_at IS NULL"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT id, entry_idx, reason, requested_by, requested_at, decided_by, decided_at, decision, reversal_idx \
             FROM ledger_reversal_requests {filter} ORDER BY requested_at DESC, id LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(reversal_request).collect()
    }

    pub async fn reversal_request(&self, id: &str) -> Result<Option<ReversalRequest>> {
        let row = sqlx::query(
            "SELECT id, entry_idx, reason, requested_by, requested_at, decided_by, decided_at, decision, reversal_idx \
             FROM ledger_reversal_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(reversal_request).transpose()
    }

    /// Record the decision on a reversal request (after the reversal entry, if approved, was
    /// appended). Only an undecided request is decided; deciding it twice the same way is a
    /// no-op, so a retried approval is safe.
    pub async fn decide_reversal(
        &self,
        id: &str,
        decided_by: &str,
        approved: bool,
        reversal_idx: Option<u64>,
        now_ms: i64,
    ) -> Result<()> {
        let decision = if approved { "approved" } else { "declined" };
        let mut tx = self.write.begin().await?;
        let decided = sqlx::query(
            "UPDATE ledger_reversal_requests SET decided_by = $1, decided_at = $2, decision = $3, reversal_idx = $4 \
             WHERE id = $5 AND decided_at IS NULL",
        )
        .bind(decided_by)
        .bind(now_ms)
        .bind(decision)
        .bind(reversal_idx.map(to_i64).transpose()?)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The resident whose points were reversed is told, once, with the decision (principle
        // 4: nothing happens to a resident's record without them knowing).
        if decided == 1 && approved {
            let citizen: Option<String> = sqlx::query(
                "SELECT p.citizen_id FROM ledger_reversal_requests r \
                 JOIN ledger_postings p ON p.entry_idx = r.entry_idx AND p.citizen_id IS NOT NULL WHERE r.id = $1",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("citizen_id"))
            .transpose()?;
            if let Some(citizen) = citizen {
                crate::notices::notify_citizen(&mut tx, &citizen, "points_reversed", now_ms)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

fn reversal_request(r: &sqlx::any::AnyRow) -> Result<ReversalRequest> {
    Ok(ReversalRequest {
        id: r.try_get("id")?,
        entry_index: to_u64(r.try_get("entry_idx")?),
        reason: r.try_get("reason")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision: r.try_get("decision")?,
        reversal_index: r.try_get::<Option<i64>, _>("reversal_idx")?.map(to_u64),
    })
}

pub(crate) async fn read_hashes(
    conn: &mut sqlx::AnyConnection,
    indexes: &[u64],
) -> Result<HashMap<u64, Hash>> {
    let mut out = HashMap::with_capacity(indexes.len());
    for chunk in indexes.chunks(crate::sql::STATEMENT_PARAMS_MAX) {
        let sql = format!(
            "SELECT id, hash FROM log_hashes WHERE id IN ({})",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for &i in chunk {
            q = q.bind(to_i64(i)?);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let h: Vec<u8> = row.try_get("hash")?;
            out.insert(to_u64(row.try_get("id")?), hash_of(&h)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_china_standard_time_and_the_window_is_36_months() {
        // 2026-01-31 16:30 UTC is 2026-02-01 00:30 in Beijing.
        assert_eq!(credit_window_start(1_769_877_000_000), 202303);
        // December: the window starts in January two years earlier.
        assert_eq!(
            credit_window_start(1_796_000_000_000),
            202312,
            "November 2026"
        );
        assert_eq!(
            credit_window_start(1_797_292_800_000),
            202401,
            "December 2026"
        );
    }
}
