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

/// Who asks to read a deed's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    /// A signed-in resident, by id.
    Resident(&'a str),
    /// A staff member: their role, the region their role is scoped to, whether still active.
    Staff {
        role: Role,
        region_id: Option<&'a str>,
        active: bool,
    },
    /// Anyone else (anonymous, a partner's key).
    Other,
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

    /// May `reader` read the deed's whole record (evidence, votes, history)? Its resident and
    /// whoever nominated them; the admin and auditors; the members of the committees that decide
    /// it: the evaluators of its village `village_id` and the reviewers of its town `town_id`
    /// (the caller looks the town up only for a town reviewer; `None` otherwise).
    pub fn may_read(&self, reader: Reader<'_>, village_id: &str, town_id: Option<&str>) -> bool {
        match reader {
            Reader::Resident(id) => {
                id == self.citizen_id
                    || (self.source == Source::Nomination && id == self.reporter_id)
            }
            Reader::Staff {
                role,
                region_id,
                active: true,
            } => match role {
                Role::Admin | Role::Auditor => true,
                Role::Evaluator => region_id == Some(village_id),
                Role::TownReviewer => town_id.is_some() && region_id == town_id,
                Role::PartnerOperator | Role::Broker => false,
            },
            Reader::Staff { active: false, .. } | Reader::Other => false,
        }
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
    fn a_deed_is_read_by_its_people_and_its_committees_only() {
        let staff = |role, region, active| Reader::Staff {
            role,
            region_id: region,
            active,
        };
        let read = |r| DEED.may_read(r, "v1", Some("t1"));
        assert!(read(Reader::Resident("doer")));
        assert!(read(Reader::Resident("neighbour")), "the nominator");
        assert!(!read(Reader::Resident("stranger")));
        assert!(read(staff(Role::Admin, None, true)));
        assert!(read(staff(Role::Auditor, None, true)));
        assert!(read(staff(Role::Evaluator, Some("v1"), true)));
        assert!(!read(staff(Role::Evaluator, Some("v2"), true)));
        assert!(read(staff(Role::TownReviewer, Some("t1"), true)));
        assert!(!read(staff(Role::TownReviewer, Some("t2"), true)));
        assert!(!DEED.may_read(staff(Role::TownReviewer, Some("t1"), true), "v1", None));
        assert!(
            !read(staff(Role::Admin, None, false)),
            "a deactivated account"
        );
        assert!(!read(staff(Role::PartnerOperator, None, true)));
        assert!(!read(Reader::Other));
        // A partner's submission has no nominator among the residents.
        let submitted = Parties {
            source: Source::Partner,
            ..DEED
        };
        assert!(!submitted.may_read(Reader::Resident("neighbour"), "v1", None));
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
