//! What the bank records back: its decision on a report it read (idempotent: the same decision
//! sent again is the same answer, a different one a conflict), the monthly loan book (all or
//! nothing, a problem per bad cell, through the city-data import pipeline: the kind
//! `bank-loans`), and the figures the city publishes from them.

use crate::credit::consents::tell_household;
use crate::credit::Credit;
use crate::registry::Actor;
use crate::{Result, StoreError};
use domain::credit::{Decision, LoanMonth, Outcome};
use serde::Serialize;
use sha2::Digest;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedDecision {
    pub id: String,
    pub report_id: String,
    pub bank_id: String,
    /// Never sent anywhere: the bank knows the household only by its pseudonym.
    #[serde(skip_serializing)]
    pub household_id: String,
    pub outcome: String,
    pub amount_yuan: Option<i64>,
    pub rate_bp: Option<i64>,
    pub term_months: Option<i64>,
    pub loan_ref: Option<String>,
    pub reasons: Vec<String>,
    pub reasons_text: String,
    pub decided_by_label: String,
    pub decided_at: i64,
    /// The loan's latest month in the bank's book: (yyyymm, state, outstanding yuan).
    pub latest: Option<(i64, String, i64)>,
}

fn decision_row(r: &sqlx::any::AnyRow) -> Result<RecordedDecision> {
    let reasons: String = r.try_get("reasons")?;
    Ok(RecordedDecision {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        bank_id: r.try_get("bank_id")?,
        household_id: r.try_get("household_id")?,
        outcome: r.try_get("outcome")?,
        amount_yuan: r.try_get("amount_yuan")?,
        rate_bp: r.try_get("rate_bp")?,
        term_months: r.try_get("term_months")?,
        loan_ref: r.try_get("loan_ref")?,
        reasons: reasons.split_whitespace().map(str::to_string).collect(),
        reasons_text: r.try_get("reasons_text")?,
        decided_by_label: r.try_get("decided_by_label")?,
        decided_at: r.try_get("decided_at")?,
        latest: None,
    })
}

fn request_hash(d: &Decision) -> Vec<u8> {
    let text = serde_json::to_string(d).unwrap_or_default();
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

/// The loan figures of one month in one town (or the whole city when `town_id` is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoanFigure {
    pub month: i64,
    pub town_id: String,
    pub town_name_zh: String,
    pub town_name_en: String,
    /// Households with a loan disbursed and not yet repaid at the month's end.
    pub households: i64,
    pub outstanding_yuan: i64,
}

/// Decisions by outcome and month (of the decision, China time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionFigure {
    pub month: i64,
    pub approved: i64,
    pub declined: i64,
    pub referred: i64,
}

