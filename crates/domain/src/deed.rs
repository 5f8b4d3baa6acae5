//! The rules of evaluation that need no storage: a deed's states and which steps lead where,
//! the committee's quorum and how a round of votes is decided, and the checks on what a
//! resident types into a report.

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
}

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

pub const DESCRIPTION_CHARS_MAX: usize = 1000;
pub const PLACE_CHARS_MAX: usize = 100;
pub const REASON_CHARS_MAX: usize = 500;

/// Free text a person types: trimmed, non-empty, bounded, no control characters.
pub fn text(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "missing", "is required"));
    }
    if t.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(
            field,
            "invalid_characters",
            "contains control characters",
        ));
    }
    Ok(t.to_string())
}

/// A deed's date: `yyyy-mm-dd`, a real day, not after `today` (same format) and not before 2000.
pub fn deed_date(raw: &str, today: &str) -> Result<String, FieldError> {
    let bad = || FieldError::new("deed_date", "invalid_date", "a date as yyyy-mm-dd");
    let t = raw.trim();
    let parts: Vec<&str> = t.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i32, u8, u8) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let month = time::Month::try_from(m).map_err(|_| bad())?;
    time::Date::from_calendar_date(y, month, d).map_err(|_| bad())?;
    if y < 2000 {
        return Err(FieldError::new(
            "deed_date",
            "too_old",
            "a date from 2000 on",
        ));
    }
    if t > today {
        return Err(FieldError::new(
            "deed_date",
            "in_future",
            "a deed cannot be reported before it happened",
        ));
    }
    Ok(t.to_string())
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
    fn dates_and_texts_are_checked_field_by_field() {
        assert_eq!(deed_date("2026-02-28", "2026-11-29").unwrap(), "2026-02-28");
        for (raw, code) in [
            ("2026-02-30", "invalid_date"),
            ("26-02-01", "invalid_date"),
            ("2026-12-01", "in_future"),
            ("1999-12-31", "too_old"),
        ] {
            assert_eq!(
                deed_date(raw, "2026-11-29").unwrap_err().code,
                code,
                "{raw}"
            );
        }
        assert_eq!(text("place", "  ", 10).unwrap_err().code, "missing");
        assert_eq!(
            text("place", "一二三四五六七八九十一", 10)
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            text("place", "a\u{7}b", 10).unwrap_err().code,
            "invalid_characters"
        );
        assert_eq!(text("place", " 东山社区 ", 10).unwrap(), "东山社区");
    }
}
