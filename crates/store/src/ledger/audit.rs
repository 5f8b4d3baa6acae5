//! `moralbank audit`: recompute the whole log and every balance from the stored rows and
//! compare with what is stored and published. Stops at the first thing that does not match and
//! names it, so that an operator knows where to look.
//!
//! A citizen's postings are checked against the leaf's commitment under the citizen's salt.
//! Without a salt that cannot be done, so a missing salt must mean what it means: the citizen
//! withdrew (a `withdrawals` row, counted in `log_head.withdrawals`, no `citizens` row). A
//! posting without a salt must also not open under another citizen's salt, and one withdrawn
//! citizen's postings must all carry one commitment that no other citizen's carry: a posting
//! moved to another account is a commitment mismatch even where no salt is left to open it.

use super::{month_of, to_i64, to_u64};
use crate::ledger::Ledger;
use crate::{Result, StoreError};
use moralbank_ledger::{
    details_commitment, leaf_hash, verify_checkpoint, AccountRef, EntryKind, Frontier, LeafEntry,
};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use tlog_tiles::{stored_hash_count, stored_hash_index};

/// Entries read per query.
const CHUNK: i64 = 5_000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditReport {
    pub entries: u64,
    pub stored_hashes: u64,
    pub checkpoints: u64,
    pub accounts: u64,
    /// Withdrawals recorded (each one counted in the log head).
    pub withdrawals: u64,
    /// Citizen accounts without a salt: every one of a citizen who withdrew.
    pub withdrawn_accounts: u64,
    pub root: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditFailure {
    #[error("entry {index}: {what}")]
    Entry { index: u64, what: String },
    #[error("checkpoint at size {size}: {what}")]
    Checkpoint { size: u64, what: String },
    #[error("account {account}: {what}")]
    Account { account: String, what: String },
    #[error("log: {0}")]
    Log(String),
    /// A guard of history (an append-only trigger) is missing, disabled or changed.
    #[error("guard: {0}")]
    Guard(String),
    #[error("withdrawals: {0}")]
    Withdrawal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuditFailure {
    fn from(e: sqlx::Error) -> Self {
        AuditFailure::Store(e.into())
    }
}

fn entry_err(index: u64, what: impl Into<String>) -> AuditFailure {
    AuditFailure::Entry {
        index,
        what: what.into(),
    }
}

struct Checkpoints {
    list: Vec<(u64, Vec<u8>, String)>,
    next: usize,
}

/// What the audit recomputes from the entries, as it goes: the tree, every account's balance
/// and entry count, and every citizen's credit points per month.
struct Recomputed {
    frontier: Frontier,
    balances: HashMap<String, (i64, i64)>,
    credit: HashMap<(String, i64), i64>,
    unsalted: Unsalted,
}

/// A citizen's posting whose salt is gone: (entry index, posting number, citizen id), by the
/// commitment the leaf holds.
type Unsalted = HashMap<[u8; 32], Vec<(u64, usize, String)>>;

/// One chunk of the log as stored: its entries, their postings, the stored hashes they make.
struct Chunk {
    entries: Vec<sqlx::any::AnyRow>,
    postings: HashMap<u64, Vec<(String, Option<String>, i64)>>,
    hashes: HashMap<u64, Vec<u8>>,
}

impl Ledger<'_> {
    /// Recompute and compare everything; `vkeys` are the log's verifier keys, current and
    /// retired (a checkpoint must verify under one of them). `progress` is told the number of
    /// entries checked after each chunk. In order: the checkpoints against the head, every entry
    /// (its row, postings, effects and stored hashes, and each checkpoint as the tree reaches
    /// its size), nothing beyond the head, then the derived balances and credit.
    pub async fn audit(
        &self,
        vkeys: &[String],
        mut progress: impl FnMut(u64),
    ) -> std::result::Result<AuditReport, AuditFailure> {
        match self.check_guards().await {
            Err(StoreError::Integrity(what)) => return Err(AuditFailure::Guard(what)),
            other => other?,
        };
        let head = sqlx::query("SELECT size, root FROM log_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?;
        let size = to_u64(head.try_get("size")?);
        let head_root: Vec<u8> = head.try_get("root")?;
        let salts = self.audit_salts().await?;
        let mut cps = self.audit_checkpoints(size).await?;
        let checkpoints = cps.list.len() as u64;
        let mut re = Recomputed {
            frontier: Frontier::new(),
            balances: HashMap::new(),
            credit: HashMap::new(),
            unsalted: HashMap::new(),
        };
        cps.check(&re.frontier, vkeys)?;
        let mut next: u64 = 0;
        while next < size {
            let end = (next + CHUNK as u64).min(size);
            let chunk = self.audit_chunk(next, end).await?;
            next = self
                .replay(chunk, next, &salts, &mut re, &mut cps, vkeys)
                .await?;
            if next < end {
                return Err(entry_err(next, "is missing from ledger_entries"));
            }
            progress(next);
        }
        if let Some((s, ..)) = cps.list.get(cps.next) {
            return Err(AuditFailure::Checkpoint {
                size: *s,
                what: "was never reached while recomputing the log".into(),
            });
        }
        let withdrawn = self.audit_withdrawn().await?;
        audit_unsalted(&re.unsalted, &salts, &withdrawn)?;
        let hashes = self.audit_log_end(size, &re.frontier, &head_root).await?;
        let accounts = self.audit_derived(re.balances, re.credit).await?;
        let withdrawn_accounts = self.audit_withdrawn_accounts(&withdrawn).await?;
        Ok(AuditReport {
            entries: size,
            stored_hashes: hashes,
            checkpoints,
            accounts,
            withdrawals: withdrawn.len() as u64,
            withdrawn_accounts,
            root: hex::encode(re.frontier.root().0),
        })
    }

    /// Every citizen's salt that still exists (a withdrawal deletes it).
    async fn audit_salts(&self) -> Result<HashMap<String, [u8; 32]>> {
        Ok(sqlx::query(
            "SELECT citizen_id, salt FROM ledger_accounts WHERE citizen_id IS NOT NULL AND salt IS NOT NULL",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .filter_map(|r| {
            let id: String = r.try_get("citizen_id").ok()?;
            let salt: Vec<u8> = r.try_get("salt").ok()?;
            Some((id, <[u8; 32]>::try_from(salt).ok()?))
        })
        .collect())
    }

    /// Every published checkpoint in order; none may be for a tree larger than the log.
    async fn audit_checkpoints(&self, size: u64) -> std::result::Result<Checkpoints, AuditFailure> {
        let cps = Checkpoints {
            list: sqlx::query(
                "SELECT size, root, note FROM log_checkpoints ORDER BY size, at_ms, signer",
            )
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok((
                    to_u64(r.try_get("size")?),
                    r.try_get("root")?,
                    r.try_get("note")?,
                ))
            })
            .collect::<Result<_>>()?,
            next: 0,
        };
        if let Some((s, ..)) = cps.list.last() {
            if *s > size {
                return Err(AuditFailure::Checkpoint {
                    size: *s,
                    what: format!("published for a tree larger than the log ({size} entries)"),
                });
            }
        }
        Ok(cps)
    }

    /// The entries `next..end` with their postings and the stored hashes they make.
    async fn audit_chunk(&self, next: u64, end: u64) -> Result<Chunk> {
        let entries = sqlx::query(
            "SELECT idx, id, kind, rule, reason, reference, approvers, reverses, at_ms, leaf \
             FROM ledger_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(to_i64(next)?)
        .bind(to_i64(end)?)
        .fetch_all(&self.read)
        .await?;
        let mut postings: HashMap<u64, Vec<(String, Option<String>, i64)>> = HashMap::new();
        for r in sqlx::query(
            "SELECT entry_idx, account, citizen_id, amount FROM ledger_postings \
             WHERE entry_idx >= $1 AND entry_idx < $2 ORDER BY entry_idx, n",
        )
        .bind(to_i64(next)?)
        .bind(to_i64(end)?)
        .fetch_all(&self.read)
        .await?
        {
            postings
                .entry(to_u64(r.try_get("entry_idx")?))
                .or_default()
                .push((
                    r.try_get("account")?,
                    r.try_get("citizen_id")?,
                    r.try_get("amount")?,
                ));
        }
        let hashes = sqlx::query("SELECT id, hash FROM log_hashes WHERE id >= $1 AND id < $2")
            .bind(to_i64(stored_hash_index(0, next))?)
            .bind(to_i64(stored_hash_count(end))?)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((to_u64(r.try_get("id")?), r.try_get("hash")?)))
            .collect::<Result<_>>()?;
        Ok(Chunk {
            entries,
            postings,
            hashes,
        })
    }

    /// Check each entry of `chunk` from index `next` on and apply it to `re`; returns the index
    /// after the last entry checked.
    async fn replay(
        &self,
        mut chunk: Chunk,
        mut next: u64,
        salts: &HashMap<String, [u8; 32]>,
        re: &mut Recomputed,
        cps: &mut Checkpoints,
        vkeys: &[String],
    ) -> std::result::Result<u64, AuditFailure> {
        for row in &chunk.entries {
            let index = to_u64(row.try_get("idx")?);
            if index != next {
                return Err(entry_err(next, "is missing from ledger_entries"));
            }
            let leaf_bytes: Vec<u8> = row.try_get("leaf")?;
            let leaf = LeafEntry::decode(&leaf_bytes)
                .map_err(|e| entry_err(index, format!("stored leaf is not valid: {e}")))?;
            self.check_row(index, row, &leaf)?;
            let rows = chunk.postings.remove(&index).unwrap_or_default();
            let reason: String = row.try_get("reason")?;
            check_postings(index, &leaf, &rows, salts, &reason, &mut re.unsalted)?;
            self.apply_effects(index, row, &leaf, &rows, re).await?;
            // The tree.
            for (id, h) in re.frontier.append(leaf_hash(&leaf_bytes)) {
                match chunk.hashes.get(&id) {
                    Some(s) if s.as_slice() == h.0.as_slice() => {}
                    Some(_) => {
                        return Err(entry_err(
                            index,
                            format!("stored hash {id} differs from the recomputed one"),
                        ))
                    }
                    None => return Err(entry_err(index, format!("stored hash {id} is missing"))),
                }
            }
            cps.check(&re.frontier, vkeys)?;
            next += 1;
        }
        Ok(next)
    }

    /// An entry's effects on balances (no citizen's below zero) and on credit points: an award
    /// in its own month, a reversal in the month of the earlier award it undoes.
    async fn apply_effects(
        &self,
        index: u64,
        row: &sqlx::any::AnyRow,
        leaf: &LeafEntry,
        rows: &[(String, Option<String>, i64)],
        re: &mut Recomputed,
    ) -> std::result::Result<(), AuditFailure> {
        for (account, citizen, amount) in rows {
            let b = re.balances.entry(account.clone()).or_insert((0, 0));
            b.0 += amount;
            b.1 += 1;
            if citizen.is_some() && b.0 < 0 {
                return Err(entry_err(index, format!("takes {account} below zero")));
            }
            let Some(c) = citizen else { continue };
            let month = match leaf.kind {
                EntryKind::Award => month_of(leaf.at_ms),
                EntryKind::Reversal => {
                    let of: Option<i64> = row.try_get("reverses")?;
                    let of =
                        of.ok_or_else(|| entry_err(index, "is a reversal that names no entry"))?;
                    let at: i64 = sqlx::query(
                        "SELECT at_ms FROM ledger_entries WHERE idx = $1 AND kind = 'award'",
                    )
                    .bind(of)
                    .fetch_optional(&self.read)
                    .await?
                    .ok_or_else(|| entry_err(index, "reverses an entry that is not an award"))?
                    .try_get("at_ms")?;
                    if to_u64(of) >= index {
                        return Err(entry_err(index, "reverses a later entry"));
                    }
                    month_of(at)
                }
                EntryKind::Redemption => continue,
            };
            *re.credit.entry((c.clone(), month)).or_insert(0) += amount;
        }
        Ok(())
    }

    /// Who withdrew: every `withdrawals` row, as many as the log head counts (a withdrawal adds
    /// both in one transaction), and none of them still enrolled.
    async fn audit_withdrawn(&self) -> std::result::Result<HashSet<String>, AuditFailure> {
        let withdrawn = sqlx::query("SELECT citizen_id FROM withdrawals")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| r.try_get("citizen_id"))
            .collect::<std::result::Result<HashSet<String>, _>>()?;
        let counted: i64 = sqlx::query("SELECT withdrawals FROM log_head WHERE id = 1")
            .fetch_one(&self.read)
            .await?
            .try_get("withdrawals")?;
        if to_u64(counted) != withdrawn.len() as u64 {
            return Err(AuditFailure::Withdrawal(format!(
                "{} recorded, the log head counts {counted}",
                withdrawn.len()
            )));
        }
        if let Some(r) = sqlx::query(
            "SELECT w.citizen_id FROM withdrawals w JOIN citizens c ON c.id = w.citizen_id LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?
        {
            let id: String = r.try_get("citizen_id")?;
            return Err(AuditFailure::Withdrawal(format!(
                "citizen {id} is recorded as withdrawn but is still enrolled"
            )));
        }
        Ok(withdrawn)
    }

    /// Every citizen account without a salt is a withdrawn citizen's, and no withdrawn
    /// citizen's account kept its salt. Returns the count of accounts without a salt.
    async fn audit_withdrawn_accounts(
        &self,
        withdrawn: &HashSet<String>,
    ) -> std::result::Result<u64, AuditFailure> {
        let rows = sqlx::query(
            "SELECT citizen_id, CASE WHEN salt IS NULL THEN 0 ELSE 1 END AS salted \
             FROM ledger_accounts WHERE citizen_id IS NOT NULL",
        )
        .fetch_all(&self.read)
        .await?;
        let mut unsalted = 0;
        for r in &rows {
            let id: String = r.try_get("citizen_id")?;
            let salted: i32 = r.try_get("salted")?;
            let what = match (salted != 0, withdrawn.contains(&id)) {
                (false, false) => "has no salt, but the citizen never withdrew",
                (true, true) => "kept its salt, but the citizen withdrew",
                (false, true) => {
                    unsalted += 1;
                    continue;
                }
                (true, false) => continue,
            };
            return Err(AuditFailure::Account {
                account: format!("citizen:{id}"),
                what: what.into(),
            });
        }
        Ok(unsalted)
    }

    /// Nothing beyond the head, as many stored hashes as a tree of `size` has, and the head's
    /// root is the recomputed one. Returns the count of stored hashes.
    async fn audit_log_end(
        &self,
        size: u64,
        frontier: &Frontier,
        head_root: &[u8],
    ) -> std::result::Result<u64, AuditFailure> {
        let extra = sqlx::query("SELECT COUNT(*) AS n FROM ledger_entries WHERE idx >= $1")
            .bind(to_i64(size)?)
            .fetch_one(&self.read)
            .await?;
        if extra.try_get::<i64, _>("n")? > 0 {
            return Err(entry_err(size, "exists beyond the log head's size"));
        }
        let hashes: i64 = sqlx::query("SELECT COUNT(*) AS n FROM log_hashes")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        if to_u64(hashes) != stored_hash_count(size) {
            return Err(AuditFailure::Log(format!(
                "{hashes} stored hashes, a tree of {size} entries has {}",
                stored_hash_count(size)
            )));
        }
        if frontier.root().0.as_slice() != head_root {
            return Err(AuditFailure::Log(
                "the log head's root differs from the recomputed root".into(),
            ));
        }
        Ok(to_u64(hashes))
    }

    /// The stored balances and credit months are exactly what the entries give. Returns the
    /// count of stored accounts.
    async fn audit_derived(
        &self,
        mut balances: HashMap<String, (i64, i64)>,
        mut credit: HashMap<(String, i64), i64>,
    ) -> std::result::Result<u64, AuditFailure> {
        let stored_accounts = sqlx::query("SELECT account, balance, entries FROM ledger_accounts")
            .fetch_all(&self.read)
            .await?;
        for r in &stored_accounts {
            let account: String = r.try_get("account")?;
            let got = (
                r.try_get::<i64, _>("balance")?,
                r.try_get::<i64, _>("entries")?,
            );
            let want = balances.remove(&account).unwrap_or((0, 0));
            if got != want {
                return Err(AuditFailure::Account {
                    account,
                    what: format!(
                        "stored balance {} over {} entries, the postings give {} over {}",
                        got.0, got.1, want.0, want.1
                    ),
                });
            }
        }
        if let Some((account, _)) = balances.into_iter().next() {
            return Err(AuditFailure::Account {
                account,
                what: "has postings but no stored balance".into(),
            });
        }
        for r in sqlx::query("SELECT citizen_id, month, points FROM ledger_credit")
            .fetch_all(&self.read)
            .await?
        {
            let key: (String, i64) = (r.try_get("citizen_id")?, r.try_get("month")?);
            let got: i64 = r.try_get("points")?;
            let want = credit.remove(&key).unwrap_or(0);
            if got != want {
                return Err(AuditFailure::Account {
                    account: format!("citizen:{}", key.0),
                    what: format!(
                        "stored credit for month {} is {got}, the entries give {want}",
                        key.1
                    ),
                });
            }
        }
        if let Some(((c, m), v)) = credit.into_iter().find(|(_, v)| *v != 0) {
            return Err(AuditFailure::Account {
                account: format!("citizen:{c}"),
                what: format!("credit for month {m} should be {v} but is not stored"),
            });
        }
        Ok(stored_accounts.len() as u64)
    }

    /// The row's columns say what its leaf says.
    fn check_row(
        &self,
        index: u64,
        row: &sqlx::any::AnyRow,
        leaf: &LeafEntry,
    ) -> std::result::Result<(), AuditFailure> {
        let id: String = row.try_get("id")?;
        let kind: String = row.try_get("kind")?;
        let rule: String = row.try_get("rule")?;
        let reference: String = row.try_get("reference")?;
        let approvers: String = row.try_get("approvers")?;
        let at_ms: i64 = row.try_get("at_ms")?;
        let mismatch = [
            ("id", id == leaf.entry_id),
            ("kind", kind == leaf.kind.as_str()),
            ("rule", rule == leaf.rule),
            ("reference", reference == leaf.reference),
            ("approvers", approvers == leaf.approvers.join(" ")),
            ("time", at_ms == leaf.at_ms),
        ]
        .into_iter()
        .find(|(_, ok)| !ok);
        if let Some((col, _)) = mismatch {
            return Err(entry_err(
                index,
                format!("column {col} differs from the leaf"),
            ));
        }
        Ok(())
    }
}

/// The posting rows say what the leaf says: same amounts, same system accounts, citizen
/// accounts that open the leaf's commitments (while the citizen's salt exists, else the posting
/// is kept in `unsalted` for [`audit_unsalted`]), and a reason that opens the leaf's details
/// commitment.
fn check_postings(
    index: u64,
    leaf: &LeafEntry,
    rows: &[(String, Option<String>, i64)],
    salts: &HashMap<String, [u8; 32]>,
    reason: &str,
    unsalted: &mut Unsalted,
) -> std::result::Result<(), AuditFailure> {
    if rows.len() != leaf.postings.len() {
        return Err(entry_err(
            index,
            format!(
                "{} posting rows, the leaf has {}",
                rows.len(),
                leaf.postings.len()
            ),
        ));
    }
    if rows.iter().map(|r| r.2).sum::<i64>() != 0 {
        return Err(entry_err(index, "postings do not sum to zero"));
    }
    for (n, ((account, citizen, amount), p)) in rows.iter().zip(&leaf.postings).enumerate() {
        if *amount != p.amount {
            return Err(entry_err(
                index,
                format!("posting {n} amount is {amount}, the leaf says {}", p.amount),
            ));
        }
        match (&p.account, citizen) {
            (AccountRef::System(name), None) if name == account => {}
            (AccountRef::Citizen(c), Some(id)) if *account == format!("citizen:{id}") => {
                if let Some(salt) = salts.get(id) {
                    if !c.opens_to(salt, id) {
                        return Err(entry_err(
                            index,
                            format!(
                                "posting {n} belongs to another citizen than the leaf commits to"
                            ),
                        ));
                    }
                    if details_commitment(salt, reason) != leaf.details {
                        return Err(entry_err(
                            index,
                            "the reason differs from what the leaf commits to",
                        ));
                    }
                } else {
                    unsalted
                        .entry(c.0)
                        .or_default()
                        .push((index, n, id.clone()));
                }
            }
            _ => {
                return Err(entry_err(
                    index,
                    format!("posting {n} account differs from the leaf"),
                ))
            }
        }
    }
    Ok(())
}

/// The citizen postings whose salt is gone. None may open under a salt that still exists, a
/// withdrawn citizen's postings carry one commitment and no other citizen's carry it (a
/// posting moved to another account breaks one of these, reported as the commitment
/// mismatch it is, at the earliest such posting), and each of these citizens withdrew.
fn audit_unsalted(
    unsalted: &Unsalted,
    salts: &HashMap<String, [u8; 32]>,
    withdrawn: &HashSet<String>,
) -> std::result::Result<(), AuditFailure> {
    if unsalted.is_empty() {
        return Ok(());
    }
    let mut moved: Option<(u64, usize)> = None;
    let mut note = |at: (u64, usize)| moved = Some(moved.map_or(at, |m| m.min(at)));
    for (id, salt) in salts {
        for (index, n, _) in unsalted
            .get(&moralbank_ledger::Commitment::new(salt, id).0)
            .into_iter()
            .flatten()
        {
            note((*index, *n));
        }
    }
    let mut all: Vec<(u64, usize, &str, &[u8; 32])> = unsalted
        .iter()
        .flat_map(|(c, ps)| ps.iter().map(move |(i, n, id)| (*i, *n, id.as_str(), c)))
        .collect();
    all.sort_unstable();
    let mut commitment_of: HashMap<&str, &[u8; 32]> = HashMap::new();
    let mut citizen_of: HashMap<&[u8; 32], &str> = HashMap::new();
    for &(index, n, id, c) in &all {
        let first_c = *commitment_of.entry(id).or_insert(c);
        let first_id = *citizen_of.entry(c).or_insert(id);
        if first_c != c || first_id != id {
            note((index, n));
        }
    }
    if let Some((index, n)) = moved {
        return Err(entry_err(
            index,
            format!("posting {n} belongs to another citizen than the leaf commits to"),
        ));
    }
    match all.iter().find(|(_, _, id, _)| !withdrawn.contains(*id)) {
        Some((index, n, id, _)) => Err(entry_err(
            *index,
            format!("posting {n} names citizen {id}, who has no salt but never withdrew"),
        )),
        None => Ok(()),
    }
}

impl Checkpoints {
    /// Check every checkpoint published for the tree's current size.
    fn check(&mut self, f: &Frontier, vkeys: &[String]) -> std::result::Result<(), AuditFailure> {
        while let Some((size, root, note)) = self.list.get(self.next) {
            if *size != f.size() {
                break;
            }
            let what = |w: &str| AuditFailure::Checkpoint {
                size: *size,
                what: w.to_string(),
            };
            if root.as_slice() != f.root().0.as_slice() {
                return Err(what(
                    "its root is not the root of the log's first entries: the log was rewritten",
                ));
            }
            let verified = vkeys
                .iter()
                .find_map(|k| verify_checkpoint(note, k).ok())
                .ok_or_else(|| what("its signature does not verify under any of the log's keys"))?;
            if verified.size() != *size || verified.hash().0.as_slice() != root.as_slice() {
                return Err(what(
                    "the signed note says another size or root than its row",
                ));
            }
            self.next += 1;
        }
        Ok(())
    }
}
