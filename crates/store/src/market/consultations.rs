//! Free consultations (公益咨询): the one act of the market that earns moral points. An expert
//! who is a resident records a free consultation given to a village cooperative; the
//! cooperative confirms it; the confirmation submits a deed under the
//! [`CONSULTATION_STANDARD`](super::CONSULTATION_STANDARD) through evaluation's own rules
//! (the standard's points, caps and publicity), in the confirmation's transaction. Never for
//! a commercial deal: a consultation to an organisation the expert holds a contract with is
//! refused.

use super::{log, Market, Party, CONSULTATION_STANDARD};
use crate::evaluation::{NewDeed, Reporter, Rules, Written};
use crate::{Result, StoreError};
use domain::market::{text, CONSULT_HOURS_MAX};
use domain::IdempotencyKey;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consultation {
    pub id: String,
    pub expert_id: String,
    pub expert_name: String,
    pub cooperative_id: String,
    pub cooperative_name: String,
    pub day: String,
    pub hours: i64,
    pub topic: String,
    pub status: String,
    pub deed_id: Option<String>,
    pub credit_refusal: Option<String>,
}

const COLS: &str =
    "k.id, k.expert_id, x.name AS expert_name, k.cooperative_id, e.name AS cooperative_name, \
    k.day, k.hours, k.topic, k.status, k.deed_id, k.credit_refusal";
const FROM: &str = "market_consultations k JOIN market_experts x ON x.id = k.expert_id \
    JOIN market_enterprises e ON e.partner_id = k.cooperative_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Consultation> {
    Ok(Consultation {
        id: r.try_get("id")?,
        expert_id: r.try_get("expert_id")?,
        expert_name: r.try_get("expert_name")?,
        cooperative_id: r.try_get("cooperative_id")?,
        cooperative_name: r.try_get("cooperative_name")?,
        day: r.try_get("day")?,
        hours: r.try_get("hours")?,
        topic: r.try_get("topic")?,
        status: r.try_get("status")?,
        deed_id: r.try_get("deed_id")?,
        credit_refusal: r.try_get("credit_refusal")?,
    })
}