impl Credit<'_> {
    /// The bank records its decision on a report it has read. Sending the same decision again
    /// returns the recorded one (`false`: nothing new); a different one is a conflict.
    pub async fn record_decision(
        &self,
        bank: &Actor,
        by: &str,
        report_id: &str,
        d: &Decision,
        now: i64,
    ) -> Result<(RecordedDecision, bool)> {
        let report = self
            .report(report_id)
            .await?
            .filter(|r| r.bank_id == bank.id)
            .ok_or(StoreError::NotFound {
                what: "credit report",
            })?;
        let used: Option<i64> = sqlx::query("SELECT used_at FROM credit_consents WHERE id = $1")
            .bind(&report.consent_id)
            .fetch_one(&self.read)
            .await?
            .try_get("used_at")?;
        if used.is_none() {
            return Err(StoreError::conflict(
                "report_id",
                "report_not_read",
                "the bank records a decision on a report it has read (presented or pulled)",
            ));
        }
        let hash = request_hash(d);
        if let Some(answer) = self.earlier_decision(report_id, &hash).await? {
            return answer.map(|d| (d, false));
        }
        let mut tx = self.write.begin().await?;
        let id = domain::new_id();
        let to_i64 = |v: Option<u64>| v.and_then(|n| i64::try_from(n).ok());
        let inserted = sqlx::query(
            "INSERT INTO credit_decisions (id, report_id, bank_id, household_id, outcome, amount_yuan, rate_bp, term_months, \
             loan_ref, reasons, reasons_text, decided_by, decided_by_label, decided_at, request_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(report_id)
        .bind(&bank.id)
        .bind(&report.household_id)
        .bind(d.outcome.as_str())
        .bind(to_i64(d.amount_yuan))
        .bind(d.rate_bp.map(i64::from))
        .bind(d.term_months.map(i64::from))
        .bind(d.loan_ref.as_deref())
        .bind(d.reasons.join(" "))
        .bind(&d.reasons_text)
        .bind(by)
        .bind(&bank.label)
        .bind(now)
        .bind(&hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another request won: this one is its retry, or a conflict (report or loan ref).
            tx.rollback().await?;
            if let Some(answer) = self.earlier_decision(report_id, &hash).await? {
                return answer.map(|d| (d, false));
            }
            return Err(StoreError::conflict(
                "loan_ref",
                "loan_ref_taken",
                "the bank already used this loan reference for another decision",
            ));
        }
        tell_household(&mut tx, &report.household_id, bank, "credit_decision", now).await?;
        tx.commit().await?;
        let recorded = self
            .decision_of_report(report_id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "credit decision",
            })?;
        Ok((recorded, true))
    }

    /// The decision already recorded for the report: `Ok` when it is this one (a retry), a
    /// conflict when it differs; `None` when there is none.
    async fn earlier_decision(
        &self,
        report_id: &str,
        hash: &[u8],
    ) -> Result<Option<Result<RecordedDecision>>> {
        let Some(existing) = self.decision_of_report(report_id).await? else {
            return Ok(None);
        };
        let stored: Vec<u8> =
            sqlx::query("SELECT request_hash FROM credit_decisions WHERE id = $1")
                .bind(&existing.id)
                .fetch_one(&self.read)
                .await?
                .try_get("request_hash")?;
        Ok(Some(if stored == hash {
            Ok(existing)
        } else {
            Err(StoreError::conflict(
                "report_id",
                "decision_recorded",
                "a different decision is already recorded for this report",
            ))
        }))
    }

    pub async fn decision_of_report(&self, report_id: &str) -> Result<Option<RecordedDecision>> {
        let row = sqlx::query("SELECT * FROM credit_decisions WHERE report_id = $1")
            .bind(report_id)
            .fetch_optional(&self.read)
            .await?;
        let Some(mut d) = row.as_ref().map(decision_row).transpose()? else {
            return Ok(None);
        };
        if let Some(r) = &d.loan_ref {
            let latest = sqlx::query(
                "SELECT month, state, outstanding_yuan FROM credit_loan_months WHERE bank_id = $1 AND loan_ref = $2 \
                 ORDER BY month DESC LIMIT 1",
            )
            .bind(&d.bank_id)
            .bind(r)
            .fetch_optional(&self.read)
            .await?;
            d.latest = latest
                .map(|l| -> Result<_> {
                    Ok((
                        l.try_get("month")?,
                        l.try_get("state")?,
                        l.try_get("outstanding_yuan")?,
                    ))
                })
                .transpose()?;
        }
        Ok(Some(d))
    }

    /// The reports a bank has read, newest first, each with its decision if recorded.
    pub async fn bank_reports(
        &self,
        bank_id: &str,
        limit: u32,
    ) -> Result<
        Vec<(
            crate::credit::reports::StoredReport,
            Option<RecordedDecision>,
        )>,
    > {
        let rows = sqlx::query(
            "SELECT r.* FROM credit_reports r JOIN credit_consents k ON k.id = r.consent_id \
             WHERE r.bank_id = $1 AND k.used_at IS NOT NULL ORDER BY k.used_at DESC, r.id LIMIT $2",
        )
        .bind(bank_id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let report = crate::credit::reports::StoredReport {
                id: r.try_get("id")?,
                consent_id: r.try_get("consent_id")?,
                household_id: r.try_get("household_id")?,
                bank_id: r.try_get("bank_id")?,
                issued_at: r.try_get("issued_at")?,
                expires_at: r.try_get("expires_at")?,
                tier: r.try_get("tier")?,
                credit_points: r.try_get("credit_points")?,
                body: r.try_get("body")?,
            };
            let d = self.decision_of_report(&report.id).await?;
            out.push((report, d));
        }
        Ok(out)
    }

    /// Households with a loan outstanding and the balance, by month and town (newest month
    /// first), from the banks' loan books.
    pub async fn loan_figures(&self) -> Result<Vec<LoanFigure>> {
        let rows = sqlx::query(
            "SELECT m.month, t.id AS town_id, t.name_zh, t.name_en, \
               CAST(COUNT(DISTINCT CASE WHEN m.state = 'disbursed' AND m.outstanding_yuan > 0 THEN m.household_id END) AS BIGINT) AS households, \
               CAST(COALESCE(SUM(m.outstanding_yuan), 0) AS BIGINT) AS outstanding \
             FROM credit_loan_months m JOIN households h ON h.id = m.household_id \
             JOIN regions v ON v.id = h.village_id JOIN regions t ON t.id = v.parent_id \
             GROUP BY m.month, t.id, t.name_zh, t.name_en ORDER BY m.month DESC, t.name_zh",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LoanFigure {
                    month: r.try_get("month")?,
                    town_id: r.try_get("town_id")?,
                    town_name_zh: r.try_get("name_zh")?,
                    town_name_en: r.try_get("name_en")?,
                    households: r.try_get("households")?,
                    outstanding_yuan: r.try_get("outstanding")?,
                })
            })
            .collect()
    }

    /// The city's totals per month: households with a loan outstanding (counted once however
    /// many banks lend to them) and the balance.
    pub async fn loan_totals(&self) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT month, CAST(COUNT(DISTINCT CASE WHEN state = 'disbursed' AND outstanding_yuan > 0 THEN household_id END) AS BIGINT) AS households, \
             CAST(COALESCE(SUM(outstanding_yuan), 0) AS BIGINT) AS outstanding FROM credit_loan_months GROUP BY month ORDER BY month DESC",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("month")?,
                    r.try_get("households")?,
                    r.try_get("outstanding")?,
                ))
            })
            .collect()
    }

    /// Decisions by month and outcome, newest month first.
    pub async fn decision_figures(&self) -> Result<Vec<DecisionFigure>> {
        let rows = sqlx::query("SELECT outcome, decided_at FROM credit_decisions")
            .fetch_all(&self.read)
            .await?;
        let mut by: BTreeMap<i64, DecisionFigure> = BTreeMap::new();
        for r in &rows {
            let month = domain::time::month_of(r.try_get("decided_at")?);
            let f = by.entry(month).or_insert(DecisionFigure {
                month,
                approved: 0,
                declined: 0,
                referred: 0,
            });
            let outcome: String = r.try_get("outcome")?;
            match Outcome::parse(&outcome) {
                Some(Outcome::Approved) => f.approved += 1,
                Some(Outcome::Declined) => f.declined += 1,
                _ => f.referred += 1,
            }
        }
        Ok(by.into_values().rev().collect())
    }

    /// The decisions on the household's reports, newest first.
    pub async fn household_decisions(&self, household_id: &str) -> Result<Vec<RecordedDecision>> {
        let ids: Vec<String> = sqlx::query(
            "SELECT report_id FROM credit_decisions WHERE household_id = $1 ORDER BY decided_at DESC LIMIT 50",
        )
        .bind(household_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| r.try_get("report_id"))
        .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(d) = self.decision_of_report(&id).await? {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// The bank's approved loans: loan reference → household (for its loan book's import).
pub(crate) async fn approved_loans(
    tx: &mut sqlx::AnyConnection,
    bank_id: &str,
) -> Result<HashMap<String, String>> {
    sqlx::query(
        "SELECT loan_ref, household_id FROM credit_decisions WHERE bank_id = $1 AND outcome = 'approved' AND loan_ref IS NOT NULL",
    )
    .bind(bank_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("loan_ref")?, r.try_get("household_id")?)))
    .collect()
}

