//! Who may take a step on a deed: its resident, whoever nominated them, the members of its
//! village's committee, the reviewers of its town. A caller outside the deed's circle is told
//! the deed does not exist ([`Refusal::Hidden`]), so that nobody learns of deeds they may not see.

use crate::{FieldError, Role};

/// How a deed reached the committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Reported by its own resident.
    Own,
    /// Nominated by another resident.
    Nomination,
    /// Submitted by a partner organisation.
    Partner,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Own => "own",
            Source::Nomination => "nomination",
            Source::Partner => "partner",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        [Source::Own, Source::Nomination, Source::Partner]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// A report by resident `reporter` of a deed done by `citizen`.
    pub fn of_report(reporter: &str, citizen: &str) -> Source {
        if reporter == citizen {
            Source::Own
        } else {
            Source::Nomination
        }
    }
}

/// Why a step is refused to this caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller may not see the deed at all: answer as if it did not exist.
    Hidden,
    /// The caller sees the deed but may not take this step (a conflict, field by field).
    Conflict(FieldError),
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Self {
        Refusal::Conflict(e)
    }
}

/// The people a deed concerns.
#[derive(Debug, Clone, Copy)]
pub struct Parties<'a> {
    /// The resident who did the deed.
    pub citizen_id: &'a str,
    /// The resident or partner who reported it.
    pub reporter_id: &'a str,
    pub source: Source,
}

impl Parties<'_> {
    /// The resident, or whoever nominated them, may appeal a rejection; to anyone else the deed
    /// is hidden.
    pub fn may_appeal(&self, citizen_id: &str) -> Result<(), Refusal> {
        if citizen_id == self.citizen_id || citizen_id == self.reporter_id {
            Ok(())
        } else {
            Err(Refusal::Hidden)
        }
    }

    /// Anyone but the resident and their nominator may object to a deed on publicity.
    pub fn may_object(&self, citizen_id: &str) -> Result<(), Refusal> {
        if citizen_id == self.citizen_id
            || (self.source == Source::Nomination && citizen_id == self.reporter_id)
        {
            return Err(Refusal::Conflict(FieldError::new(
                "deed",
                "own_deed",
                "you cannot object to your own deed or one you nominated",
            )));
        }
        Ok(())
    }

    /// Is `citizen_id` the resident or the reporter (for recusal)?
    pub fn involves(&self, citizen_id: &str) -> bool {
        citizen_id == self.citizen_id || citizen_id == self.reporter_id
    }
}

/// The committee that decides a step: the deed's village committee (votes) or its town's
/// reviewers (appeals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committee<'a> {
    Village(&'a str),
    Town(&'a str),
}

impl Committee<'_> {
    /// The staff role that sits on this committee.
    pub fn role(&self) -> Role {
        match self {
            Committee::Village(_) => Role::Evaluator,
            Committee::Town(_) => Role::TownReviewer,
        }
    }

    pub fn region_id(&self) -> &str {
        match self {
            Committee::Village(r) | Committee::Town(r) => r,
        }
    }

    /// Does an active staff member with this role and region sit on the committee? One who
    /// does not is told the deed does not exist.
    pub fn seats(&self, role: Role, region_id: Option<&str>, active: bool) -> Result<(), Refusal> {
        if active && role == self.role() && region_id == Some(self.region_id()) {
            Ok(())
        } else {
            Err(Refusal::Hidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEED: Parties<'static> = Parties {
        citizen_id: "doer",
        reporter_id: "neighbour",
        source: Source::Nomination,
    };

    #[test]
    fn only_the_resident_and_their_nominator_appeal_and_only_others_object() {
        assert_eq!(DEED.may_appeal("doer"), Ok(()));
        assert_eq!(DEED.may_appeal("neighbour"), Ok(()));
        assert_eq!(DEED.may_appeal("stranger"), Err(Refusal::Hidden));
        assert_eq!(DEED.may_object("stranger"), Ok(()));
        for who in ["doer", "neighbour"] {
            let Err(Refusal::Conflict(e)) = DEED.may_object(who) else {
                panic!("{who} may not object");
            };
            assert_eq!(e.code, "own_deed");
        }
        // A partner that submitted a deed is no resident: its id never matches one.
        let partner = Parties {
            source: Source::Partner,
            ..DEED
        };
        assert_eq!(partner.may_object("neighbour"), Ok(()));
    }

    #[test]
    fn a_committee_seats_only_its_own_active_members() {
        let village = Committee::Village("v1");
        assert_eq!(village.seats(Role::Evaluator, Some("v1"), true), Ok(()));
        for (role, region, active) in [
            (Role::Evaluator, Some("v2"), true),
            (Role::Evaluator, Some("v1"), false),
            (Role::TownReviewer, Some("v1"), true),
            (Role::Admin, None, true),
        ] {
            assert_eq!(village.seats(role, region, active), Err(Refusal::Hidden));
        }
        assert_eq!(
            Committee::Town("t1").seats(Role::TownReviewer, Some("t1"), true),
            Ok(())
        );
    }

    #[test]
    fn sources_round_trip() {
        for s in [Source::Own, Source::Nomination, Source::Partner] {
            assert_eq!(Source::parse(s.as_str()), Some(s));
        }
        assert_eq!(Source::of_report("a", "a"), Source::Own);
        assert_eq!(Source::of_report("a", "b"), Source::Nomination);
    }
}
