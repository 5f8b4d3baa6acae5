//! A request to append one ledger entry, before it has an index: one citizen's account against
//! one system account, with the rule, the reason and who approved it. Every check that needs no
//! database ([`NewEntry::check`]) and the hash a retry must repeat ([`NewEntry::request_hash`])
//! live here, next to the leaf they become.

use crate::leaf::EntryKind;
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Largest amount one entry may move (a brave deed is worth hundreds, not millions).
pub const AMOUNT_MAX: i64 = 1_000_000;
/// Longest reason, in characters.
pub const REASON_CHARS_MAX: usize = 500;

/// A request to append one entry: one citizen's account against one system account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// The citizen credited (award) or debited (redemption). For a reversal, taken from the
    /// entry it reverses.
    pub citizen_id: String,
    /// Positive. For a reversal, taken from the entry it reverses.
    pub amount: i64,
    /// The system account on the other side: `issuance:<region code>` for awards,
    /// `benefits:<partner>` for redemptions.
    pub counter_account: String,
    /// The rule (point standard and version) or benefit, e.g. `standard:blood-donation@3`.
    pub rule: String,
    /// Why, in words a resident reads. Stays in the database, never in the public log.
    pub reason: String,
    /// What it refers to (the deed, the redemption, `entry:<index>` for a reversal).
    pub reference: String,
    /// Principal ids of who approved it, e.g. `staff:<id>` or `partner:<id>`.
    pub approvers: Vec<String>,
    /// The entry a reversal undoes.
    pub reverses: Option<u64>,
}

impl Serialize for EntryKindSer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0.as_str())
    }
}
struct EntryKindSer(EntryKind);

impl NewEntry {
    #[allow(clippy::too_many_arguments)]
    pub fn award(
        citizen_id: &str,
        amount: i64,
        counter_account: &str,
        rule: &str,
        reason: &str,
        reference: &str,
        approvers: Vec<String>,
    ) -> NewEntry {
        NewEntry {
            kind: EntryKind::Award,
            citizen_id: citizen_id.into(),
            amount,
            counter_account: counter_account.into(),
            rule: rule.into(),
            reason: reason.into(),
            reference: reference.into(),
            approvers,
            reverses: None,
        }
    }

    pub fn redemption(
        citizen_id: &str,
        amount: i64,
        counter_account: &str,
        rule: &str,
        reason: &str,
        reference: &str,
        approvers: Vec<String>,
    ) -> NewEntry {
        NewEntry {
            kind: EntryKind::Redemption,
            ..NewEntry::award(
                citizen_id,
                amount,
                counter_account,
                rule,
                reason,
                reference,
                approvers,
            )
        }
    }

    /// Undo award `of`; `approvers` are the two different people who asked and approved.
    pub fn reversal(of: u64, reason: &str, approvers: Vec<String>) -> NewEntry {
        NewEntry {
            kind: EntryKind::Reversal,
            citizen_id: String::new(),
            amount: 0,
            counter_account: String::new(),
            rule: "reversal".into(),
            reason: reason.into(),
            reference: format!("entry:{of}"),
            approvers,
            reverses: Some(of),
        }
    }

