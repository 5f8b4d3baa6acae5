//! The market's workflows as state machines, and the forms that start them.

use crate::{FieldError, FieldErrors};
use serde::Serialize;

/// A demand's life: `open → matched` (an introduction accepted) `→ contracted` (a contract
/// recorded) and `closed` from any of them by its enterprise or the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    Open,
    Matched,
    Contracted,
    Closed,
}

/// What moves a demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandStep {
    IntroductionAccepted,
    ContractRecorded,
    Close,
}

impl DemandStatus {
    pub const ALL: [DemandStatus; 4] = [Self::Open, Self::Matched, Self::Contracted, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Matched => "matched",
            Self::Contracted => "contracted",
            Self::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Where a step leads, or why it may not be taken. An acceptance or a contract never moves a
    /// demand backwards (a second accepted introduction leaves a contracted demand contracted).
    pub fn step(self, step: DemandStep) -> Result<Self, &'static str> {
        use DemandStatus::*;
        match (self, step) {
            (Closed, _) => Err("demand_closed"),
            (Open, DemandStep::IntroductionAccepted) => Ok(Matched),
            (s, DemandStep::IntroductionAccepted) => Ok(s),
            (Open, DemandStep::ContractRecorded) => Err("not_matched"),
            (_, DemandStep::ContractRecorded) => Ok(Contracted),
            (_, DemandStep::Close) => Ok(Closed),
        }
    }

    /// Whether the enterprise may still ask for introductions.
    pub fn takes_introductions(self) -> bool {
        matches!(self, Self::Open | Self::Matched)
    }
}

/// An introduction's life (double opt-in): the enterprise asks, the expert (or the
/// achievement's owner) accepts or declines with a reason; the enterprise may withdraw an ask
/// not yet answered. Contacts are shown to both only once `accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IntroStatus {
    Asked,
    Accepted,
    Declined,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntroStep {
    Accept,
    Decline,
    Withdraw,
}

/// Who takes a step on an introduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntroParty {
    /// The enterprise that asked.
    Asker,
    /// The expert, or the achievement's owner.
    Answerer,
}

impl IntroStatus {
    pub const ALL: [IntroStatus; 4] =
        [Self::Asked, Self::Accepted, Self::Declined, Self::Withdrawn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asked => "asked",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn step(self, party: IntroParty, step: IntroStep) -> Result<Self, &'static str> {
        match (self, party, step) {
            (Self::Asked, IntroParty::Answerer, IntroStep::Accept) => Ok(Self::Accepted),
            (Self::Asked, IntroParty::Answerer, IntroStep::Decline) => Ok(Self::Declined),
            (Self::Asked, IntroParty::Asker, IntroStep::Withdraw) => Ok(Self::Withdrawn),
            (Self::Asked, _, _) => Err("not_your_step"),
            _ => Err("already_answered"),
        }
    }

    /// Whether contacts are shown to both sides.
    pub fn reveals_contacts(self) -> bool {
        self == Self::Accepted
    }
}

/// Why an introduction was declined (IN-PART's habit: industry gives a coded reason);
/// `market.reason.<code>` in the pages' words.
pub const DECLINE_REASONS: [&str; 6] = [
    "too_early",
    "benefit_unclear",
    "price",
    "not_our_field",
    "no_capacity",
    "other",
];

/// Budget and price bands, in yuan; `market.band.<code>`.
pub const BANDS: [&str; 6] = [
    "under_100k",
    "100k_500k",
    "500k_2m",
    "2m_10m",
    "over_10m",
    "negotiable",
];

/// Contract types as technology-contract registration (技术合同认定登记) knows them.
pub const CONTRACT_TYPES: [&str; 4] = ["development", "transfer", "consulting", "service"];

/// How an achievement is offered.
pub const LICENSING: [&str; 3] = ["transfer", "licence", "joint_development"];

/// Kinds of intellectual property an achievement rests on.
pub const IP_KINDS: [&str; 5] = [
    "invention_patent",
    "utility_model",
    "software_copyright",
    "plant_variety",
    "know_how",
];

/// Kinds of organisation; only a cooperative may receive a consultation that earns points.
pub const ENTERPRISE_KINDS: [&str; 3] = ["company", "cooperative", "institution"];

/// The area of the city's own enterprises and experts (`citydata::kinds::EXPERT_AREAS`): every
/// registered enterprise is local, so a demand's region is this, and a local expert is nearer.
pub const LOCAL_AREA: &str = "yuyao";

/// The expert consent's version: claiming a profile records the text agreed to.
pub const EXPERT_CONSENT_VERSION: &str = "expert-2026-12";

pub const TITLE_CHARS_MAX: usize = 40;
pub const SUMMARY_CHARS_MIN: usize = 10;
pub const SUMMARY_CHARS_MAX: usize = 500;
pub const DETAIL_CHARS_MAX: usize = 2000;
pub const MESSAGE_CHARS_MAX: usize = 300;
pub const KEYWORDS_MAX: usize = 12;
pub const KEYWORD_CHARS_MAX: usize = 20;
/// A deadline lies between tomorrow and a year ahead.
pub const DEADLINE_DAYS_MAX: i64 = 366;
/// A session seats at most this many.
pub const CAPACITY_MAX: i64 = 500;
/// A free consultation is counted in whole hours, at most a working day.
pub const CONSULT_HOURS_MAX: i64 = 8;
/// Open asks an enterprise may have at once: an introduction is a person's time, not a mailing.
pub const OPEN_ASKS_MAX: i64 = 20;

