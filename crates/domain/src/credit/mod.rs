//! Moral credit loans (道德信用贷), the rules: a household's consent to one bank and its life
//! ([`ConsentStatus`]), the published credit-line table ([`LineTable`]), and what a bank
//! records back ([`Decision`], [`LoanMonth`]). The bank decides; nothing here decides for it,
//! and nothing here changes points or tiers (principle 1).

use crate::{FieldError, FieldErrors};
use serde::Serialize;

mod decision;
pub use decision::{
    parse_month, Decision, DecisionInput, LoanMonth, LoanState, Outcome, REASON_CODES,
};

/// What the household consents to: the only purpose there is.
pub const PURPOSE: &str = "loan_application";
/// The data a report carries, as `credit.category.<name>` in the pages' words.
pub const DATA_CATEGORIES: [&str; 6] = [
    "tier",
    "credit_points",
    "points_by_category",
    "badges_green_cards",
    "in_publicity",
    "log_checkpoint",
];
pub const EXPIRY_DAYS_DEFAULT: u32 = 7;
pub const EXPIRY_DAYS_MAX: u32 = 30;
pub const LOOKBACK_MONTHS_DEFAULT: u32 = 36;
pub const LOOKBACK_MONTHS_MAX: u32 = 36;
/// An adult is 18 or older on the day the consent is asked for.
pub const ADULT_AGE: u32 = 18;

/// A consent's life: `requested → authorised → used | revoked | expired` (a requested consent
/// may also be revoked or expire before every adult has authorised it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentStatus {
    Requested,
    Authorised,
    Used,
    Revoked,
    Expired,
}

impl ConsentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Requested => "requested",
            ConsentStatus::Authorised => "authorised",
            ConsentStatus::Used => "used",
            ConsentStatus::Revoked => "revoked",
            ConsentStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentStatus> {
        [
            ConsentStatus::Requested,
            ConsentStatus::Authorised,
            ConsentStatus::Used,
            ConsentStatus::Revoked,
            ConsentStatus::Expired,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// The status as it stands at `now`: a stored `requested` or `authorised` past its expiry
    /// is `expired` (the sweep that writes it may not have run yet).
    pub fn at(self, expires_at: i64, now: i64) -> ConsentStatus {
        match self {
            ConsentStatus::Requested | ConsentStatus::Authorised if now >= expires_at => {
                ConsentStatus::Expired
            }
            s => s,
        }
    }

    /// Still open to a member's authorisation or revocation.
    pub fn is_open(self) -> bool {
        matches!(self, ConsentStatus::Requested | ConsentStatus::Authorised)
    }
}

/// Why a report cannot be issued or read under a consent; each its own answer, none
/// disclosing anything of the household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// No consent with this id for this caller (another household's, another bank's, none).
    NoConsent,
    /// Not every adult member has authorised it yet.
    NotAuthorised,
    Revoked,
    Expired,
    /// Its one report has been issued and read already.
    Used,
    /// Its purpose is not a loan application.
    PurposeMismatch,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::NoConsent => "consent_not_found",
            Refusal::NotAuthorised => "consent_not_authorised",
            Refusal::Revoked => "consent_revoked",
            Refusal::Expired => "consent_expired",
            Refusal::Used => "consent_used",
            Refusal::PurposeMismatch => "consent_purpose_mismatch",
        }
    }
}

/// May a report be issued under a consent of `status` and `purpose` at `now`?
pub fn may_issue(
    status: ConsentStatus,
    purpose: &str,
    expires_at: i64,
    now: i64,
) -> Result<(), Refusal> {
    if purpose != PURPOSE {
        return Err(Refusal::PurposeMismatch);
    }
    match status.at(expires_at, now) {
        ConsentStatus::Authorised => Ok(()),
        ConsentStatus::Requested => Err(Refusal::NotAuthorised),
        ConsentStatus::Used => Err(Refusal::Used),
        ConsentStatus::Revoked => Err(Refusal::Revoked),
        ConsentStatus::Expired => Err(Refusal::Expired),
    }
}

/// The consent's terms as the household asks for them: days until it expires (1 to 30, 7 by
/// default) and months of history (1 to 36, 36 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terms {
    pub expiry_days: u32,
    pub lookback_months: u32,
}

impl Terms {
    pub fn parse(expiry_days: &str, lookback_months: &str) -> Result<Terms, FieldErrors> {
        let mut errs = FieldErrors::default();
        let num =
            |field: &'static str, raw: &str, default: u32, max: u32, errs: &mut FieldErrors| {
                let raw = raw.trim();
                if raw.is_empty() {
                    return default;
                }
                match raw.parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) => n,
                    _ => {
                        errs.push(FieldError::new(
                            field,
                            "out_of_range",
                            format!("must be a whole number from 1 to {max}"),
                        ));
                        default
                    }
                }
            };
        let expiry_days = num(
            "expiry_days",
            expiry_days,
            EXPIRY_DAYS_DEFAULT,
            EXPIRY_DAYS_MAX,
            &mut errs,
        );
        let lookback_months = num(
            "lookback_months",
            lookback_months,
            LOOKBACK_MONTHS_DEFAULT,
            LOOKBACK_MONTHS_MAX,
            &mut errs,
        );
        errs.into_result().map(|()| Terms {
            expiry_days,
            lookback_months,
        })
    }
}

