//! Leaves for tests and benchmarks (the `fixtures` feature): a well-formed award, different for
//! each `tag` and `i`, so that tests of receipts, witnesses and monitors build logs alike.

use crate::{AccountRef, Commitment, EntryKind, LeafEntry, Posting};

/// The encoded leaf of award `{tag}-{i}`: ten points from the city's issuance account to a
/// committed resident.
pub fn award_leaf(tag: &str, i: u64) -> Vec<u8> {
    LeafEntry {
        entry_id: format!("{tag}-{i}"),
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
        details: [0; 32],
    }
    .encode()
    .expect("a fixture leaf is well formed")
}