/// Trimmed text of bounded length, or the field's refusal.
pub fn text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min.max(1) {
        return Err(FieldError::new(
            field,
            "required",
            format!("needs at least {} characters", min.max(1)),
        ));
    }
    if n > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(FieldError::new(
            field,
            "control_characters",
            "must not hold control characters",
        ));
    }
    Ok(t.to_string())
}

/// One of a fixed list of codes.
pub fn one_of(
    field: &'static str,
    raw: &str,
    list: &[&'static str],
) -> Result<&'static str, FieldError> {
    list.iter()
        .copied()
        .find(|c| *c == raw.trim())
        .ok_or_else(|| {
            FieldError::new(
                field,
                "unknown_choice",
                format!("must be one of {}", list.join(", ")),
            )
        })
}

/// Keywords separated by commas (either width), semicolons or 、.
pub fn keywords(field: &'static str, raw: &str) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for k in raw.split([',', '，', ';', '；', '、', '\n']) {
        let k = k.trim();
        if k.is_empty() || out.iter().any(|o| o == k) {
            continue;
        }
        if k.chars().count() > KEYWORD_CHARS_MAX {
            return Err(FieldError::new(
                field,
                "keyword_too_long",
                format!("each keyword at most {KEYWORD_CHARS_MAX} characters"),
            ));
        }
        out.push(k.to_string());
    }
    if out.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            "needs at least one keyword",
        ));
    }
    if out.len() > KEYWORDS_MAX {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("at most {KEYWORDS_MAX} keywords"),
        ));
    }
    Ok(out)
}

/// A technology readiness level, 1 to 9.
pub fn trl(field: &'static str, raw: &str) -> Result<u8, FieldError> {
    match raw.trim().parse::<u8>() {
        Ok(n @ 1..=9) => Ok(n),
        _ => Err(FieldError::new(
            field,
            "out_of_range",
            "must be a whole number from 1 to 9",
        )),
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from the
/// code's alphabet, the last a check character over the first 17.
pub fn credit_code(field: &'static str, raw: &str) -> Result<String, FieldError> {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let code = raw.trim().to_ascii_uppercase();
    let values: Option<Vec<u32>> = code
        .chars()
        .map(|c| ALPHABET.find(c).map(|i| i as u32))
        .collect();
    let Some(values) = values.filter(|v| v.len() == 18) else {
        return Err(FieldError::new(
            field,
            "invalid_format",
            "must be 18 characters: digits and capital letters except I, O, Z, S, V",
        ));
    };
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    if values[17] != check {
        return Err(FieldError::new(
            field,
            "checksum",
            "its last character does not match the first 17",
        ));
    }
    Ok(code)
}

/// A demand as the enterprise types it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandForm {
    pub title: String,
    pub summary: String,
    pub detail: String,
    pub industry: &'static str,
    pub budget: &'static str,
    /// The last day, `YYYY-MM-DD`.
    pub deadline: String,
}

impl DemandForm {
    /// `today` is the city's day number (days since 1970-01-01 in China Standard Time).
    pub fn parse(
        title: &str,
        summary: &str,
        detail: &str,
        (industry, budget, deadline): (&str, &str, &str),
        today: i64,
    ) -> Result<Self, FieldErrors> {
        let mut e = FieldErrors::default();
        let title = e.take(text("title", title, 4, TITLE_CHARS_MAX));
        let summary = e.take(text(
            "summary",
            summary,
            SUMMARY_CHARS_MIN,
            SUMMARY_CHARS_MAX,
        ));
        let detail = if detail.trim().is_empty() {
            Some(String::new())
        } else {
            e.take(text("detail", detail, 1, DETAIL_CHARS_MAX))
        };
        let industry = e.take(super::codes::parse_industry("industry", industry).map(|c| c.code));
        let budget = e.take(one_of("budget", budget, &BANDS));
        let deadline = e.take(day_ahead("deadline", deadline, today));
        match (title, summary, detail, industry, budget, deadline) {
            (
                Some(title),
                Some(summary),
                Some(detail),
                Some(industry),
                Some(budget),
                Some(deadline),
            ) if e.0.is_empty() => Ok(Self {
                title,
                summary,
                detail,
                industry,
                budget,
                deadline,
            }),
            _ => Err(e),
        }
    }
}

/// A day `YYYY-MM-DD` from tomorrow up to a year ahead.
pub fn day_ahead(field: &'static str, raw: &str, today: i64) -> Result<String, FieldError> {
    let day = day_number(raw)
        .ok_or_else(|| FieldError::new(field, "invalid_date", "must be a date YYYY-MM-DD"))?;
    if day <= today {
        return Err(FieldError::new(
            field,
            "not_in_future",
            "must be after today",
        ));
    }
    if day > today + DEADLINE_DAYS_MAX {
        return Err(FieldError::new(field, "too_far", "at most a year ahead"));
    }
    Ok(raw.trim().to_string())
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn day_number(raw: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let d = time::Date::parse(raw.trim(), &fmt).ok()?;
    Some(i64::from(d.to_julian_day()) - 2_440_588)
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
