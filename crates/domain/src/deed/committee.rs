//! A committee's round of votes: the quorum, recusal, the tally and the chair's casting vote.

use super::parties::{Parties, Refusal, Source};
use crate::FieldError;

/// Votes needed to decide: the configured number, else a majority of the committee.
pub fn quorum(members: usize, configured: Option<usize>) -> usize {
    configured.unwrap_or(members / 2 + 1).max(1)
}

/// Committees smaller than this cannot decide anything.
pub const COMMITTEE_MIN: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tally {
    Pending,
    /// Approved with the points the approving members proposed (their median, rounded down).
    Approved {
        points: i64,
    },
    Rejected,
}

/// Decide a round from its votes: `approvals` are the points each approving member proposed.
pub fn tally(approvals: &[i64], rejections: usize, quorum: usize) -> Tally {
    if approvals.len() >= quorum {
        let mut p = approvals.to_vec();
        p.sort_unstable();
        Tally::Approved {
            points: p[(p.len() - 1) / 2],
        }
    } else if rejections >= quorum {
        Tally::Rejected
    } else {
        Tally::Pending
    }
}

/// The chair's casting vote (主任裁决): when every member who may vote on a deed has voted and
/// the round is tied (as many approvals as rejections, so neither side reached the quorum), the
/// side the chair voted for decides; approving takes the approvals' median like [`tally`].
/// Without a chair's vote in the round (no chair, or the chair is recused) it stays pending.
pub fn casting_vote(
    approvals: &[i64],
    rejections: usize,
    eligible: usize,
    chair_approved: Option<bool>,
) -> Tally {
    let tied = !approvals.is_empty()
        && approvals.len() == rejections
        && approvals.len() + rejections >= eligible;
    match (tied, chair_approved) {
        (true, Some(true)) => tally(approvals, 0, approvals.len()),
        (true, Some(false)) => Tally::Rejected,
        _ => Tally::Pending,
    }
}

/// A committee member as recusal sees them, for one deed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub staff_id: String,
    pub is_chair: bool,
    /// Linked to a resident record that still exists.
    pub linked: bool,
    /// Their household is the deed's, or they are the deed's resident or reporter.
    pub recused: bool,
}

impl Member {
    /// A member whose staff account is linked to the resident `citizen_id` living in
    /// `household_id` (both `None` when unlinked or the record was withdrawn), for a deed of
    /// `deed_household` concerning `parties`.
    pub fn for_deed(
        staff_id: String,
        is_chair: bool,
        citizen_id: Option<&str>,
        household_id: Option<&str>,
        deed_household: &str,
        parties: &Parties<'_>,
    ) -> Member {
        let recused =
            household_id == Some(deed_household) || citizen_id.is_some_and(|c| parties.involves(c));
        Member {
            staff_id,
            is_chair,
            linked: household_id.is_some(),
            recused,
        }
    }

    pub fn may_vote(&self) -> bool {
        self.linked && !self.recused
    }
}

/// Refuse a member who may not decide this deed: not on the committee (hidden), unlinked
/// (recusal could not be checked) or recused (their own household's deed, or one they reported
/// or nominated).
pub fn recusal(members: &[Member], staff_id: &str, source: Source) -> Result<(), Refusal> {
    let Some(me) = members.iter().find(|m| m.staff_id == staff_id) else {
        return Err(Refusal::Hidden);
    };
    if !me.linked {
        return Err(Refusal::Conflict(FieldError::new(
            "staff",
            "not_linked",
            "your account is not linked to your resident record, so recusal cannot be checked; ask the admin to link it",
        )));
    }
    if me.recused {
        let detail = if matches!(source, Source::Nomination | Source::Own) {
            "a member cannot decide a deed of their own household or one they reported or nominated"
        } else {
            "a member cannot decide a deed of their own household"
        };
        return Err(Refusal::Conflict(FieldError::new(
            "deed", "recused", detail,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_majority_decides_and_points_are_the_median_of_the_approvals() {
        assert_eq!(quorum(3, None), 2);
        assert_eq!(quorum(4, None), 3);
        assert_eq!(quorum(5, Some(4)), 4);
        assert_eq!(tally(&[10], 0, 2), Tally::Pending);
        assert_eq!(tally(&[10, 30], 0, 2), Tally::Approved { points: 10 });
        assert_eq!(tally(&[30, 10, 20], 1, 3), Tally::Approved { points: 20 });
        assert_eq!(tally(&[10], 2, 2), Tally::Rejected);
    }

    #[test]
    fn a_tie_of_everyone_who_may_vote_is_decided_by_the_chair() {
        // Four members, quorum three: two against two is a tie the chair breaks.
        assert_eq!(
            casting_vote(&[10, 20], 2, 4, Some(true)),
            Tally::Approved { points: 10 }
        );
        assert_eq!(casting_vote(&[10, 20], 2, 4, Some(false)), Tally::Rejected);
        // Not a tie yet while someone may still vote, or not a tie at all, or no chair voted.
        assert_eq!(casting_vote(&[10], 1, 3, Some(true)), Tally::Pending);
        assert_eq!(casting_vote(&[10, 20], 1, 3, Some(true)), Tally::Pending);
        assert_eq!(casting_vote(&[10], 1, 2, None), Tally::Pending);
        assert_eq!(casting_vote(&[], 0, 0, Some(true)), Tally::Pending);
    }

    #[test]
    fn members_of_the_household_and_the_reporter_stand_aside() {
        let deed = Parties {
            citizen_id: "doer",
            reporter_id: "neighbour",
            source: Source::Nomination,
        };
        let m = |id: &str, citizen: Option<&str>, household: Option<&str>| {
            Member::for_deed(id.into(), false, citizen, household, "h1", &deed)
        };
        let members = [
            m("same-home", Some("spouse"), Some("h1")),
            m("nominator", Some("neighbour"), Some("h2")),
            m("unlinked", None, None),
            m("other", Some("x"), Some("h3")),
        ];
        let code = |staff: &str| match recusal(&members, staff, deed.source) {
            Ok(()) => "ok",
            Err(Refusal::Hidden) => "hidden",
            Err(Refusal::Conflict(e)) => e.code,
        };
        assert_eq!(code("same-home"), "recused");
        assert_eq!(code("nominator"), "recused");
        assert_eq!(code("unlinked"), "not_linked");
        assert_eq!(code("other"), "ok");
        assert_eq!(code("not-a-member"), "hidden");
        assert_eq!(
            members.iter().filter(|m| m.may_vote()).count(),
            1,
            "only the unrelated, linked member may vote"
        );
    }
}
