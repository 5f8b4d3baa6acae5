//! The writer's decision step: pure, given what the batch read. Each append in order is a
//! replay (same key, same request), an idempotency conflict, a refusal (unknown citizen,
//! insufficient balance, a reversal of something not reversible), or accepted: its leaf built
//! under the citizen's salt and appended to the tree, its postings and the balances and credit
//! it changes kept for the write step.

use super::{Appended, Pending};
use crate::ledger::citizen_account;
use crate::StoreError;
use domain::time::month_of;
use domain::{FieldError, IdempotencyKey};
use moralbank_ledger::{
    details_commitment, leaf_hash, AccountRef, Commitment, EntryKind, Frontier, Hash, LeafEntry,
    Posting,
};
use std::collections::{HashMap, HashSet};

/// What became of one pending append.
pub(super) enum Outcome {
    Done(Appended),
    Refused(StoreError),
}

/// An earlier award, as a reversal needs it.
pub(super) struct Original {
    pub(super) kind: String,
    pub(super) citizen_id: String,
    pub(super) counter: String,
    pub(super) amount: i64,
    pub(super) at_ms: i64,
    pub(super) reversed_by: Option<i64>,
}

/// An account as the batch sees it: read, or made up in memory for a citizen's first entry.
#[derive(Clone)]
pub(super) struct AccountState {
    pub(super) citizen_id: Option<String>,
    pub(super) salt: Option<Vec<u8>>,
    pub(super) balance: i64,
    pub(super) entries: i64,
    /// Changed by this batch: written back.
    pub(super) touched: bool,
}

/// What the database already knows of a batch: its keys used before (with the request hash
/// and the answer), and the awards its reversals undo.
#[derive(Default)]
pub(super) struct Known {
    pub(super) keys: HashMap<String, ([u8; 32], Appended)>,
    pub(super) originals: HashMap<u64, Original>,
}

