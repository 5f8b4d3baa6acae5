//! The rules of evaluation that need no storage: a deed's states and which steps lead where
//! ([`lifecycle`]), who may take a step ([`parties`]), the committee's quorum, recusal and how a
//! round of votes is decided ([`committee`]), the points a decision may name and the caps they
//! count against ([`points`]), and the checks on what a resident types into a report ([`text`]).
//!
//! The store persists a deed and asks these functions; it never decides on its own who may act
//! or what a step leads to.

pub mod committee;
pub mod lifecycle;
pub mod parties;
pub mod points;
pub mod text;

pub use committee::{casting_vote, quorum, recusal, tally, Member, Tally, COMMITTEE_MIN};
pub use lifecycle::{DeedStatus, Outcome, Step};
pub use parties::{Committee, Parties, Reader, Refusal, Source};
pub use points::{cap_window, check_cap, decided_points, submitted_points};
pub use text::{
    deed_date, text, DESCRIPTION_CHARS_MAX, EVIDENCE_FILES_MAX, PLACE_CHARS_MAX, REASON_CHARS_MAX,
};