/// Is someone born on `birth` (y, m, d) an adult on `today` (y, m, d)?
pub fn is_adult(birth: (u32, u32, u32), today: (u32, u32, u32)) -> bool {
    let years = today.0.saturating_sub(birth.0);
    let had_birthday = (today.1, today.2) >= (birth.1, birth.2);
    let age = if had_birthday {
        years
    } else {
        years.saturating_sub(1)
    };
    age >= ADULT_AGE
}

/// One row of the credit-line table: a tier's suggested maximum line and rate discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineRow {
    pub tier: u8,
    pub max_line_yuan: u64,
    /// Off the bank's posted rate, in basis points of it (2000 = 20 % lower).
    pub rate_discount_bp: u32,
}

/// The published table of one bank: its posted annual rate and a row per tier. Each change is
/// a new version; a report names the version it used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineTable {
    /// The bank's own posted annual rate for such loans, basis points (435 = 4.35 %).
    pub posted_rate_bp: u32,
    pub rows: Vec<LineRow>,
}

pub const LINE_MAX_YUAN: u64 = 5_000_000;
pub const RATE_BP_MAX: u32 = 3_600;

impl LineTable {
    /// Parse the admin's form: the posted rate in percent (`4.35`) and, per tier 1..=`tiers`,
    /// a line in yuan and a discount in percent. Lines and discounts may not fall as tiers rise.
    pub fn parse(
        posted_rate_pct: &str,
        lines: &[String],
        discounts_pct: &[String],
    ) -> Result<LineTable, FieldErrors> {
        let mut errs = FieldErrors::default();
        let posted_rate_bp = match parse_bp(posted_rate_pct) {
            Some(bp) if bp > 0 && bp <= RATE_BP_MAX => bp,
            _ => {
                errs.push(FieldError::new(
                    "posted_rate",
                    "out_of_range",
                    "must be an annual rate in percent above 0 and at most 36, e.g. 4.35",
                ));
                0
            }
        };
        let mut rows = Vec::new();
        for (i, (line, disc)) in lines.iter().zip(discounts_pct).enumerate() {
            let tier = u8::try_from(i + 1).unwrap_or(u8::MAX);
            let max_line_yuan = match line.trim().parse::<u64>() {
                Ok(n) if n <= LINE_MAX_YUAN => n,
                _ => {
                    errs.push(FieldError::new(
                        format!("line_{tier}"),
                        "out_of_range",
                        format!("must be a whole number of yuan from 0 to {LINE_MAX_YUAN}"),
                    ));
                    0
                }
            };
            let rate_discount_bp = match parse_bp(disc) {
                Some(bp) if bp <= 5_000 => bp,
                _ => {
                    errs.push(FieldError::new(
                        format!("discount_{tier}"),
                        "out_of_range",
                        "must be a percent from 0 to 50, e.g. 20",
                    ));
                    0
                }
            };
            if let Some(prev) = rows.last().copied() {
                let LineRow {
                    max_line_yuan: pl,
                    rate_discount_bp: pd,
                    ..
                } = prev;
                if max_line_yuan < pl {
                    errs.push(FieldError::new(
                        format!("line_{tier}"),
                        "falls_with_tier",
                        "a higher tier may not get a smaller line than the one below",
                    ));
                }
                if rate_discount_bp < pd {
                    errs.push(FieldError::new(
                        format!("discount_{tier}"),
                        "falls_with_tier",
                        "a higher tier may not get a smaller discount than the one below",
                    ));
                }
            }
            rows.push(LineRow {
                tier,
                max_line_yuan,
                rate_discount_bp,
            });
        }
        if rows.is_empty() {
            errs.push(FieldError::new(
                "line_1",
                "required",
                "the table needs a row per tier",
            ));
        }
        errs.into_result().map(|()| LineTable {
            posted_rate_bp,
            rows,
        })
    }

    /// The row for `tier` (the highest row at or below it).
    pub fn row(&self, tier: u8) -> Option<LineRow> {
        self.rows.iter().rev().find(|r| r.tier <= tier).copied()
    }
}

/// `4.35` → 435 basis points; at most two decimals, no sign.
pub fn parse_bp(raw: &str) -> Option<u32> {
    let raw = raw.trim().trim_end_matches('%');
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() && frac.is_empty()
        || frac.len() > 2
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 6
    {
        return None;
    }
    let w: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let f: u32 = format!("{frac:0<2}").parse().ok()?;
    w.checked_mul(100)?.checked_add(f)
}

/// Basis points as a percent text: 435 → `4.35`.
pub fn bp_text(bp: u32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// The household's tier: the tier of its per-capita credit points over the look-back (so a
/// large household is not ranked above a small one for its size). Named in every report.
pub fn household_tier(credit_points: i64, members: usize, thresholds: &[i64]) -> u8 {
    let per_capita = credit_points / i64::try_from(members.max(1)).unwrap_or(i64::MAX);
    crate::tier::tier(per_capita, thresholds)
}

/// The rule the household's tier follows, with its thresholds: `household-per-capita/v1 0,30,…`.
pub fn tier_rules(thresholds: &[i64]) -> String {
    let t: Vec<String> = thresholds.iter().map(i64::to_string).collect();
    format!("household-per-capita/v1 {}", t.join(","))
}

#[cfg(test)]
mod tests;
