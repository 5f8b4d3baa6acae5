//! A ledger entry as a log leaf: a line-oriented text that is canonical (one entry has exactly
//! one encoding, and decoding re-encodes to the same bytes), readable in an entry bundle, and
//! free of personal data. A citizen's account is a commitment `SHA-256(tag ‖ salt ‖ id)`:
//! the server and the citizen (who can download their salt) can open it; withdrawal deletes the
//! salt, after which nobody can, while the leaf and the tree stay unchanged.

use sha2::{Digest, Sha256};

pub const LEAF_FORMAT: &str = "moralbank-entry/v1";
const COMMITMENT_TAG: &[u8] = b"moralbank-commitment/v1\0";
/// Bounds that keep a leaf small and a malicious one cheap to refuse.
pub const POSTINGS_MAX: usize = 16;
pub const APPROVERS_MAX: usize = 8;
pub const FIELD_BYTES_MAX: usize = 128;
pub const LEAF_BYTES_MAX: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    pub fn new(salt: &[u8; 32], citizen_id: &str) -> Commitment {
        let mut h = Sha256::new();
        h.update(COMMITMENT_TAG);
        h.update(salt);
        h.update(citizen_id.as_bytes());
        Commitment(h.finalize().into())
    }

    /// Does this commitment stand for `citizen_id` under `salt`?
    pub fn opens_to(&self, salt: &[u8; 32], citizen_id: &str) -> bool {
        Commitment::new(salt, citizen_id) == *self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountRef {
    /// A citizen, by commitment only.
    Citizen(Commitment),
    /// A system account, e.g. `issuance:<region id>` or `benefits:<partner id>`.
    System(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub account: AccountRef,
    /// Positive credits, negative debits; the postings of one entry sum to zero.
    pub amount: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Award,
    Redemption,
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Award => "award",
            EntryKind::Redemption => "redemption",
            EntryKind::Reversal => "reversal",
        }
    }

    fn parse(s: &str) -> Option<EntryKind> {
        [EntryKind::Award, EntryKind::Redemption, EntryKind::Reversal]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafEntry {
    /// The entry's id in the ledger (a UUID).
    pub entry_id: String,
    pub kind: EntryKind,
    /// The rule (point standard and version) or benefit the entry comes from.
    pub rule: String,
    /// What it refers to, e.g. the deed it rewards or the entry it reverses.
    pub reference: String,
    pub postings: Vec<Posting>,
    /// Staff ids of who approved it (opaque ids, not names).
    pub approvers: Vec<String>,
    pub at_ms: i64,
    /// Commits to the words kept only in the database (the reason a resident reads), so that
    /// changing them is detectable: `SHA-256(tag ‖ salt ‖ text)` under the citizen's salt, which
    /// a withdrawal deletes (see [`details_commitment`]).
    pub details: [u8; 32],
}

const DETAILS_TAG: &[u8] = b"moralbank-details/v1\0";

/// The commitment to an entry's private details under a citizen's salt.
pub fn details_commitment(salt: &[u8; 32], text: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DETAILS_TAG);
    h.update(salt);
    h.update(text.as_bytes());
    h.finalize().into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("leaf field {field}: {why}")]
    Field {
        field: &'static str,
        why: &'static str,
    },
    #[error("postings must be 2 to 16, each non-zero, summing to zero")]
    Postings,
    #[error("not a {LEAF_FORMAT} leaf: {0}")]
    Malformed(&'static str),
}

fn check_field(field: &'static str, v: &str, may_be_empty: bool) -> Result<(), LeafError> {
    let bad = |why| Err(LeafError::Field { field, why });
    if v.is_empty() && !may_be_empty {
        return bad("is empty");
    }
    if v.len() > FIELD_BYTES_MAX {
        return bad("is longer than 128 bytes");
    }
    // Printable ASCII without spaces: keeps the encoding unambiguous and the leaf free of text
    // a person typed (names, reasons), which stays in the database, not in the public log.
    if !v.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("must be printable ASCII without spaces");
    }
    Ok(())
}

impl LeafEntry {
    fn validate(&self) -> Result<(), LeafError> {
        check_field("entry_id", &self.entry_id, false)?;
        check_field("rule", &self.rule, false)?;
        check_field("reference", &self.reference, true)?;
        for a in &self.approvers {
            check_field("approver", a, false)?;
        }
        if self.approvers.len() > APPROVERS_MAX {
            return Err(LeafError::Field {
                field: "approvers",
                why: "more than 8",
            });
        }
        for p in &self.postings {
            if let AccountRef::System(name) = &p.account {
                check_field("account", name, false)?;
            }
        }
        let sum = self
            .postings
            .iter()
            .try_fold(0i64, |acc, p| acc.checked_add(p.amount));
        if !(2..=POSTINGS_MAX).contains(&self.postings.len())
            || self.postings.iter().any(|p| p.amount == 0)
            || sum != Some(0)
        {
            return Err(LeafError::Postings);
        }
        Ok(())
    }

