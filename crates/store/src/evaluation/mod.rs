//! Evaluation (公民道德评议): point standards, deeds, the committee's votes, publicity with
//! objections, appeals, the credit run that turns finished publicity into ledger awards, the
//! deed's history and the residents' inbox. The rules that need no storage live in
//! `domain::deed`; times are passed in (`now_ms`), so tests and the scheduler control the clock.

mod deeds;
mod links;
pub(crate) mod standards;

pub(crate) use deeds::{let_writes_go_on, Plan, Planned, Prepared, RowOutcome, Touched, Written};
pub use deeds::{
    Appeal, AppealDecision, BoardCursor, BoardPage, CreditReport, Deed, DeedDetail, DeedEvent,
    Evidence, NewDeed, Notification, Objection, PublicDeed, Reporter, Rules, Vote, VoteInput,
    BOARD_PAGE_ROWS,
};
pub use links::{CommitteeHealth, StaffLink};
pub use standards::{default_catalogue, NewStandard, Standard, POINTS_MAX, TRUSTED_PARTNERS_MAX};

crate::facet!(Evaluation, evaluation, "Evaluation's part of the store (`store.evaluation()`): standards, deeds through their life, the queues, boards and inbox, committee links.");
