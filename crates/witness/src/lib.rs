//! The log's outside parties, who make a split view of the log detectable:
//!
//! * [`server`]: `moralbank witness`, a C2SP `tlog-witness` service a partner institution runs,
//!   keeping its records in a folder ([`state`]);
//! * [`collector`]: the log's side, asking the configured witnesses to cosign each new
//!   checkpoint, off the ledger's append path;
//! * [`monitor`]: `moralbank monitor`, following a log over HTTP through its checkpoints and
//!   tiles and reporting every inconsistency;
//! * [`http`]: the client they share.
//!
//! The protocol's rules (what a witness checks, the cosignature format, the trust policy) are
//! `moralbank_ledger::witness`'s; this crate does the IO.

pub mod collector;
pub mod http;
pub mod monitor;
pub mod server;
pub mod state;

pub use collector::Endpoint;
pub use server::Witness;
