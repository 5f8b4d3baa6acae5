//! Contracts: what the technology-contract registration office (技术合同认定登记) needs of a
//! deal that came from an accepted introduction: type, amount band, parties, the day it was
//! signed, and the registration number once registered. Not an e-signature.

use super::{log, Market, Party};
use crate::{Result, StoreError};
use domain::market::{one_of, BANDS, CONTRACT_TYPES};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contract {
    pub id: String,
    pub introduction_id: String,
    pub demand_id: String,
    pub demand_title: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    /// The other party: the expert's name or the achievement's title and owner.
    pub counterpart: String,
    pub kind: String,
    pub amount_band: String,
    pub signed_on: String,
    pub registration_no: Option<String>,
    pub recorded_at: i64,
}

const COLS: &str = "c.id, c.introduction_id, c.demand_id, d.title AS demand_title, c.enterprise_id, \
    e.name AS enterprise_name, COALESCE(a.title, x.name) AS counterpart, c.kind, c.amount_band, c.signed_on, \
    c.registration_no, c.recorded_at";
const FROM: &str = "market_contracts c JOIN market_demands d ON d.id = c.demand_id \
    JOIN market_enterprises e ON e.partner_id = c.enterprise_id \
    JOIN market_introductions i ON i.id = c.introduction_id \
    LEFT JOIN market_achievements a ON i.target_kind = 'achievement' AND a.id = i.target_id \
    LEFT JOIN market_experts x ON i.target_kind = 'expert' AND x.id = i.target_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Contract> {
    Ok(Contract {
        id: r.try_get("id")?,
        introduction_id: r.try_get("introduction_id")?,
        demand_id: r.try_get("demand_id")?,
        demand_title: r.try_get("demand_title")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: r.try_get("enterprise_name")?,
        counterpart: r
            .try_get::<Option<String>, _>("counterpart")?
            .unwrap_or_default(),
        kind: r.try_get("kind")?,
        amount_band: r.try_get("amount_band")?,
        signed_on: r.try_get("signed_on")?,
        registration_no: r.try_get("registration_no")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

impl Market<'_> {
    /// The enterprise (or the office) records the contract an accepted introduction led to;
    /// its demand becomes `contracted`. One contract per introduction.
    pub async fn record_contract(
        &self,
        party: &Party,
        introduction_id: &str,
        kind: &str,
        band: &str,
        signed_on: &str,
        now: i64,
    ) -> Result<Contract> {
        let (i, side) = self.introduction_for(introduction_id, party).await?;
        let allowed = matches!(party, Party::Broker { .. })
            || side == Some(domain::market::IntroParty::Asker);
        if !allowed {
            return Err(StoreError::NotFound {
                what: "introduction",
            });
        }
        let mut e = domain::FieldErrors::default();
        let kind = e.take(one_of("kind", kind, &CONTRACT_TYPES));
        let band = e.take(one_of("amount_band", band, &BANDS[..5]));
        let day = domain::market::day_number(signed_on);
        let today = domain::time::cst_day(now);
        if !day.is_some_and(|d| d <= today && d > today - 366) {
            e.push(domain::FieldError::new(
                "signed_on",
                "invalid_date",
                "the day it was signed: a date YYYY-MM-DD within the past year",
            ));
        }
        let (Some(kind), Some(band), true) = (kind, band, e.0.is_empty()) else {
            return Err(StoreError::Invalid(e));
        };
        if !i.status.reveals_contacts() {
            return Err(StoreError::conflict(
                "introduction",
                "not_accepted",
                "a contract follows an accepted introduction",
            ));
        }
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        super::demands::step_demand(
            &mut tx,
            &i.demand_id,
            domain::market::DemandStep::ContractRecorded,
            &party.actor(),
            now,
        )
        .await?;
        let wrote = sqlx::query("INSERT INTO market_contracts (id, introduction_id, demand_id, enterprise_id, kind, amount_band, signed_on, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&id)
            .bind(introduction_id)
            .bind(&i.demand_id)
            .bind(&i.enterprise_id)
            .bind(kind)
            .bind(band)
            .bind(signed_on.trim())
            .bind(party.actor())
            .bind(now)
            .execute(&mut *tx)
            .await;
        match wrote {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "introduction",
                    "contract_recorded",
                    "a contract is already recorded for this introduction",
                ));
            }
            r => r?,
        };
        log(&mut tx, &id, &party.actor(), "contract_recorded", kind, now).await?;
        tx.commit().await?;
        self.contract(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "contract" })
    }

    /// The office adds the registration office's number once the contract is registered.
    pub async fn register_contract(
        &self,
        id: &str,
        number: &str,
        broker_id: &str,
        now: i64,
    ) -> Result<Contract> {
        let number = number.trim();
        let ok = (6..=30).contains(&number.len())
            && number
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !ok {
            return Err(StoreError::invalid(
                "registration_no",
                "invalid_format",
                "6 to 30 letters, digits or -",
            ));
        }
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE market_contracts SET registration_no = $1, registered_at = $2 WHERE id = $3 AND registration_no IS NULL")
            .bind(number)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(match self.contract(id).await? {
                Some(_) => StoreError::conflict(
                    "registration_no",
                    "already_registered",
                    "this contract already has a registration number",
                ),
                None => StoreError::NotFound { what: "contract" },
            });
        }
        log(
            &mut tx,
            id,
            &format!("staff:{broker_id}"),
            "registered",
            number,
            now,
        )
        .await?;
        tx.commit().await?;
        self.contract(id)
            .await?
            .ok_or(StoreError::NotFound { what: "contract" })
    }

    pub async fn contract(&self, id: &str) -> Result<Option<Contract>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE c.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The contract an introduction led to, if any.
    pub async fn contract_of_introduction(
        &self,
        introduction_id: &str,
    ) -> Result<Option<Contract>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE c.introduction_id = $1"
        ))
        .bind(introduction_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Contracts of an enterprise, or all (the office), newest first.
    pub async fn contracts(&self, enterprise: Option<&str>) -> Result<Vec<Contract>> {
        let rows = match enterprise {
            Some(p) => {
                sqlx::query(&format!(
                "SELECT {COLS} FROM {FROM} WHERE c.enterprise_id = $1 ORDER BY c.recorded_at DESC"
            ))
                .bind(p)
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLS} FROM {FROM} ORDER BY c.recorded_at DESC LIMIT 500"
                ))
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }
}
