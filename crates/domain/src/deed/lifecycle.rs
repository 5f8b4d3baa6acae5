//! A deed's life as a state machine: its states, the steps people take on it, and what each
//! step's outcome leads to.

use crate::FieldError;

/// Where a deed is in its life. Transitions (anything else is refused):
///
/// ```text
/// review ──quorum approves──▶ publicity ──period ends──▶ credited
///    │                          │   ▲
///    │                     objection │ objection dismissed (new round)
///    │                          ▼   │
///    │                        paused ─┐
///    │                                │ objection upheld
///    ▼ quorum rejects                 ▼
/// rejected ──appeal (once, in time)──▶ appealed ──town reverses──▶ publicity
///                                          └──town upholds──▶ closed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeedStatus {
    Review,
    Publicity,
    Paused,
    Rejected,
    Appealed,
    Credited,
    Closed,
}

/// A step someone takes on a deed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A committee member votes (a round in review, or after an objection).
    Vote,
    /// A resident objects while the deed is on publicity.
    Object,
    /// The resident (or their nominator) appeals a rejection.
    Appeal,
    /// The town decides an appeal.
    DecideAppeal,
}

/// What a step, or the end of a period, decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The committee's round approved: publicity (an objection, if any, is dismissed).
    Approved,
    /// The committee's round rejected (an objection, if any, is upheld).
    Rejected,
    /// An objection paused publicity for a new round.
    Objected,
    /// A rejection was appealed.
    Appealed,
    /// The town reversed the rejection: publicity.
    AppealReversed,
    /// The town upheld the rejection: closed for good.
    AppealUpheld,
    /// Publicity ended with no objection upheld: the points are credited.
    Credited,
}

