//! The market's figures, of the kind the seed's report gives (enterprises taking part,
//! demands published, experts, achievements, events, introductions, contracts by type), the
//! declines per reason and month the office studies, and per industry the counts open data
//! publishes after small-cell suppression (`domain::citydata::disclosure`, applied by the
//! caller).

use super::Market;
use crate::Result;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MarketFigures {
    pub enterprises: i64,
    /// Enterprises that signed up for an event or published a demand.
    pub enterprises_taking_part: i64,
    pub demands: i64,
    pub demands_by_status: BTreeMap<String, i64>,
    pub experts: i64,
    pub experts_claimed: i64,
    pub achievements: i64,
    pub events: i64,
    pub event_signups: i64,
    pub checked_in: i64,
    pub introductions_by_status: BTreeMap<String, i64>,
    pub contracts_by_kind: BTreeMap<String, i64>,
    pub contracts_registered: i64,
    pub consultations_confirmed: i64,
    /// (month `YYYY-MM`, reason code, declines).
    pub declines: Vec<(String, String, i64)>,
    /// (industry code, demands published, enterprises with a demand).
    pub by_industry: Vec<(String, i64, i64)>,
}

impl Market<'_> {
    async fn count(&self, sql: &str) -> Result<i64> {
        Ok(sqlx::query(sql).fetch_one(&self.read).await?.try_get("n")?)
    }

    async fn grouped(&self, sql: &str) -> Result<BTreeMap<String, i64>> {
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("k")?, r.try_get("n")?)))
            .collect()
    }

    pub async fn figures(&self) -> Result<MarketFigures> {
        let mut f = MarketFigures {
            enterprises: self.count("SELECT COUNT(*) AS n FROM market_enterprises").await?,
            enterprises_taking_part: self.count("SELECT COUNT(*) AS n FROM market_enterprises e WHERE EXISTS (SELECT 1 FROM market_signups g WHERE g.enterprise_id = e.partner_id AND g.status <> 'cancelled') OR EXISTS (SELECT 1 FROM market_demands d WHERE d.enterprise_id = e.partner_id)").await?,
            demands: self.count("SELECT COUNT(*) AS n FROM market_demands").await?,
            demands_by_status: self.grouped("SELECT status AS k, COUNT(*) AS n FROM market_demands GROUP BY status").await?,
            experts: self.count("SELECT COUNT(*) AS n FROM market_experts").await?,
            experts_claimed: self.count("SELECT COUNT(*) AS n FROM market_experts WHERE citizen_id IS NOT NULL").await?,
            achievements: self.count("SELECT COUNT(*) AS n FROM market_achievements").await?,
            events: self.count("SELECT COUNT(*) AS n FROM market_events").await?,
            event_signups: self.count("SELECT COUNT(*) AS n FROM market_signups WHERE status = 'signed'").await?,
            checked_in: self.count("SELECT COUNT(*) AS n FROM market_signups WHERE checked_in_at IS NOT NULL").await?,
            introductions_by_status: self.grouped("SELECT status AS k, COUNT(*) AS n FROM market_introductions GROUP BY status").await?,
            contracts_by_kind: self.grouped("SELECT kind AS k, COUNT(*) AS n FROM market_contracts GROUP BY kind").await?,
            contracts_registered: self.count("SELECT COUNT(*) AS n FROM market_contracts WHERE registration_no IS NOT NULL").await?,
            consultations_confirmed: self.count("SELECT COUNT(*) AS n FROM market_consultations WHERE status = 'confirmed'").await?,
            declines: Vec::new(),
            by_industry: Vec::new(),
        };
        let rows = sqlx::query("SELECT answered_at, reason FROM market_introductions WHERE status = 'declined' AND answered_at IS NOT NULL")
            .fetch_all(&self.read)
            .await?;
        let mut declines: BTreeMap<(String, String), i64> = BTreeMap::new();
        for r in &rows {
            let at: i64 = r.try_get("answered_at")?;
            let month = domain::time::day_of(at)
                .get(..7)
                .unwrap_or_default()
                .to_string();
            let reason: Option<String> = r.try_get("reason")?;
            *declines
                .entry((month, reason.unwrap_or_default()))
                .or_default() += 1;
        }
        f.declines = declines.into_iter().map(|((m, r), n)| (m, r, n)).collect();
        let rows = sqlx::query("SELECT industry, COUNT(*) AS n, COUNT(DISTINCT enterprise_id) AS e FROM market_demands GROUP BY industry ORDER BY industry")
            .fetch_all(&self.read)
            .await?;
        f.by_industry = rows
            .iter()
            .map(|r| Ok((r.try_get("industry")?, r.try_get("n")?, r.try_get("e")?)))
            .collect::<Result<_>>()?;
        Ok(f)
    }
}