impl Market<'_> {
    /// The expert records a free consultation given to a cooperative (within the last 30
    /// days); one per cooperative and day.
    pub async fn record_consultation(
        &self,
        citizen_id: &str,
        cooperative_id: &str,
        day: &str,
        hours: &str,
        topic: &str,
        now: i64,
    ) -> Result<Consultation> {
        let me = self
            .expert_of(citizen_id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "expert profile",
            })?;
        let mut e = domain::FieldErrors::default();
        let topic = e.take(text("topic", topic, 4, 200));
        let hours = match hours.trim().parse::<i64>() {
            Ok(h @ 1..=CONSULT_HOURS_MAX) => Some(h),
            _ => {
                e.push(domain::FieldError::new(
                    "hours",
                    "out_of_range",
                    format!("whole hours from 1 to {CONSULT_HOURS_MAX}"),
                ));
                None
            }
        };
        let today = domain::time::cst_day(now);
        if !domain::market::day_number(day).is_some_and(|d| d <= today && d > today - 30) {
            e.push(domain::FieldError::new(
                "day",
                "invalid_date",
                "the day it was given: a date YYYY-MM-DD in the last 30 days",
            ));
        }
        let coop = self
            .enterprise(cooperative_id)
            .await?
            .filter(|c| c.kind == "cooperative" && c.status == "verified");
        if coop.is_none() {
            e.push(domain::FieldError::new(
                "cooperative_id",
                "not_a_cooperative",
                "choose one of the registered village cooperatives",
            ));
        }
        let (Some(topic), Some(hours), true) = (topic, hours, e.0.is_empty()) else {
            return Err(StoreError::Invalid(e));
        };
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        let wrote = sqlx::query("INSERT INTO market_consultations (id, expert_id, citizen_id, cooperative_id, day, hours, topic, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'claimed', $8)")
            .bind(&id)
            .bind(&me.id)
            .bind(citizen_id)
            .bind(cooperative_id)
            .bind(day.trim())
            .bind(hours)
            .bind(&topic)
            .bind(now)
            .execute(&mut *tx)
            .await;
        match wrote {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "day",
                    "already_recorded",
                    "a consultation to this cooperative on this day is already recorded",
                ));
            }
            r => r?,
        };
        log(
            &mut tx,
            &id,
            &format!("citizen:{citizen_id}"),
            "consultation_recorded",
            cooperative_id,
            now,
        )
        .await?;
        tx.commit().await?;
        self.consultation(&id).await?.ok_or(StoreError::NotFound {
            what: "consultation",
        })
    }

    pub async fn consultation(&self, id: &str) -> Result<Option<Consultation>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE k.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// An expert's (by resident) or a cooperative's consultations, newest first.
    pub async fn consultations_of(&self, party: &Party) -> Result<Vec<Consultation>> {
        let (filter, bind) = match party {
            Party::Expert { citizen_id } => ("k.citizen_id = $1", citizen_id),
            Party::Enterprise { partner_id, .. } => ("k.cooperative_id = $1", partner_id),
            Party::Broker { .. } => return Ok(Vec::new()),
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE {filter} ORDER BY k.created_at DESC LIMIT 100"
        ))
        .bind(bind)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The cooperative confirms (or says it did not happen). A confirmation submits the deed
    /// through the standard, in this transaction; a refusal by evaluation's rules (no such
    /// standard, a cap reached, an unconfirmed resident) is recorded beside the consultation.
    pub async fn decide_consultation(
        &self,
        id: &str,
        party: &Party,
        confirm: bool,
        rules: &Rules,
        now: i64,
    ) -> Result<Consultation> {
        let Party::Enterprise { partner_id, .. } = party else {
            return Err(StoreError::NotFound {
                what: "consultation",
            });
        };
        let k = self
            .consultation(id)
            .await?
            .filter(|k| k.cooperative_id == *partner_id)
            .ok_or(StoreError::NotFound {
                what: "consultation",
            })?;
        let citizen: String =
            sqlx::query("SELECT citizen_id FROM market_consultations WHERE id = $1")
                .bind(id)
                .fetch_one(&self.read)
                .await?
                .try_get("citizen_id")?;
        let commercial = sqlx::query("SELECT 1 AS y FROM market_contracts c JOIN market_introductions i ON i.id = c.introduction_id WHERE i.expert_id = $1 AND c.enterprise_id = $2")
            .bind(&k.expert_id)
            .bind(partner_id)
            .fetch_optional(&self.read)
            .await?
            .is_some();
        let mut tx = self.write.begin().await?;
        let status = if confirm { "confirmed" } else { "refused" };
        let n = sqlx::query("UPDATE market_consultations SET status = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'claimed'")
            .bind(status)
            .bind(party.actor())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::conflict(
                "consultation",
                "already_decided",
                "this consultation was already confirmed or refused",
            ));
        }
        if confirm {
            let outcome = if commercial {
                Err("commercial_relationship".to_string())
            } else {
                self.consultation_deed(&mut tx, &k, &citizen, rules, now)
                    .await?
            };
            let (deed, refusal) = match outcome {
                Ok(d) => (Some(d), None),
                Err(r) => (None, Some(r)),
            };
            sqlx::query(
                "UPDATE market_consultations SET deed_id = $1, credit_refusal = $2 WHERE id = $3",
            )
            .bind(&deed)
            .bind(&refusal)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        log(&mut tx, id, &party.actor(), status, "", now).await?;
        tx.commit().await?;
        self.consultation(id).await?.ok_or(StoreError::NotFound {
            what: "consultation",
        })
    }

    async fn consultation_deed(
        &self,
        tx: &mut sqlx::AnyConnection,
        k: &Consultation,
        citizen: &str,
        rules: &Rules,
        now: i64,
    ) -> Result<std::result::Result<String, String>> {
        let key = IdempotencyKey::parse(&format!("market-consult-{}", k.id))
            .map_err(StoreError::Conflict)?;
        let rate = self
            .evaluation()
            .standard_current(CONSULTATION_STANDARD)
            .await?
            .map(|s| s.points_max)
            .unwrap_or(0);
        let new = NewDeed {
            citizen_id: citizen.to_string(),
            reporter: Reporter::Partner {
                partner_id: k.cooperative_id.clone(),
                key,
            },
            standard_code: CONSULTATION_STANDARD.into(),
            deed_date: k.day.clone(),
            place: k.cooperative_name.clone(),
            description: format!("为村合作社免费技术咨询 {} 小时", k.hours),
            evidence: Vec::new(),
            points: Some(rate.saturating_mul(k.hours)),
        };
        let refused = |e: StoreError| -> Result<std::result::Result<String, String>> {
            match e {
                StoreError::Conflict(f) => Ok(Err(f.code.to_string())),
                StoreError::Invalid(f) => {
                    Ok(Err(f.0.first().map_or("refused", |x| x.code).to_string()))
                }
                other => Err(other),
            }
        };
        let prepared = match self.evaluation().prepare_report(&new, k.hours, now).await {
            Ok(p) => p,
            Err(e) => return refused(e),
        };
        match self
            .evaluation()
            .write_report(tx, &new, &prepared, rules, now)
            .await
        {
            Ok(Written::New(id) | Written::Replay(id)) => Ok(Ok(id)),
            Err(e) => refused(e),
        }
    }
}