    /// Every check that needs no database, each failure naming its field.
    #[allow(clippy::too_many_lines)] // one check per field, in the order the errors are reported
    pub fn check(&self) -> std::result::Result<(), FieldErrors> {
        let mut errs = FieldErrors::default();
        let ascii = |field: &'static str, v: &str, may_be_empty: bool| -> Option<FieldError> {
            if v.is_empty() && !may_be_empty {
                Some(FieldError::new(field, "missing", "is required"))
            } else if v.len() > crate::leaf::FIELD_BYTES_MAX
                || !v.bytes().all(|b| b.is_ascii_graphic())
            {
                Some(FieldError::new(
                    field,
                    "invalid_format",
                    "must be 1 to 128 printable ASCII characters without spaces",
                ))
            } else {
                None
            }
        };
        if self.kind == EntryKind::Reversal {
            if self.reverses.is_none() {
                errs.push(FieldError::new(
                    "reverses",
                    "missing",
                    "which entry to reverse",
                ));
            }
            if self.approvers.len() != 2 || self.approvers[0] == self.approvers[1] {
                errs.push(FieldError::new(
                    "approvers",
                    "second_approver_required",
                    "a reversal needs two different approvers: who asked and who approved",
                ));
            }
        } else {
            if self.reverses.is_some() {
                errs.push(FieldError::new(
                    "reverses",
                    "not_allowed",
                    "only a reversal reverses an entry",
                ));
            }
            match domain::parse_id("citizen_id", &self.citizen_id) {
                Ok(id) if id == self.citizen_id => {}
                Ok(_) => errs.push(FieldError::new(
                    "citizen_id",
                    "invalid_id",
                    "must be written in lower case without spaces",
                )),
                Err(e) => errs.push(e),
            }
            if !(1..=AMOUNT_MAX).contains(&self.amount) {
                errs.push(FieldError::new(
                    "amount",
                    "out_of_range",
                    format!("must be a whole number of points from 1 to {AMOUNT_MAX}"),
                ));
            }
            if let Some(e) = ascii("counter_account", &self.counter_account, false) {
                errs.push(e);
            } else if self.counter_account.starts_with("citizen:") {
                errs.push(FieldError::new(
                    "counter_account",
                    "invalid_format",
                    "must be a system account",
                ));
            }
        }
        for (field, v, empty) in [
            ("rule", &self.rule, false),
            ("reference", &self.reference, true),
        ] {
            if let Some(e) = ascii(field, v, empty) {
                errs.push(e);
            }
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            errs.push(FieldError::new(
                "reason",
                "missing",
                "say why, in words a resident reads",
            ));
        } else if reason.chars().count() > REASON_CHARS_MAX || reason.chars().any(char::is_control)
        {
            errs.push(FieldError::new(
                "reason",
                "invalid_format",
                format!("at most {REASON_CHARS_MAX} characters, no control characters"),
            ));
        }
        if self.approvers.is_empty() || self.approvers.len() > crate::leaf::APPROVERS_MAX {
            errs.push(FieldError::new(
                "approvers",
                "invalid_format",
                "1 to 8 approvers",
            ));
        }
        for a in &self.approvers {
            if let Some(e) = ascii("approvers", a, false) {
                errs.push(e);
                break;
            }
        }
        errs.into_result()
    }

    /// What a retry must repeat exactly: the SHA-256 of the whole request.
    pub fn request_hash(&self) -> [u8; 32] {
        let json = serde_json::to_vec(&(
            EntryKindSer(self.kind),
            &self.citizen_id,
            self.amount,
            &self.counter_account,
            &self.rule,
            self.reason.trim(),
            &self.reference,
            &self.approvers,
            self.reverses,
        ))
        .unwrap_or_default();
        Sha256::digest(json).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_checks_name_each_bad_field() {
        let id = domain::new_id();
        let good = NewEntry::award(
            &id,
            10,
            "issuance:330281",
            "standard:x@1",
            "helped",
            "",
            vec!["staff:a".into()],
        );
        assert_eq!(good.check(), Ok(()));
        let fields = |e: NewEntry| -> Vec<String> {
            e.check()
                .unwrap_err()
                .0
                .into_iter()
                .map(|f| f.field)
                .collect()
        };
        assert_eq!(
            fields(NewEntry {
                amount: 0,
                ..good.clone()
            }),
            ["amount"]
        );
        assert_eq!(
            fields(NewEntry {
                amount: AMOUNT_MAX + 1,
                ..good.clone()
            }),
            ["amount"]
        );
        assert_eq!(
            fields(NewEntry {
                citizen_id: "x".into(),
                ..good.clone()
            }),
            ["citizen_id"]
        );
        assert_eq!(
            fields(NewEntry {
                counter_account: "citizen:x".into(),
                ..good.clone()
            }),
            ["counter_account"]
        );
        assert_eq!(
            fields(NewEntry {
                rule: "has space".into(),
                ..good.clone()
            }),
            ["rule"]
        );
        assert_eq!(
            fields(NewEntry {
                reason: "  ".into(),
                ..good.clone()
            }),
            ["reason"]
        );
        assert_eq!(
            fields(NewEntry {
                approvers: vec![],
                ..good.clone()
            }),
            ["approvers"]
        );
        assert_eq!(
            fields(NewEntry::reversal(
                3,
                "wrong person",
                vec!["staff:a".into(), "staff:a".into()]
            )),
            ["approvers"]
        );
        assert_eq!(
            NewEntry::reversal(3, "wrong person", vec!["staff:a".into(), "staff:b".into()]).check(),
            Ok(())
        );
        assert_ne!(
            good.request_hash(),
            NewEntry {
                reason: "other".into(),
                ..good.clone()
            }
            .request_hash()
        );
    }
}
