//! Demands (技术需求): what an enterprise needs, a public summary and a confidential detail
//! (sealed; shown to the enterprise, the office and an expert whose introduction was
//! accepted), and brokers' pins on its matches.

use super::{log, Market, Party};
use crate::{Result, StoreError};
use domain::market::{DemandForm, DemandStatus, DemandStep};
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Demand {
    pub id: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub title: String,
    pub summary: String,
    pub industry: String,
    pub budget: String,
    pub deadline: String,
    pub status: DemandStatus,
    pub created_at: i64,
}

/// A pinned match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub target_kind: String,
    pub target_id: String,
    pub pinned_at: i64,
}

const COLS: &str = "d.id, d.enterprise_id, e.name AS enterprise_name, d.title, d.summary, \
    d.industry, d.budget, d.deadline, d.status, d.created_at";
const FROM: &str = "market_demands d JOIN market_enterprises e ON e.partner_id = d.enterprise_id";

pub(crate) fn demand_from_row(r: &sqlx::any::AnyRow) -> Result<Demand> {
    let status: String = r.try_get("status")?;
    Ok(Demand {
        id: r.try_get("id")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: r.try_get("enterprise_name")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        industry: r.try_get("industry")?,
        budget: r.try_get("budget")?,
        deadline: r.try_get("deadline")?,
        status: DemandStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("demand status {status}")))?,
        created_at: r.try_get("created_at")?,
    })
}

/// Move a demand by a step, in the caller's transaction (locks its row first).
pub(crate) async fn step_demand(
    tx: &mut sqlx::AnyConnection,
    id: &str,
    step: DemandStep,
    actor: &str,
    now: i64,
) -> Result<DemandStatus> {
    sqlx::query("UPDATE market_demands SET status = status WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let status: String = sqlx::query("SELECT status FROM market_demands WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "demand" })?
        .try_get("status")?;
    let from = DemandStatus::parse(&status)
        .ok_or_else(|| StoreError::Integrity(format!("demand status {status}")))?;
    let to = from.step(step).map_err(|code| {
        StoreError::conflict("demand", code, "the demand is not in a state for this")
    })?;
    if to != from {
        sqlx::query("UPDATE market_demands SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        log(tx, id, actor, to.as_str(), from.as_str(), now).await?;
    }
    Ok(to)
}