    /// The canonical bytes (the leaf's data; its hash is `SHA-256(0x00 ‖ bytes)`).
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        self.validate()?;
        let mut out = format!(
            "{LEAF_FORMAT}\nentry {}\nkind {}\nrule {}\nreference {}\nat {}\ndetails {}\n",
            self.entry_id,
            self.kind.as_str(),
            self.rule,
            self.reference,
            self.at_ms,
            hex::encode(self.details)
        );
        for p in &self.postings {
            match &p.account {
                AccountRef::Citizen(c) => {
                    out += &format!("posting citizen:{} {}\n", hex::encode(c.0), p.amount)
                }
                AccountRef::System(s) => out += &format!("posting system:{s} {}\n", p.amount),
            }
        }
        for a in &self.approvers {
            out += &format!("approver {a}\n");
        }
        Ok(out.into_bytes())
    }

    /// Parse canonical bytes; anything that would not re-encode to the same bytes is refused.
    pub fn decode(bytes: &[u8]) -> Result<LeafEntry, LeafError> {
        if bytes.len() > LEAF_BYTES_MAX {
            return Err(LeafError::Malformed("too large"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| LeafError::Malformed("not UTF-8"))?;
        let mut lines = text
            .strip_suffix('\n')
            .ok_or(LeafError::Malformed("no final newline"))?
            .split('\n');
        if lines.next() != Some(LEAF_FORMAT) {
            return Err(LeafError::Malformed("unknown format line"));
        }
        let mut field = |name: &'static str| -> Result<String, LeafError> {
            let line = lines.next().ok_or(LeafError::Malformed("missing line"))?;
            let (key, value) = line
                .split_once(' ')
                .ok_or(LeafError::Malformed("line without value"))?;
            if key != name {
                return Err(LeafError::Malformed("fields out of order"));
            }
            Ok(value.to_string())
        };
        let entry_id = field("entry")?;
        let kind = EntryKind::parse(&field("kind")?).ok_or(LeafError::Malformed("unknown kind"))?;
        let rule = field("rule")?;
        let reference = field("reference")?;
        let at_ms = field("at")?
            .parse()
            .map_err(|_| LeafError::Malformed("bad time"))?;
        let details: [u8; 32] = hex::decode(field("details")?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(LeafError::Malformed("bad details commitment"))?;
        let (mut postings, mut approvers) = (Vec::new(), Vec::new());
        for line in lines {
            if let Some(rest) = line.strip_prefix("posting ") {
                let (account, amount) = rest
                    .rsplit_once(' ')
                    .ok_or(LeafError::Malformed("bad posting"))?;
                let amount = amount
                    .parse()
                    .map_err(|_| LeafError::Malformed("bad amount"))?;
                let account = if let Some(h) = account.strip_prefix("citizen:") {
                    let raw = hex::decode(h).map_err(|_| LeafError::Malformed("bad commitment"))?;
                    AccountRef::Citizen(Commitment(
                        raw.try_into()
                            .map_err(|_| LeafError::Malformed("bad commitment"))?,
                    ))
                } else if let Some(s) = account.strip_prefix("system:") {
                    AccountRef::System(s.to_string())
                } else {
                    return Err(LeafError::Malformed("bad account"));
                };
                postings.push(Posting { account, amount });
            } else if let Some(a) = line.strip_prefix("approver ") {
                approvers.push(a.to_string());
            } else {
                return Err(LeafError::Malformed("unknown line"));
            }
        }
        let entry = LeafEntry {
            entry_id,
            kind,
            rule,
            reference,
            postings,
            approvers,
            at_ms,
            details,
        };
        if entry.encode()? != bytes {
            return Err(LeafError::Malformed("not canonical"));
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LeafEntry {
        LeafEntry {
            entry_id: "0193a1b2-0000-7000-8000-000000000001".into(),
            kind: EntryKind::Award,
            rule: "volunteer-hour@3".into(),
            reference: "deed:0193a1b2-0000-7000-8000-0000000000aa".into(),
            postings: vec![
                Posting {
                    account: AccountRef::System("issuance:330281001".into()),
                    amount: -20,
                },
                Posting {
                    account: AccountRef::Citizen(Commitment::new(&[7; 32], "citizen-1")),
                    amount: 20,
                },
            ],
            approvers: vec!["staff-a".into(), "staff-b".into()],
            at_ms: 1_764_000_000_000,
            details: [7; 32],
        }
    }

    #[test]
    fn an_entry_round_trips_through_its_canonical_bytes() {
        let e = sample();
        let bytes = e.encode().expect("valid");
        assert_eq!(LeafEntry::decode(&bytes).expect("decodes"), e);
        let text = String::from_utf8(bytes).expect("text");
        assert!(text.starts_with("moralbank-entry/v1\nentry "));
        assert!(!text.contains("citizen-1"), "the citizen id never appears");
    }

    #[test]
    fn unbalanced_or_empty_postings_and_free_text_are_refused() {
        let mut e = sample();
        e.postings[0].amount = -19;
        assert_eq!(e.encode(), Err(LeafError::Postings));
        let mut e = sample();
        e.postings.truncate(1);
        assert_eq!(e.encode(), Err(LeafError::Postings));
        let mut e = sample();
        e.rule = "张三 helped".into();
        assert!(matches!(
            e.encode(),
            Err(LeafError::Field { field: "rule", .. })
        ));
        let mut e = sample();
        e.postings[0].amount = i64::MIN;
        assert_eq!(
            e.encode(),
            Err(LeafError::Postings),
            "overflow is not a zero sum"
        );
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let bytes = sample().encode().expect("valid");
        let text = String::from_utf8(bytes).expect("text");
        for bad in [
            text.replace("kind award", "kind gift"),
            text.replace("at 1764000000000", "at 01764000000000"),
            text.trim_end().to_string(),
            text.replace("approver staff-a\n", "approver staff-a\nnote hello\n"),
        ] {
            assert!(LeafEntry::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_commitment_opens_only_with_its_salt_and_id() {
        let c = Commitment::new(&[1; 32], "c1");
        assert!(c.opens_to(&[1; 32], "c1"));
        assert!(!c.opens_to(&[2; 32], "c1"));
        assert!(!c.opens_to(&[1; 32], "c2"));
    }
}
