//! The points ledger (store: `ledger`): partners' postings, residents' points, entries and
//! receipts, the admin's ledger console with four-eyes reversals ([`flows`], [`api`],
//! [`pages`]), and the public transparency log under `/log` ([`log`]).

pub(crate) mod api;
pub(crate) mod flows;
pub(crate) mod labels;
pub mod log;
pub(crate) mod pages;