impl Market<'_> {
    /// Publish a demand. `token` is the form's one-time token: the same form sent twice
    /// publishes one demand (the second sending gets the first's).
    pub async fn publish_demand(
        &self,
        party: &Party,
        form: &DemandForm,
        token: Option<&str>,
        now: i64,
    ) -> Result<Demand> {
        let Party::Enterprise { partner_id, .. } = party else {
            return Err(StoreError::NotFound { what: "enterprise" });
        };
        self.verified(partner_id).await?;
        if let Some(d) = self.demand_made_with(partner_id, token).await? {
            return Ok(d);
        }
        let id = domain::new_id();
        let v = &self.vault;
        let mut tx = self.write.begin().await?;
        let inserted = sqlx::query("INSERT INTO market_demands (id, enterprise_id, title, summary, key_id, detail_enc, industry, budget, deadline, status, form_token, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $12)")
            .bind(&id)
            .bind(partner_id)
            .bind(&form.title)
            .bind(&form.summary)
            .bind(v.current_key_id())
            .bind(v.seal(&format!("demand-detail:{id}"), &form.detail)?)
            .bind(form.industry)
            .bind(form.budget)
            .bind(&form.deadline)
            .bind(token.map(|t| format!("{partner_id}:{t}")))
            .bind(party.actor())
            .bind(now)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if token.is_some() && StoreError::is_unique_violation(&e) => {
                drop(tx);
                return self
                    .demand_made_with(partner_id, token)
                    .await?
                    .ok_or(StoreError::NotFound { what: "demand" });
            }
            r => r?,
        };
        log(
            &mut tx,
            &id,
            &party.actor(),
            "published",
            form.industry,
            now,
        )
        .await?;
        tx.commit().await?;
        self.demand(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "demand" })
    }

    async fn demand_made_with(
        &self,
        partner_id: &str,
        token: Option<&str>,
    ) -> Result<Option<Demand>> {
        let Some(t) = token else { return Ok(None) };
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE d.form_token = $1"
        ))
        .bind(format!("{partner_id}:{t}"))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(demand_from_row).transpose()
    }

    pub async fn demand(&self, id: &str) -> Result<Option<Demand>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(demand_from_row).transpose()
    }

    /// A demand as `party` may see it, with its confidential detail when they may read it:
    /// its enterprise, the office, or an expert (or owner) whose introduction was accepted.
    /// Anyone else gets `NotFound` for a demand not public (only open and matched ones are).
    pub async fn demand_for(&self, id: &str, party: &Party) -> Result<(Demand, Option<String>)> {
        let d = self
            .demand(id)
            .await?
            .ok_or(StoreError::NotFound { what: "demand" })?;
        let reads_detail = match party {
            Party::Broker { .. } => true,
            Party::Enterprise { partner_id, .. } => {
                *partner_id == d.enterprise_id || self.accepted_answerer(id, party).await?
            }
            Party::Expert { .. } => self.accepted_answerer(id, party).await?,
        };
        if !reads_detail && !d.status.takes_introductions() {
            return Err(StoreError::NotFound { what: "demand" });
        }
        let detail = if reads_detail {
            let r = sqlx::query("SELECT key_id, detail_enc FROM market_demands WHERE id = $1")
                .bind(id)
                .fetch_one(&self.read)
                .await?;
            let key: String = r.try_get("key_id")?;
            let sealed: Vec<u8> = r.try_get("detail_enc")?;
            Some(
                self.vault
                    .open(&key, &format!("demand-detail:{id}"), &sealed)?,
            )
        } else {
            None
        };
        Ok((d, detail))
    }

    /// An enterprise's own demands, newest first.
    pub async fn demands_of(&self, partner_id: &str) -> Result<Vec<Demand>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} WHERE d.enterprise_id = $1 ORDER BY d.created_at DESC"
        ))
        .bind(partner_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(demand_from_row).collect()
    }

    /// Demands by status (`None`: all), newest first: the office's list and, for `open`
    /// and `matched`, the public shelf.
    pub async fn demands(&self, statuses: &[DemandStatus], limit: i64) -> Result<Vec<Demand>> {
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if statuses.is_empty() {
            String::new()
        } else {
            format!("WHERE d.status IN ({list})")
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM {FROM} {filter} ORDER BY d.created_at DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(demand_from_row).collect()
    }

    /// The enterprise (or the office) closes a demand.
    pub async fn close_demand(&self, id: &str, party: &Party, now: i64) -> Result<Demand> {
        let d = self
            .demand(id)
            .await?
            .ok_or(StoreError::NotFound { what: "demand" })?;
        match party {
            Party::Broker { .. } => {}
            Party::Enterprise { partner_id, .. } if *partner_id == d.enterprise_id => {}
            _ => return Err(StoreError::NotFound { what: "demand" }),
        }
        let mut tx = self.write.begin().await?;
        step_demand(&mut tx, id, DemandStep::Close, &party.actor(), now).await?;
        tx.commit().await?;
        self.demand(id)
            .await?
            .ok_or(StoreError::NotFound { what: "demand" })
    }

    /// Pin (or unpin) a match of a demand: the broker's judgement over the ranking.
    pub async fn pin(
        &self,
        demand_id: &str,
        kind: &str,
        target_id: &str,
        on: bool,
        broker_id: &str,
        now: i64,
    ) -> Result<()> {
        let kind = domain::market::one_of("target_kind", kind, &["expert", "achievement"])
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let exists = match kind {
            "expert" => self.expert(target_id).await?.is_some(),
            _ => self.achievement(target_id).await?.is_some(),
        };
        if !exists || self.demand(demand_id).await?.is_none() {
            return Err(StoreError::NotFound { what: "match" });
        }
        let mut tx = self.write.begin().await?;
        let n = if on {
            sqlx::query("INSERT INTO market_pins (demand_id, target_kind, target_id, pinned_by, pinned_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                .bind(demand_id)
                .bind(kind)
                .bind(target_id)
                .bind(broker_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
        } else {
            sqlx::query("DELETE FROM market_pins WHERE demand_id = $1 AND target_kind = $2 AND target_id = $3")
                .bind(demand_id)
                .bind(kind)
                .bind(target_id)
                .execute(&mut *tx)
                .await?
        }
        .rows_affected();
        if n > 0 {
            let action = if on { "pinned" } else { "unpinned" };
            log(
                &mut tx,
                demand_id,
                &format!("staff:{broker_id}"),
                action,
                &format!("{kind}:{target_id}"),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn pins(&self, demand_id: &str) -> Result<Vec<Pin>> {
        let rows = sqlx::query("SELECT target_kind, target_id, pinned_at FROM market_pins WHERE demand_id = $1 ORDER BY pinned_at")
            .bind(demand_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Pin {
                    target_kind: r.try_get("target_kind")?,
                    target_id: r.try_get("target_id")?,
                    pinned_at: r.try_get("pinned_at")?,
                })
            })
            .collect()
    }
}
