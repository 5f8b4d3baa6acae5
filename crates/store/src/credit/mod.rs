//! Moral credit loans (道德信用贷): each bank's published credit-line table (here), households'
//! consents and their members' authorisations ([`consents`]), the signed reports issued under
//! them and the banks' reads ([`reports`]), and what banks record back: decisions, the monthly
//! loan book and the loan figures ([`loans`]). The bank decides; nothing here touches points.

pub mod consents;
pub mod loans;
pub mod reports;
pub mod writer;

use crate::{Result, StoreError};
use domain::credit::{LineRow, LineTable};
use serde::Serialize;
use sqlx::Row;

crate::facet!(Credit, credit, "Moral credit loans (`store.credit()`): credit-line tables, consents, reports, decisions, loan books and figures.");

/// A partner of kind `bank`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bank {
    pub id: String,
    pub name: String,
}

/// A version of a bank's credit-line table as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedTable {
    pub bank_id: String,
    pub bank_name: String,
    pub version: u32,
    pub posted_rate_bp: u32,
    pub rows: Vec<LineRow>,
    pub published_at: i64,
}

impl PublishedTable {
    pub fn table(&self) -> LineTable {
        LineTable {
            posted_rate_bp: self.posted_rate_bp,
            rows: self.rows.clone(),
        }
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredRow {
    tier: u8,
    max_line_yuan: u64,
    rate_discount_bp: u32,
}

fn table_from_row(r: &sqlx::any::AnyRow) -> Result<PublishedTable> {
    let rows_json: String = r.try_get("rows_json")?;
    let rows: Vec<StoredRow> = serde_json::from_str(&rows_json)
        .map_err(|_| StoreError::Integrity("a stored credit-line table does not parse".into()))?;
    Ok(PublishedTable {
        bank_id: r.try_get("bank_id")?,
        bank_name: r.try_get("bank_name")?,
        version: u32::try_from(r.try_get::<i64, _>("version")?).unwrap_or(0),
        posted_rate_bp: u32::try_from(r.try_get::<i64, _>("posted_rate_bp")?).unwrap_or(0),
        rows: rows
            .into_iter()
            .map(|s| LineRow {
                tier: s.tier,
                max_line_yuan: s.max_line_yuan,
                rate_discount_bp: s.rate_discount_bp,
            })
            .collect(),
        published_at: r.try_get("published_at")?,
    })
}

const TABLE_COLUMNS: &str =
    "t.bank_id, p.name AS bank_name, t.version, t.posted_rate_bp, t.rows_json, t.published_at";

impl Credit<'_> {
    /// The banks (partners of kind `bank`), by name.
    pub async fn banks(&self) -> Result<Vec<Bank>> {
        let rows = sqlx::query("SELECT id, name FROM partners WHERE kind = 'bank' ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Bank {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    pub async fn bank(&self, id: &str) -> Result<Option<Bank>> {
        Ok(self.banks().await?.into_iter().find(|b| b.id == id))
    }

    /// Publish a new version of `bank_id`'s table (the admin, agreed with the bank).
    pub async fn publish_table(
        &self,
        bank_id: &str,
        table: &LineTable,
        by: &str,
        now: i64,
    ) -> Result<PublishedTable> {
        if self.bank(bank_id).await?.is_none() {
            return Err(StoreError::invalid(
                "bank_id",
                "unknown_bank",
                "no partner of kind bank has this id",
            ));
        }
        let rows: Vec<StoredRow> = table
            .rows
            .iter()
            .map(|r| StoredRow {
                tier: r.tier,
                max_line_yuan: r.max_line_yuan,
                rate_discount_bp: r.rate_discount_bp,
            })
            .collect();
        let json = serde_json::to_string(&rows).unwrap_or_else(|_| "[]".into());
        let mut tx = self.write.begin().await?;
        // The next version is read and written in one transaction; the primary key refuses a
        // second writer of the same version (its request fails, nothing is half-written).
        let next: i64 = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) AS v FROM credit_tables WHERE bank_id = $1",
        )
        .bind(bank_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
        let inserted = sqlx::query(
            "INSERT INTO credit_tables (bank_id, version, posted_rate_bp, rows_json, published_by, published_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(bank_id)
        .bind(next)
        .bind(i64::from(table.posted_rate_bp))
        .bind(&json)
        .bind(by)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await?;
            return Err(StoreError::conflict(
                "bank_id",
                "table_changed",
                "another version of this bank's table was published at the same moment: reload and check it",
            ));
        }
        tx.commit().await?;
        self.current_table(bank_id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "credit-line table",
            })
    }

    /// The bank's table in force (its newest version).
    pub async fn current_table(&self, bank_id: &str) -> Result<Option<PublishedTable>> {
        let sql = format!(
            "SELECT {TABLE_COLUMNS} FROM credit_tables t JOIN partners p ON p.id = t.bank_id \
             WHERE t.bank_id = $1 ORDER BY t.version DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(bank_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(table_from_row).transpose()
    }

    /// Every bank's table in force, by bank name.
    pub async fn current_tables(&self) -> Result<Vec<PublishedTable>> {
        let mut out = Vec::new();
        for b in self.banks().await? {
            if let Some(t) = self.current_table(&b.id).await? {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// Every version of a bank's table, newest first (the published history).
    pub async fn table_history(&self, bank_id: &str) -> Result<Vec<PublishedTable>> {
        let sql = format!(
            "SELECT {TABLE_COLUMNS} FROM credit_tables t JOIN partners p ON p.id = t.bank_id \
             WHERE t.bank_id = $1 ORDER BY t.version DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(bank_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(table_from_row).collect()
    }
}
