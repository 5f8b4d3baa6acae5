//! A receipt: one entry, its index, its inclusion proof and the signed checkpoint the proof is
//! against, as one JSON document a citizen downloads and anyone verifies offline with the
//! log's vkey. Each way a receipt can fail has its own error, so a verifier says exactly what.

use crate::checkpoint::{verify_checkpoint, CheckpointError};
use crate::leaf::{LeafEntry, LeafError};
use crate::tree::{check_inclusion, Hash};
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
}

/// What a valid receipt proves: this entry is leaf `index` of the signed tree `size`/`root`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedReceipt {
    pub entry: LeafEntry,
    pub index: u64,
    pub size: u64,
    pub root: Hash,
}

impl Receipt {
    pub fn new(entry: &[u8], index: u64, proof: &[Hash], checkpoint: &str) -> Receipt {
        Receipt {
            format: RECEIPT_FORMAT.to_string(),
            entry: B64.encode(entry),
            index,
            proof: proof.iter().map(|h| B64.encode(h.0)).collect(),
            checkpoint: checkpoint.to_string(),
        }
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
    Ok(VerifiedReceipt {
        entry,
        index: r.index,
        size: cp.size(),
        root: *cp.hash(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate_log_key, AccountRef, Commitment, EntryKind, LogKey, MemoryLog, Posting};

    fn entry(i: u64) -> Vec<u8> {
        LeafEntry {
            entry_id: format!("entry-{i}"),
            kind: EntryKind::Award,
            rule: "blood-donation@1".into(),
            reference: String::new(),
            postings: vec![
                Posting {
                    account: AccountRef::System("issuance:330281".into()),
                    amount: -10,
                },
                Posting {
                    account: AccountRef::Citizen(Commitment::new(&[3; 32], &format!("c{i}"))),
                    amount: 10,
                },
            ],
            approvers: vec!["blood-centre".into()],
            at_ms: 1_764_000_000_000 + i as i64,
        }
        .encode()
        .expect("valid")
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