/// The rows a batch inserts.
#[derive(Default)]
pub(super) struct Rows<'a> {
    pub(super) entries: Vec<(&'a Pending, Appended, Vec<u8>)>,
    /// (entry index, n, account, citizen id, amount).
    pub(super) postings: Vec<(u64, i64, String, Option<String>, i64)>,
    pub(super) hashes: Vec<(u64, Hash)>,
    /// Credit points per (citizen, month), to add.
    pub(super) credit: HashMap<(String, i64), i64>,
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

fn refuse(field: &'static str, code: &'static str, detail: String) -> StoreError {
    StoreError::Conflict(FieldError::new(field, code, detail))
}

/// The batch's state as decisions change it: the tree, the accounts, the reversals so far.
pub(super) struct Decider<'s, 'b> {
    pub(super) now: i64,
    pub(super) frontier: &'s mut Frontier,
    pub(super) enrolled: &'s HashSet<String>,
    pub(super) accounts: &'s mut HashMap<String, AccountState>,
    /// A citizen's first account gets this salt for their commitments.
    pub(super) new_salt: &'s mut dyn FnMut() -> Vec<u8>,
    in_batch: HashMap<&'b str, ([u8; 32], Appended)>,
    reversed_now: HashSet<u64>,
}

impl<'s, 'b> Decider<'s, 'b> {
    pub(super) fn new(
        now: i64,
        frontier: &'s mut Frontier,
        enrolled: &'s HashSet<String>,
        accounts: &'s mut HashMap<String, AccountState>,
        new_salt: &'s mut dyn FnMut() -> Vec<u8>,
    ) -> Self {
        Decider {
            now,
            frontier,
            enrolled,
            accounts,
            new_salt,
            in_batch: HashMap::new(),
            reversed_now: HashSet::new(),
        }
    }

    /// Decide each append of `batch` in order, against the state the earlier ones leave.
    pub(super) fn decide(
        &mut self,
        batch: &'b [Pending],
        known: &Known,
    ) -> (Vec<Outcome>, Rows<'b>) {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut rows = Rows::default();
        for p in batch {
            outcomes.push(self.decide_one(p, known, &mut rows));
        }
        (outcomes, rows)
    }

    fn decide_one(&mut self, p: &'b Pending, known: &Known, rows: &mut Rows<'b>) -> Outcome {
        if let Some((h, a)) = self
            .in_batch
            .get(p.key.as_str())
            .or_else(|| known.keys.get(&p.key))
        {
            return if *h == p.hash {
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
                        IdempotencyKey::unscoped(&p.key),
                        a.index
                    ),
                ))
            };
        }
        let effect = match self.resolve(p, &known.originals) {
            Ok(e) => e,
            Err(e) => return Outcome::Refused(e),
        };
        if !self.enrolled.contains(&effect.citizen_id) {
            return Outcome::Refused(StoreError::NotFound { what: "citizen" });
        }
        let acct = citizen_account(&effect.citizen_id);
        let new_salt = &mut self.new_salt;
        let state = self
            .accounts
            .entry(acct.clone())
            .or_insert_with(|| AccountState {
                citizen_id: Some(effect.citizen_id.clone()),
                salt: Some(new_salt()),
                balance: 0,
                entries: 0,
                touched: false,
            });
        if state.balance + effect.delta < 0 {
            return Outcome::Refused(StoreError::Invalid(
                FieldError::new(
                    "amount",
                    "insufficient_balance",
                    format!(
                        "the balance is {} points, {} are needed",
                        state.balance, -effect.delta
                    ),
                )
                .into(),
            ));
        }
        let Some(salt) = state
            .salt
            .as_deref()
            .and_then(|s| <[u8; 32]>::try_from(s).ok())
        else {
            return Outcome::Refused(StoreError::NotFound { what: "citizen" });
        };
        let leaf = leaf(self.now, p, &effect, &salt);
        let bytes = match leaf.encode() {
            Ok(b) => b,
            Err(e) => {
                return Outcome::Refused(StoreError::invalid(
                    "entry",
                    "invalid_format",
                    &e.to_string(),
                ))
            }
        };
        // Only an entry that encodes changes the batch's state.
        state.balance += effect.delta;
        state.entries += 1;
        state.touched = true;
        Outcome::Done(self.accept(p, &leaf.entry_id, bytes, acct, effect, rows))
    }

    /// Record an accepted entry: the counter account's side, the credit it earns, its leaf in
    /// the tree, its rows, and its key for the rest of the batch.
    fn accept(
        &mut self,
        p: &'b Pending,
        entry_id: &str,
        bytes: Vec<u8>,
        acct: String,
        effect: Effect,
        rows: &mut Rows<'b>,
    ) -> Appended {
        let counter = self
            .accounts
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
            *rows
                .credit
                .entry((effect.citizen_id.clone(), month))
                .or_insert(0) += pts;
        }
        let index = self.frontier.size();
        rows.hashes.extend(self.frontier.append(leaf_hash(&bytes)));
        if let Some(of) = p.entry.reverses {
            self.reversed_now.insert(of);
        }
        let appended = Appended {
            index,
            entry_id: entry_id.to_string(),
            at_ms: self.now,
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
            .push((index, 1, effect.counter, None, -effect.delta));
        rows.entries.push((p, appended.clone(), bytes));
        self.in_batch
            .insert(p.key.as_str(), (p.hash, appended.clone()));
        appended
    }

    /// Who and what an append changes, or why it cannot be appended.
    fn resolve(
        &self,
        p: &Pending,
        originals: &HashMap<u64, Original>,
    ) -> std::result::Result<Effect, StoreError> {
        let e = &p.entry;
        match e.kind {
            EntryKind::Award => Ok(Effect {
                citizen_id: e.citizen_id.clone(),
                counter: e.counter_account.clone(),
                delta: e.amount,
                credit: Some((month_of(self.now), e.amount)),
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
                if self.reversed_now.contains(&of) {
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

/// The public leaf of an accepted entry: the citizen only as a salted commitment.
fn leaf(now: i64, p: &Pending, effect: &Effect, salt: &[u8; 32]) -> LeafEntry {
    LeafEntry {
        entry_id: domain::new_id(),
        kind: p.entry.kind,
        rule: p.entry.rule.clone(),
        reference: p.entry.reference.clone(),
        postings: vec![
            Posting {
                account: AccountRef::Citizen(Commitment::new(salt, &effect.citizen_id)),
                amount: effect.delta,
            },
            Posting {
                account: AccountRef::System(effect.counter.clone()),
                amount: -effect.delta,
            },
        ],
        approvers: p.entry.approvers.clone(),
        at_ms: now,
        details: details_commitment(salt, p.entry.reason.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::NewEntry;

    const NOW: i64 = 1_769_877_000_000; // 2026-02-01 00:30 in Beijing

    fn pending(key: &str, entry: NewEntry) -> Pending {
        let (reply, _answer) = tokio::sync::oneshot::channel();
        Pending {
            key: key.into(),
            hash: entry.request_hash(),
            entry,
            reply,
        }
    }

    fn award(citizen: &str, amount: i64) -> NewEntry {
        NewEntry::award(
            citizen,
            amount,
            "issuance:330281001",
            "standard:blood-donation@1",
            "献血",
            "deed",
            vec!["partner:p".into()],
        )
    }

    fn spend(citizen: &str, amount: i64) -> NewEntry {
        NewEntry::redemption(
            citizen,
            amount,
            "benefits:330281001",
            "benefit:x",
            "兑换",
            "redemption",
            vec!["partner:p".into()],
        )
    }

    struct World {
        frontier: Frontier,
        enrolled: HashSet<String>,
        accounts: HashMap<String, AccountState>,
    }

    impl World {
        fn new(citizens: &[&str]) -> World {
            World {
                frontier: Frontier::default(),
                enrolled: citizens.iter().map(|c| c.to_string()).collect(),
                accounts: HashMap::new(),
            }
        }

        fn decide<'b>(&mut self, batch: &'b [Pending], known: &Known) -> (Vec<Outcome>, Rows<'b>) {
            let mut salt = || vec![7u8; 32];
            Decider::new(
                NOW,
                &mut self.frontier,
                &self.enrolled,
                &mut self.accounts,
                &mut salt,
            )
            .decide(batch, known)
        }

        fn balance(&self, account: &str) -> i64 {
            self.accounts.get(account).map_or(0, |a| a.balance)
        }
    }

    fn code(o: &Outcome) -> &'static str {
        match o {
            Outcome::Done(a) if a.replayed => "replayed",
            Outcome::Done(_) => "done",
            Outcome::Refused(StoreError::Conflict(e)) => e.code,
            Outcome::Refused(StoreError::Invalid(e)) => e.0[0].code,
            Outcome::Refused(StoreError::NotFound { what }) => what,
            Outcome::Refused(_) => "other",
        }
    }

    #[test]
    fn appends_in_a_batch_see_the_balances_the_earlier_ones_leave() {
        let c = domain::new_id();
        let mut w = World::new(&[&c]);
        let batch = [
            pending("k1", award(&c, 10)),
            pending("k2", spend(&c, 4)),
            pending("k3", spend(&c, 7)),
        ];
        let (outcomes, rows) = w.decide(&batch, &Known::default());
        assert_eq!(
            outcomes.iter().map(code).collect::<Vec<_>>(),
            ["done", "done", "insufficient_balance"]
        );
        assert_eq!(w.balance(&citizen_account(&c)), 6);
        assert_eq!(w.balance("issuance:330281001"), -10);
        assert_eq!(w.balance("benefits:330281001"), 4);
        // Two entries, two postings each summing to zero, and the tree grew by two leaves.
        assert_eq!(rows.entries.len(), 2);
        assert_eq!(rows.postings.iter().map(|p| p.4).sum::<i64>(), 0);
        assert_eq!(w.frontier.size(), 2);
        assert_eq!(rows.entries[1].1.index, 1);
        // Only the award earns credit, in the batch's month (China Standard Time).
        assert_eq!(rows.credit.get(&(c.clone(), 202602)), Some(&10));
        assert_eq!(rows.credit.len(), 1);
    }

    #[test]
    fn a_key_used_again_replays_the_same_request_and_refuses_another() {
        let c = domain::new_id();
        let mut w = World::new(&[&c]);
        let mut known = Known::default();
        let earlier = Appended {
            index: 41,
            entry_id: "e".into(),
            at_ms: NOW - 1,
            replayed: true,
        };
        known
            .keys
            .insert("old".into(), (award(&c, 5).request_hash(), earlier));
        let batch = [
            pending("new", award(&c, 3)),
            pending("new", award(&c, 3)),
            pending("new", award(&c, 4)),
            pending("old", award(&c, 5)),
            pending("old", award(&c, 6)),
        ];
        let (outcomes, rows) = w.decide(&batch, &known);
        assert_eq!(
            outcomes.iter().map(code).collect::<Vec<_>>(),
            [
                "done",
                "replayed",
                "idempotency_conflict",
                "replayed",
                "idempotency_conflict"
            ]
        );
        let Outcome::Done(a) = &outcomes[3] else {
            panic!("replay")
        };
        assert_eq!(a.index, 41);
        assert_eq!(rows.entries.len(), 1, "a replay writes nothing");
        assert_eq!(w.balance(&citizen_account(&c)), 3);
    }

    #[test]
    fn reversals_undo_an_award_once_and_nothing_else() {
        let c = domain::new_id();
        let mut w = World::new(&[&c]);
        w.accounts.insert(
            citizen_account(&c),
            AccountState {
                citizen_id: Some(c.clone()),
                salt: Some(vec![1; 32]),
                balance: 30,
                entries: 2,
                touched: false,
            },
        );
        let mut known = Known::default();
        let original = |kind: &str, reversed_by| Original {
            kind: kind.into(),
            citizen_id: c.clone(),
            counter: "issuance:330281001".into(),
            amount: 20,
            at_ms: NOW - 40 * domain::time::DAY_MS,
            reversed_by,
        };
        known.originals.insert(1, original("award", None));
        known.originals.insert(2, original("redemption", None));
        known.originals.insert(3, original("award", Some(9)));
        let approvers = || vec!["staff:a".to_string(), "staff:b".to_string()];
        let batch = [
            pending("r1", NewEntry::reversal(1, "错误", approvers())),
            pending("r1b", NewEntry::reversal(1, "错误", approvers())),
            pending("r2", NewEntry::reversal(2, "错误", approvers())),
            pending("r3", NewEntry::reversal(3, "错误", approvers())),
            pending("r4", NewEntry::reversal(4, "错误", approvers())),
        ];
        let (outcomes, rows) = w.decide(&batch, &known);
        assert_eq!(
            outcomes.iter().map(code).collect::<Vec<_>>(),
            [
                "done",
                "already_reversed",
                "not_reversible",
                "already_reversed",
                "entry"
            ]
        );
        assert_eq!(w.balance(&citizen_account(&c)), 10);
        // The credit comes off in the month the award counted for, not this one.
        assert_eq!(rows.credit.get(&(c.clone(), 202512)), Some(&-20));
    }

    #[test]
    fn an_unknown_or_withdrawn_citizen_is_refused_and_a_new_one_gets_a_salt() {
        let (c, gone) = (domain::new_id(), domain::new_id());
        let mut w = World::new(&[&c, &gone]);
        // A withdrawn citizen's account keeps its row but loses its salt.
        w.accounts.insert(
            citizen_account(&gone),
            AccountState {
                citizen_id: Some(gone.clone()),
                salt: None,
                balance: 0,
                entries: 1,
                touched: false,
            },
        );
        let stranger = domain::new_id();
        let batch = [
            pending("a", award(&stranger, 1)),
            pending("b", award(&gone, 1)),
            pending("c", award(&c, 1)),
        ];
        let (outcomes, rows) = w.decide(&batch, &Known::default());
        assert_eq!(
            outcomes.iter().map(code).collect::<Vec<_>>(),
            ["citizen", "citizen", "done"]
        );
        assert_eq!(rows.entries.len(), 1);
        let new = &w.accounts[&citizen_account(&c)];
        assert_eq!(new.salt.as_deref(), Some(&[7u8; 32][..]));
        assert!(new.touched);
        assert!(!w.accounts[&citizen_account(&gone)].touched);
    }
}
