//! What the bank records back: its decision on an application ([`Decision`]), and each month
//! the state and outstanding balance of the loans it made ([`LoanMonth`]). Parsed here, field
//! by field, so that the operator's form, the API and the monthly loan book refuse alike.

use crate::{FieldError, FieldErrors};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Declined,
    Referred,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Approved, Outcome::Declined, Outcome::Referred];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Approved => "approved",
            Outcome::Declined => "declined",
            Outcome::Referred => "referred",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }
}

/// The reasons a bank may give, as codes the household reads in its own language
/// (`credit.reason.<code>`); free text may add to them.
pub const REASON_CODES: [&str; 8] = [
    "good_moral_credit",
    "income_sufficient",
    "income_insufficient",
    "existing_debt",
    "repayment_history",
    "purpose_unclear",
    "documents_missing",
    "other",
];

pub const REASONS_TEXT_CHARS_MAX: usize = 500;
pub const AMOUNT_YUAN_MAX: u64 = 5_000_000;
pub const TERM_MONTHS_MAX: u32 = 360;
pub const LOAN_REF_CHARS_MAX: usize = 40;

/// A bank's decision. An approval names the amount, the annual rate and the term, and the
/// bank's own reference of the loan; a decline or referral names none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub amount_yuan: Option<u64>,
    pub rate_bp: Option<u32>,
    pub term_months: Option<u32>,
    pub loan_ref: Option<String>,
    pub reasons: Vec<String>,
    pub reasons_text: String,
}

/// The raw fields of a decision, as a form or the API sends them (the API may send the
/// figures as JSON numbers or as text).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    #[serde(default)]
    pub outcome: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub amount_yuan: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub rate_pct: String,
    #[serde(default, deserialize_with = "text_or_number")]
    pub term_months: String,
    #[serde(default)]
    pub loan_ref: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub reasons_text: String,
}

/// A figure sent as text (`"3.92"`) or as a JSON number (`3.92`), read as its text.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Int(i64),
        Float(f64),
    }
    Ok(match <Option<Raw> as serde::Deserialize>::deserialize(d)? {
        None => String::new(),
        Some(Raw::Text(t)) => t,
        Some(Raw::Int(i)) => i.to_string(),
        Some(Raw::Float(f)) => f.to_string(),
    })
}

fn loan_ref(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let r = raw.trim();
    if r.is_empty()
        || r.chars().count() > LOAN_REF_CHARS_MAX
        || !r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
    {
        return Err(FieldError::new(
            field,
            "loan_ref_invalid",
            format!("must be 1 to {LOAN_REF_CHARS_MAX} letters, digits or - _ / ."),
        ));
    }
    Ok(r.to_string())
}

impl Decision {
    pub fn parse(input: &DecisionInput) -> Result<Decision, FieldErrors> {
        let mut errs = FieldErrors::default();
        let outcome = Outcome::parse(&input.outcome);
        if outcome.is_none() {
            errs.push(FieldError::new(
                "outcome",
                "invalid_choice",
                "must be one of approved, declined, referred",
            ));
        }
        let mut reasons: Vec<String> = Vec::new();
        for r in &input.reasons {
            let r = r.trim();
            if r.is_empty() {
                continue;
            }
            if !REASON_CODES.contains(&r) {
                errs.push(FieldError::new(
                    "reasons",
                    "invalid_choice",
                    format!("must be among {}", REASON_CODES.join(", ")),
                ));
            } else if !reasons.iter().any(|x| x == r) {
                reasons.push(r.to_string());
            }
        }
        let reasons_text = input.reasons_text.trim().to_string();
        if reasons_text.chars().count() > REASONS_TEXT_CHARS_MAX {
            errs.push(FieldError::new(
                "reasons_text",
                "too_long",
                format!("at most {REASONS_TEXT_CHARS_MAX} characters"),
            ));
        }
        if reasons.is_empty() && reasons_text.is_empty() {
            errs.push(FieldError::new(
                "reasons",
                "required",
                "give at least one reason (a code or a text): the household sees it",
            ));
        }
        let approved = outcome == Some(Outcome::Approved);
        let (amount, rate, term, reference) = if approved {
            approval_terms(input, &mut errs)
        } else {
            if outcome.is_some() {
                for (field, raw) in [
                    ("amount_yuan", &input.amount_yuan),
                    ("rate_pct", &input.rate_pct),
                    ("term_months", &input.term_months),
                    ("loan_ref", &input.loan_ref),
                ] {
                    if !raw.trim().is_empty() {
                        errs.push(FieldError::new(
                            field,
                            "only_for_approval",
                            "only an approval names an amount, rate, term or loan reference",
                        ));
                    }
                }
            }
            (None, None, None, None)
        };
        errs.into_result()?;
        Ok(Decision {
            outcome: outcome.unwrap_or(Outcome::Referred),
            amount_yuan: amount,
            rate_bp: rate,
            term_months: term,
            loan_ref: reference,
            reasons,
            reasons_text,
        })
    }
}