impl DeedStatus {
    pub const ALL: [DeedStatus; 7] = [
        DeedStatus::Review,
        DeedStatus::Publicity,
        DeedStatus::Paused,
        DeedStatus::Rejected,
        DeedStatus::Appealed,
        DeedStatus::Credited,
        DeedStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeedStatus::Review => "review",
            DeedStatus::Publicity => "publicity",
            DeedStatus::Paused => "paused",
            DeedStatus::Rejected => "rejected",
            DeedStatus::Appealed => "appealed",
            DeedStatus::Credited => "credited",
            DeedStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<DeedStatus> {
        DeedStatus::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The committee votes on a deed only in these states.
    pub fn is_voting(self) -> bool {
        matches!(self, DeedStatus::Review | DeedStatus::Paused)
    }

    /// May `step` be taken on a deed in this state? A refusal names the field `deed`, with a
    /// code per reason (`not_open_for_votes`, `not_on_publicity`, `not_rejected`,
    /// `already_appealed`, `no_open_appeal`).
    pub fn allows(self, step: Step) -> Result<(), FieldError> {
        let (open, code) = match step {
            Step::Vote => (self.is_voting(), "not_open_for_votes"),
            Step::Object => (self == DeedStatus::Publicity, "not_on_publicity"),
            Step::Appeal => (
                self == DeedStatus::Rejected,
                if matches!(self, DeedStatus::Appealed | DeedStatus::Closed) {
                    "already_appealed"
                } else {
                    "not_rejected"
                },
            ),
            Step::DecideAppeal => (self == DeedStatus::Appealed, "no_open_appeal"),
        };
        if open {
            Ok(())
        } else {
            Err(FieldError::new(
                "deed",
                code,
                format!("the deed is {}", self.as_str()),
            ))
        }
    }

    /// The state `outcome` leads to from this one, or `None` when it cannot happen here.
    pub fn after(self, outcome: Outcome) -> Option<DeedStatus> {
        use DeedStatus::*;
        match (self, outcome) {
            (Review | Paused, Outcome::Approved) => Some(Publicity),
            (Review | Paused, Outcome::Rejected) => Some(Rejected),
            (Publicity, Outcome::Objected) => Some(Paused),
            (Publicity, Outcome::Credited) => Some(Credited),
            (Rejected, Outcome::Appealed) => Some(Appealed),
            (Appealed, Outcome::AppealReversed) => Some(Publicity),
            (Appealed, Outcome::AppealUpheld) => Some(Closed),
            _ => None,
        }
    }

    /// Nothing more can happen to the deed.
    pub fn is_final(self) -> bool {
        matches!(self, DeedStatus::Credited | DeedStatus::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTCOMES: [Outcome; 7] = [
        Outcome::Approved,
        Outcome::Rejected,
        Outcome::Objected,
        Outcome::Appealed,
        Outcome::AppealReversed,
        Outcome::AppealUpheld,
        Outcome::Credited,
    ];

    #[test]
    fn statuses_round_trip_and_only_review_and_paused_take_votes() {
        for s in DeedStatus::ALL {
            assert_eq!(DeedStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeedStatus::parse("x"), None);
        let voting: Vec<_> = DeedStatus::ALL
            .into_iter()
            .filter(|s| s.is_voting())
            .collect();
        assert_eq!(voting, [DeedStatus::Review, DeedStatus::Paused]);
    }

    #[test]
    fn the_transitions_are_exactly_those_of_the_diagram() {
        use DeedStatus::*;
        let mut edges = Vec::new();
        for s in DeedStatus::ALL {
            for o in OUTCOMES {
                if let Some(t) = s.after(o) {
                    edges.push((s, o, t));
                }
            }
        }
        assert_eq!(
            edges,
            [
                (Review, Outcome::Approved, Publicity),
                (Review, Outcome::Rejected, Rejected),
                (Publicity, Outcome::Objected, Paused),
                (Publicity, Outcome::Credited, Credited),
                (Paused, Outcome::Approved, Publicity),
                (Paused, Outcome::Rejected, Rejected),
                (Rejected, Outcome::Appealed, Appealed),
                (Appealed, Outcome::AppealReversed, Publicity),
                (Appealed, Outcome::AppealUpheld, Closed),
            ]
        );
        // A final state leads nowhere.
        for s in DeedStatus::ALL.into_iter().filter(|s| s.is_final()) {
            assert!(OUTCOMES.iter().all(|o| s.after(*o).is_none()), "{s:?}");
        }
    }

    #[test]
    fn a_step_in_the_wrong_state_is_refused_with_its_reason() {
        use DeedStatus::*;
        let code = |s: DeedStatus, step| s.allows(step).err().map(|e| e.code);
        assert_eq!(code(Review, Step::Vote), None);
        assert_eq!(code(Paused, Step::Vote), None);
        assert_eq!(code(Publicity, Step::Vote), Some("not_open_for_votes"));
        assert_eq!(code(Publicity, Step::Object), None);
        assert_eq!(code(Paused, Step::Object), Some("not_on_publicity"));
        assert_eq!(code(Rejected, Step::Appeal), None);
        assert_eq!(code(Appealed, Step::Appeal), Some("already_appealed"));
        assert_eq!(code(Closed, Step::Appeal), Some("already_appealed"));
        assert_eq!(code(Review, Step::Appeal), Some("not_rejected"));
        assert_eq!(code(Appealed, Step::DecideAppeal), None);
        assert_eq!(code(Rejected, Step::DecideAppeal), Some("no_open_appeal"));
        let e = Credited.allows(Step::Object).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.detail.as_str()),
            ("deed", "the deed is credited")
        );
        // Every step a state allows has an outcome that leaves it.
        for s in DeedStatus::ALL {
            if s.allows(Step::Vote).is_ok() {
                assert!(s.after(Outcome::Approved).is_some());
            }
            if s.allows(Step::Object).is_ok() {
                assert_eq!(s.after(Outcome::Objected), Some(Paused));
            }
            if s.allows(Step::Appeal).is_ok() {
                assert_eq!(s.after(Outcome::Appealed), Some(Appealed));
            }
        }
    }
}
