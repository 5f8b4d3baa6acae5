use serde::Serialize;

/// What a staff account may do. One role per account; scope (village, town, partner) is stored
/// beside it. Citizens are not staff and have no role here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 文明办: the city civilisation office.
    Admin,
    /// Read-only audit views.
    Auditor,
    /// Member of a village committee; scoped to one village.
    Evaluator,
    /// Member of a town committee; scoped to one town.
    TownReviewer,
    /// Staff of a partner organisation; scoped to that organisation.
    PartnerOperator,
    /// 科技红娘: a broker of the technology supermarket's office (enterprises, experts,
    /// achievements, matches, events, contracts).
    Broker,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Auditor,
        Role::Evaluator,
        Role::TownReviewer,
        Role::PartnerOperator,
        Role::Broker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Evaluator => "evaluator",
            Role::TownReviewer => "town_reviewer",
            Role::PartnerOperator => "partner_operator",
            Role::Broker => "broker",
        }
    }

    pub fn parse(raw: &str) -> Result<Role, crate::FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or_else(|| {
                crate::FieldError::new(
                    "role",
                    "unknown_role",
                    "must be one of admin, auditor, evaluator, town_reviewer, partner_operator, broker",
                )
            })
    }

    /// The region level this role is scoped to, if any.
    pub fn scope_level(self) -> Option<crate::RegionLevel> {
        match self {
            Role::Evaluator => Some(crate::RegionLevel::Village),
            Role::TownReviewer => Some(crate::RegionLevel::Town),
            _ => None,
        }
    }

    pub fn needs_partner(self) -> bool {
        self == Role::PartnerOperator
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
        }
        assert_eq!(Role::parse("root").unwrap_err().code, "unknown_role");
    }
}