/// An approval's amount, rate, term and loan reference, each refused at its field.
fn approval_terms(
    input: &DecisionInput,
    errs: &mut FieldErrors,
) -> (Option<u64>, Option<u32>, Option<u32>, Option<String>) {
    let amount = match input.amount_yuan.trim().parse::<u64>() {
        Ok(n) if (1..=AMOUNT_YUAN_MAX).contains(&n) => Some(n),
        _ => {
            errs.push(FieldError::new(
                "amount_yuan",
                "out_of_range",
                format!("an approval needs an amount of 1 to {AMOUNT_YUAN_MAX} yuan"),
            ));
            None
        }
    };
    let rate = match super::parse_bp(&input.rate_pct) {
        Some(bp) if bp > 0 && bp <= super::RATE_BP_MAX => Some(bp),
        _ => {
            errs.push(FieldError::new(
                "rate_pct",
                "out_of_range",
                "an approval needs an annual rate in percent above 0 and at most 36",
            ));
            None
        }
    };
    let term = match input.term_months.trim().parse::<u32>() {
        Ok(n) if (1..=TERM_MONTHS_MAX).contains(&n) => Some(n),
        _ => {
            errs.push(FieldError::new(
                "term_months",
                "out_of_range",
                format!("an approval needs a term of 1 to {TERM_MONTHS_MAX} months"),
            ));
            None
        }
    };
    let reference = errs.take(loan_ref("loan_ref", &input.loan_ref));
    (amount, rate, term, reference)
}

/// A loan's state in a month of the bank's loan book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoanState {
    Disbursed,
    Repaid,
    Closed,
}

impl LoanState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoanState::Disbursed => "disbursed",
            LoanState::Repaid => "repaid",
            LoanState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<LoanState> {
        [LoanState::Disbursed, LoanState::Repaid, LoanState::Closed]
            .into_iter()
            .find(|o| o.as_str() == s.trim())
    }
}

/// One row of the monthly loan book: a loan (the bank's reference, as in its approval), the
/// month (`yyyymm`), its state and its outstanding balance at the month's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoanMonth {
    pub loan_ref: String,
    pub month: u32,
    pub state: LoanState,
    pub outstanding_yuan: u64,
}

impl LoanMonth {
    /// One row's cells: `loan_ref, month (2026-11), state, outstanding_yuan`.
    pub fn parse(cells: &[&str]) -> Result<LoanMonth, FieldErrors> {
        let mut errs = FieldErrors::default();
        let cell = |i: usize| cells.get(i).map_or("", |c| c.trim());
        let reference = errs.take(loan_ref("loan_ref", cell(0)));
        let month = parse_month(cell(1));
        if month.is_none() {
            errs.push(FieldError::new(
                "month",
                "month_invalid",
                "must be a month as 2026-11",
            ));
        }
        let state = LoanState::parse(cell(2));
        if state.is_none() {
            errs.push(FieldError::new(
                "state",
                "invalid_choice",
                "must be one of disbursed, repaid, closed",
            ));
        }
        let outstanding = match cell(3).parse::<u64>() {
            Ok(n) if n <= AMOUNT_YUAN_MAX => Some(n),
            _ => {
                errs.push(FieldError::new(
                    "outstanding_yuan",
                    "out_of_range",
                    format!("must be a whole number of yuan from 0 to {AMOUNT_YUAN_MAX}"),
                ));
                None
            }
        };
        if let (Some(s), Some(o)) = (state, outstanding) {
            if s != LoanState::Disbursed && o != 0 {
                errs.push(FieldError::new(
                    "outstanding_yuan",
                    "must_be_zero",
                    "a repaid or closed loan has nothing outstanding",
                ));
            }
        }
        errs.into_result()?;
        Ok(LoanMonth {
            loan_ref: reference.unwrap_or_default(),
            month: month.unwrap_or_default(),
            state: state.unwrap_or(LoanState::Closed),
            outstanding_yuan: outstanding.unwrap_or_default(),
        })
    }
}

/// `2026-11` (or `202611`) → 202611.
pub fn parse_month(raw: &str) -> Option<u32> {
    let digits: String = raw.chars().filter(|c| *c != '-').collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    let (y, m) = (n / 100, n % 100);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m)).then_some(n)
}
