//! A bank's monthly loan book: each row a loan (one of the bank's recorded approvals), a
//! month, a state and the balance. Checked row by row against the bank's approvals, then
//! written in bulk by `credit::loans` in the import's transaction; a month sent again replaces
//! what the bank's book held for it (a loan's figures changed: `updated`; the same: `unchanged`).

use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::credit::loans::{approved_loans, existing_months, replace_loan_months};
use crate::{Result, StoreError};
use domain::citydata::rows::Row;
use domain::citydata::HeaderMap;
use domain::credit::{parse_month, LoanMonth, LoanState};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) async fn apply(
    data: &CityData<'_>,
    tx: &mut sqlx::AnyConnection,
    up: &Upload<'_>,
    map: &HeaderMap,
    rows: &[Row],
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let bank = up.owner.id();
    if data.credit().bank(bank).await?.is_none() {
        return Err(StoreError::invalid(
            "kind",
            "not_a_bank",
            "only a partner bank sends a loan book",
        ));
    }
    let approved = approved_loans(tx, bank).await?;
    let mut months: Vec<u32> = rows
        .iter()
        .filter_map(|row| row.get(up.schema, "month").and_then(parse_month))
        .collect();
    months.sort_unstable();
    months.dedup();
    let existing = existing_months(tx, bank, &months).await?;
    let mut out = Applied::default();
    let mut seen = HashSet::new();
    let mut good = Vec::with_capacity(rows.len());
    for row in rows {
        progress.fetch_add(1, Ordering::Relaxed);
        let at = Place { up, map, row };
        let loan_ref = at.value("loan_ref").unwrap_or_default().to_string();
        let Some(household) = approved.get(&loan_ref) else {
            out.problems.push(at.problem(
                "loan_ref",
                "loan_unknown",
                "no approval of this bank has this loan reference",
            ));
            continue;
        };
        let Some(month) = at.value("month").and_then(parse_month) else {
            out.problems
                .push(at.problem("month", "month_invalid", "a month as 2026-11"));
            continue;
        };
        let state = at
            .value("state")
            .and_then(LoanState::parse)
            .unwrap_or(LoanState::Closed);
        let outstanding: u64 = at
            .value("outstanding_yuan")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if state != LoanState::Disbursed && outstanding != 0 {
            out.problems.push(at.problem(
                "outstanding_yuan",
                "must_be_zero",
                "a repaid or closed loan has nothing outstanding",
            ));
            continue;
        }
        if !seen.insert((loan_ref.clone(), month)) {
            out.problems.push(at.problem(
                "month",
                "duplicate_row",
                "this loan's month is in the file twice",
            ));
            continue;
        }
        let outcome = match existing.get(&(loan_ref.clone(), month)) {
            None => "new",
            Some((s, o)) if s == state.as_str() && *o == outstanding => "unchanged",
            Some(_) => "updated",
        };
        out.results.push(RowResult {
            line: row.line,
            key: format!("{loan_ref} {month}"),
            record_id: loan_ref.clone(),
            outcome: outcome.into(),
            status: state.as_str().into(),
        });
        good.push((
            LoanMonth {
                loan_ref,
                month,
                state,
                outstanding_yuan: outstanding,
            },
            household.clone(),
        ));
    }
    if out.problems.is_empty() {
        replace_loan_months(tx, bank, &months, &good, now).await?;
    }
    Ok(out)
}
