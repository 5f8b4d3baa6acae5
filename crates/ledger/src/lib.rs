//! The transparency log's pure parts, usable without a database or a server (so that a
//! citizen, an auditor or a witness can verify with this crate alone):
//!
//! * [`leaf`]: the canonical encoding of a ledger entry as a log leaf, in which a citizen
//!   appears only as a salted commitment (no personal data in the public log);
//! * [`tree`]: the RFC 6962 Merkle tree over stored hashes (the `tlog_tiles` crate, a port of
//!   Go's `golang.org/x/mod/sumdb/tlog`), with an in-memory log used to recompute trees;
//! * [`checkpoint`]: C2SP `tlog-checkpoint` tree heads signed as C2SP `signed-note`s (Ed25519);
//! * [`entry`]: a request to append an entry, checked field by field before it is sequenced;
//! * [`receipt`]: an entry's inclusion proof with a signed checkpoint, verified offline;
//! * [`witness`]: witnesses' cosignatures (C2SP `tlog-cosignature`), the `tlog-witness`
//!   protocol's checks, and the trust policy (log key, witness keys, quorum) receipts are held to.
//!
//! It must not do IO: storing hashes and serving tiles belong to the store and web layers.

pub mod checkpoint;
pub mod entry;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod leaf;
pub mod receipt;
pub mod stored;
pub mod tiles;
pub mod tree;
pub mod witness;

pub use checkpoint::{generate_log_key, parse_vkey, verify_checkpoint, CheckpointError, LogKey};
pub use entry::NewEntry;
pub use leaf::{
    details_commitment, AccountRef, Commitment, EntryKind, LeafEntry, LeafError, Posting,
};
pub use receipt::{
    verify_receipt, verify_receipt_with_policy, Receipt, ReceiptError, VerifiedReceipt,
    TLOG_PROOF_HEADER,
};
pub use stored::{Frontier, Plan};
pub use tiles::{TileKind, TilePath};
pub use tree::{leaf_hash, Hash, MemoryLog, TreeError};
pub use witness::{Policy, Witnessed, WitnessedError};
