//! Witnesses: other parties that cosign the log's checkpoints after checking that each one
//! extends the last they saw, so that the log cannot show two histories (a split view) without
//! a witness refusing and keeping the two signed checkpoints as evidence.
//!
//! * [`cosign`]: C2SP `tlog-cosignature` (`cosignature/v1`, Ed25519): keys, signing, verifying;
//! * [`protocol`]: C2SP `tlog-witness`'s `add-checkpoint` request and the witness's checks;
//! * [`policy`]: which witnesses a verifier trusts and how many must have cosigned (the quorum).

pub mod cosign;
pub mod policy;
pub mod protocol;

pub use cosign::{generate_witness_key, CosignError, CosignatureVerifier, WitnessKey};
pub use policy::{Policy, PolicyError, Witnessed, WitnessedError};
pub use protocol::{check, Accepted, AddCheckpoint, Recorded, Refusal};
