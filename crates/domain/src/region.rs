use serde::Serialize;

/// City → town/street (镇/街道) → village/community (村/社区).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    City,
    Town,
    Village,
}

impl RegionLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::City => "city",
            RegionLevel::Town => "town",
            RegionLevel::Village => "village",
        }
    }

    pub fn parse(raw: &str) -> Option<RegionLevel> {
        match raw {
            "city" => Some(RegionLevel::City),
            "town" => Some(RegionLevel::Town),
            "village" => Some(RegionLevel::Village),
            _ => None,
        }
    }

    /// The level a child of this region has; villages have no children.
    pub fn child(self) -> Option<RegionLevel> {
        match self {
            RegionLevel::City => Some(RegionLevel::Town),
            RegionLevel::Town => Some(RegionLevel::Village),
            RegionLevel::Village => None,
        }
    }
}
