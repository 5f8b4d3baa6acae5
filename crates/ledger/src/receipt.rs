//! A receipt: one entry, its index, its inclusion proof and the signed checkpoint the proof is
//! against, as one JSON document a citizen downloads and anyone verifies offline with the
//! log's vkey. Each way a receipt can fail has its own error, so a verifier says exactly what.

use crate::checkpoint::{verify_checkpoint, CheckpointError};
use crate::leaf::{LeafEntry, LeafError};
use crate::tree::{check_inclusion, Hash};
use crate::witness::{Policy, Witnessed, WitnessedError};
use base64::Engine;
use serde::{Deserialize, Serialize};

pub const RECEIPT_FORMAT: &str = "moralbank-receipt/v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// A proof for any tree of up to 2^64 leaves has at most 64 hashes.
const PROOF_HASHES_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub format: String,
    /// The leaf's canonical bytes, base64.
    pub entry: String,
    pub index: u64,
    /// The inclusion proof's hashes, base64 each.
    pub proof: Vec<String>,
    /// The signed checkpoint (a C2SP signed note).
    pub checkpoint: String,
    /// For the citizen's own copy: what opens their commitment in the entry. Absent from a
    /// receipt shown to anyone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<Opening>,
}

/// A citizen id and the salt (hex) of the commitment `SHA-256(tag ‖ salt ‖ id)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub citizen_id: String,
    pub salt: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("not a {RECEIPT_FORMAT} receipt")]
    Format,
    #[error("the entry is not base64")]
    EntryEncoding,
    #[error("the entry is not a valid ledger leaf: {0}")]
    Entry(LeafError),
    #[error("the proof has a hash that is not 32 bytes of base64, or too many hashes")]
    ProofEncoding,
    #[error("the checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("entry index {index} is not in the checkpoint's tree of {size} entries")]
    IndexBeyondTree { index: u64, size: u64 },
    #[error("the inclusion proof does not lead from the entry to the checkpoint's root: the entry or the proof was altered")]
    ProofMismatch,
    #[error("the opening (citizen id and salt) does not open any account in the entry")]
    OpeningMismatch,
    #[error("the checkpoint's witnesses: {0}")]
    Witnesses(WitnessedError),
}

/// What a valid receipt proves: this entry is leaf `index` of the signed tree `size`/`root`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedReceipt {
    pub entry: LeafEntry,
    pub index: u64,
    pub size: u64,
    pub root: Hash,
    /// The citizen whose account in the entry the receipt's opening opened.
    pub opened_for: Option<String>,
}

impl Receipt {
    pub fn new(entry: &[u8], index: u64, proof: &[Hash], checkpoint: &str) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT.to_string(),
            entry: B64.encode(entry),
            index,
            proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
            checkpoint: checkpoint.to_string(),
            opening: None,
        }
    }

    /// The same receipt, carrying what opens `citizen_id`'s commitment.
    pub fn with_opening(mut self, citizen_id: &str, salt: &[u8; 32]) -> Receipt {
        self.opening = Some(Opening {
            citizen_id: citizen_id.to_string(),
            salt: hex::encode(salt),
        });
        self
    }
}