/// What the bank's book already holds for `months`: (loan reference, yyyymm) → (state,
/// balance).
pub(crate) async fn existing_months(
    tx: &mut sqlx::AnyConnection,
    bank_id: &str,
    months: &[u32],
) -> Result<HashMap<(String, u32), (String, u64)>> {
    if months.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT loan_ref, month, state, outstanding_yuan FROM credit_loan_months WHERE bank_id = $1 AND month IN ({})",
        crate::sql::in_list(2, months.len())
    );
    let mut q = sqlx::query(&sql).bind(bank_id);
    for m in months {
        q = q.bind(i64::from(*m));
    }
    q.fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| {
            let month: i64 = r.try_get("month")?;
            let out: i64 = r.try_get("outstanding_yuan")?;
            Ok((
                (r.try_get("loan_ref")?, u32::try_from(month).unwrap_or(0)),
                (r.try_get("state")?, u64::try_from(out).unwrap_or(0)),
            ))
        })
        .collect()
}

/// Write checked loan months (each with its household) in bulk, in the caller's transaction:
/// each month the file has replaces what the bank's book held for it (a loan left out of a
/// month sent again is out of that month).
pub(crate) async fn replace_loan_months(
    tx: &mut sqlx::AnyConnection,
    bank_id: &str,
    months: &[u32],
    rows: &[(LoanMonth, String)],
    now: i64,
) -> Result<()> {
    const COLUMNS: usize = 7;
    for m in months {
        sqlx::query("DELETE FROM credit_loan_months WHERE bank_id = $1 AND month = $2")
            .bind(bank_id)
            .bind(i64::from(*m))
            .execute(&mut *tx)
            .await?;
    }
    for chunk in rows.chunks(400) {
        let mut sql = String::from(
            "INSERT INTO credit_loan_months (bank_id, loan_ref, month, household_id, state, outstanding_yuan, imported_at) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let params: Vec<String> = (1..=COLUMNS)
                .map(|c| format!("${}", i * COLUMNS + c))
                .collect();
            sql.push_str(&format!("({})", params.join(", ")));
        }
        sql.push_str(
            " ON CONFLICT (bank_id, loan_ref, month) DO UPDATE SET state = excluded.state, \
             outstanding_yuan = excluded.outstanding_yuan, imported_at = excluded.imported_at",
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (r, household) in chunk {
            q = q
                .bind(bank_id)
                .bind(&r.loan_ref)
                .bind(i64::from(r.month))
                .bind(household)
                .bind(r.state.as_str())
                .bind(i64::try_from(r.outstanding_yuan).unwrap_or(i64::MAX))
                .bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    Ok(())
}