pub fn verify_receipt(r: &Receipt, vkey: &str) -> Result<VerifiedReceipt, ReceiptError> {
    if r.format != RECEIPT_FORMAT {
        return Err(ReceiptError::Format);
    }
    let data = B64
        .decode(&r.entry)
        .map_err(|_| ReceiptError::EntryEncoding)?;
    let entry = LeafEntry::decode(&data).map_err(ReceiptError::Entry)?;
    if r.proof.len() > PROOF_HASHES_MAX {
        return Err(ReceiptError::ProofEncoding);
    }
    let proof = r
        .proof
        .iter()
        .map(|h| {
            B64.decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(Hash)
                .ok_or(ReceiptError::ProofEncoding)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cp = verify_checkpoint(&r.checkpoint, vkey).map_err(ReceiptError::Checkpoint)?;
    if r.index >= cp.size() {
        return Err(ReceiptError::IndexBeyondTree {
            index: r.index,
            size: cp.size(),
        });
    }
    check_inclusion(&proof, cp.size(), *cp.hash(), r.index, &data)
        .map_err(|_| ReceiptError::ProofMismatch)?;
    let opened_for = match &r.opening {
        None => None,
        Some(o) => {
            let salt = hex::decode(&o.salt)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(ReceiptError::OpeningMismatch)?;
            let opens = entry.postings.iter().any(|p| {
                matches!(&p.account, crate::AccountRef::Citizen(c) if c.opens_to(&salt, &o.citizen_id))
            });
            if !opens {
                return Err(ReceiptError::OpeningMismatch);
            }
            Some(o.citizen_id.clone())
        }
    };
    Ok(VerifiedReceipt {
        entry,
        index: r.index,
        size: cp.size(),
        root: *cp.hash(),
        opened_for,
    })
}

/// [`verify_receipt`] under a trust policy: the log's key is the policy's, and the checkpoint
/// must carry valid cosignatures of at least the policy's quorum of its witnesses (the refusal
/// names the missing ones). Needs no network: the cosignatures travel in the receipt.
pub fn verify_receipt_with_policy(
    r: &Receipt,
    policy: &Policy,
) -> Result<(VerifiedReceipt, Witnessed), ReceiptError> {
    let verified = verify_receipt(r, &policy.log_vkey)?;
    let witnessed = policy
        .require_quorum(&r.checkpoint)
        .map_err(ReceiptError::Witnesses)?;
    Ok((verified, witnessed))
}

/// The first line of a C2SP `tlog-proof` (<https://c2sp.org/tlog-proof>).
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

impl Receipt {
    /// The receipt in the C2SP `tlog-proof` text layout, the entry carried as its `extra` data.
    /// (The opening has no place there: a tlog-proof is for anyone to hold.)
    pub fn to_tlog_proof(&self) -> String {
        let mut out = format!(
            "{TLOG_PROOF_HEADER}\nextra {}\nindex {}\n",
            self.entry, self.index
        );
        for h in &self.proof {
            out.push_str(h);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Read a receipt from the C2SP `tlog-proof` text layout (as written by
    /// [`Receipt::to_tlog_proof`]); the entry must be there as `extra`.
    pub fn from_tlog_proof(text: &str) -> Result<Receipt, ReceiptError> {
        let (head, checkpoint) = text.split_once("\n\n").ok_or(ReceiptError::Format)?;
        let mut lines = head.split('\n');
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(ReceiptError::Format);
        }
        let entry = lines
            .next()
            .and_then(|l| l.strip_prefix("extra "))
            .ok_or(ReceiptError::EntryEncoding)?
            .to_string();
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(|i| i.parse().ok())
            .ok_or(ReceiptError::Format)?;
        let proof: Vec<String> = lines.map(str::to_string).collect();
        if proof.len() > PROOF_HASHES_MAX {
            return Err(ReceiptError::ProofEncoding);
        }
        Ok(Receipt {
            format: RECEIPT_FORMAT.to_string(),
            entry,
            index,
            proof,
            checkpoint: checkpoint.to_string(),
            opening: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate_log_key, LogKey, MemoryLog};

    fn entry(i: u64) -> Vec<u8> {
        crate::fixtures::award_leaf("entry", i)
    }

    /// A log of 11 entries, its keys, and a receipt for entry 6.
    fn setup() -> (Receipt, String) {
        let (skey, vkey) = generate_log_key("test.example/log");
        let mut log = MemoryLog::new();
        for i in 0..11 {
            log.append(&entry(i));
        }
        let cp = LogKey::from_private(&skey)
            .expect("key")
            .sign(11, log.root(11).expect("root"))
            .expect("sign");
        (
            Receipt::new(&entry(6), 6, &log.inclusion(6, 11).expect("proof"), &cp),
            vkey,
        )
    }

    #[test]
    fn a_receipt_verifies_offline_and_round_trips_as_json() {
        let (r, vkey) = setup();
        let json = serde_json::to_string(&r).expect("json");
        let back: Receipt = serde_json::from_str(&json).expect("parse");
        let v = verify_receipt(&back, &vkey).expect("valid");
        assert_eq!(
            (v.index, v.size, v.entry.entry_id.as_str()),
            (6, 11, "entry-6")
        );
        assert_eq!(v.opened_for, None);
    }

    #[test]
    fn the_tlog_proof_layout_round_trips_and_verifies() {
        let (r, vkey) = setup();
        let text = r.to_tlog_proof();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "), "{text}");
        assert!(text.contains("\nindex 6\n"), "{text}");
        let back = Receipt::from_tlog_proof(&text).expect("parse");
        assert_eq!(back, r);
        verify_receipt(&back, &vkey).expect("valid");
        assert_eq!(
            Receipt::from_tlog_proof("hello\n\nx"),
            Err(ReceiptError::Format)
        );
        let no_extra = text.replacen("extra ", "other ", 1);
        assert_eq!(
            Receipt::from_tlog_proof(&no_extra),
            Err(ReceiptError::EntryEncoding)
        );
        let tampered = text.replacen("index 6", "index 5", 1);
        let t = Receipt::from_tlog_proof(&tampered).expect("parse");
        assert_eq!(verify_receipt(&t, &vkey), Err(ReceiptError::ProofMismatch));
    }

    #[test]
    fn an_opening_names_the_citizen_only_when_it_opens_their_commitment() {
        let (r, vkey) = setup();
        let mine = r.clone().with_opening("c6", &[3; 32]);
        assert_eq!(
            verify_receipt(&mine, &vkey)
                .expect("valid")
                .opened_for
                .as_deref(),
            Some("c6")
        );
        for bad in [
            r.clone().with_opening("c7", &[3; 32]),
            r.clone().with_opening("c6", &[4; 32]),
        ] {
            assert_eq!(
                verify_receipt(&bad, &vkey),
                Err(ReceiptError::OpeningMismatch)
            );
        }
        let mut short = mine.clone();
        if let Some(o) = short.opening.as_mut() {
            o.salt = "00".into();
        }
        assert_eq!(
            verify_receipt(&short, &vkey),
            Err(ReceiptError::OpeningMismatch)
        );
    }

    #[test]
    fn each_kind_of_bad_receipt_says_what_failed() {
        let (good, vkey) = setup();
        let with = |f: &dyn Fn(&mut Receipt)| {
            let mut r = good.clone();
            f(&mut r);
            verify_receipt(&r, &vkey).unwrap_err()
        };
        assert_eq!(with(&|r| r.format = "x".into()), ReceiptError::Format);
        assert_eq!(
            with(&|r| r.entry = "***".into()),
            ReceiptError::EntryEncoding
        );
        assert!(matches!(
            with(&|r| r.entry = B64.encode(b"hello")),
            ReceiptError::Entry(_)
        ));
        assert_eq!(
            with(&|r| r.entry = B64.encode(entry(7))),
            ReceiptError::ProofMismatch
        );
        assert_eq!(with(&|r| r.index = 5), ReceiptError::ProofMismatch);
        assert_eq!(
            with(&|r| r.index = 11),
            ReceiptError::IndexBeyondTree {
                index: 11,
                size: 11
            }
        );
        assert_eq!(
            with(&|r| r.proof[0] = B64.encode([0u8; 32])),
            ReceiptError::ProofMismatch
        );
        assert_eq!(
            with(&|r| r.proof[0] = B64.encode([0u8; 31])),
            ReceiptError::ProofEncoding
        );
        assert_eq!(
            with(&|r| r.checkpoint = r.checkpoint.replacen("\n11\n", "\n12\n", 1)),
            ReceiptError::Checkpoint(CheckpointError::BadSignature)
        );
        let (_, other) = generate_log_key("test.example/log");
        assert_eq!(
            verify_receipt(&good, &other).unwrap_err(),
            ReceiptError::Checkpoint(CheckpointError::NotSignedByKey)
        );
    }
}
