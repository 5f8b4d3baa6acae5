//! The dashboard's figures: roll-ups per day and month, per village and town, kept by the
//! triggers of migration 0016 and [`CityData::fold_statistics`]. A page reads a few hundred
//! rolled-up rows whatever the size of the city; nothing here scans the residents, the deeds or
//! the ledger.
//!
//! Metrics (`key` in brackets): `enrolled`, `withdrawn`; `deed_reported` [standard code],
//! `deed_status` [the status a deed moved to], `deed_credited` [standard code; `amount` = the
//! points]; `scanned`; `redeemed`, `refused` [scene code; `amount` = points spent];
//! `green_card`, `green_card_revoked` [honour]; `dispatch_request` [category], `volunteer_hours`
//! [category; `amount` = hours] (migration 0019). Days and months are China Standard Time.

use super::CityData;
use crate::{now_ms, Backend, Result, Scope};
use serde::Serialize;
use sqlx::Row;

/// Every metric the triggers record.
pub const METRICS: [&str; 12] = [
    "enrolled",
    "withdrawn",
    "deed_reported",
    "deed_status",
    "deed_credited",
    "scanned",
    "redeemed",
    "refused",
    "green_card",
    "green_card_revoked",
    "dispatch_request",
    "volunteer_hours",
];

/// Whose rows: one per village, or one per town.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Village,
    Town,
}

/// Buckets of a day (`yyyy-mm-dd`) or of a month (`yyyy-mm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grain {
    Day,
    Month,
}

/// One rolled-up figure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stat {
    pub metric: String,
    pub bucket: String,
    /// The village or town (by `Level`); `""` for events of people no longer known.
    pub region_id: String,
    pub key: String,
    pub n: i64,
    pub amount: i64,
}

/// What a read asks for. `from` and `to` are buckets of the grain, both included.
#[derive(Debug, Clone)]
pub struct StatsQuery<'a> {
    pub metrics: &'a [&'a str],
    pub scope: &'a Scope,
    /// The rows' level. In a village's scope only `Village` rows exist for it.
    pub level: Level,
    pub grain: Grain,
    pub from: &'a str,
    pub to: &'a str,
}

/// When the roll-ups were last folded, and how many events wait for the next fold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub folded_at: i64,
    pub pending: i64,
}

const FOLD_SQLITE: &str = "INSERT INTO stats_rollup (metric, level, grain, bucket, region_id, town_id, key, n, amount) \
     SELECT d.metric, l.level, g.grain, substr(d.day, 1, g.len), \
            CASE l.level WHEN 'village' THEN d.village_id ELSE d.town_id END, d.town_id, d.key, SUM(d.n), SUM(d.amount) \
     FROM stats_deltas d \
     CROSS JOIN (SELECT 'day' AS grain, 10 AS len UNION ALL SELECT 'month', 7) g \
     CROSS JOIN (SELECT 'village' AS level UNION ALL SELECT 'town') l \
     WHERE true GROUP BY 1, 2, 3, 4, 5, 6, 7 \
     ON CONFLICT (metric, level, grain, bucket, region_id, key) \
     DO UPDATE SET n = stats_rollup.n + excluded.n, amount = stats_rollup.amount + excluded.amount";

/// PostgreSQL: what the DELETE takes is exactly what is folded (a delta committed meanwhile
/// waits for the next fold), in key order so that two folds never wait on each other crosswise.
const FOLD_POSTGRES: &str = "WITH moved AS (DELETE FROM stats_deltas RETURNING metric, day, village_id, town_id, key, n, amount), \
     folded AS (INSERT INTO stats_rollup (metric, level, grain, bucket, region_id, town_id, key, n, amount) \
       SELECT d.metric, l.level, g.grain, substr(d.day, 1, g.len), \
              CASE l.level WHEN 'village' THEN d.village_id ELSE d.town_id END, d.town_id, d.key, SUM(d.n), SUM(d.amount) \
       FROM moved d CROSS JOIN (VALUES ('day', 10), ('month', 7)) AS g(grain, len) \
       CROSS JOIN (VALUES ('village'), ('town')) AS l(level) \
       GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 7 \
       ON CONFLICT (metric, level, grain, bucket, region_id, key) \
       DO UPDATE SET n = stats_rollup.n + excluded.n, amount = stats_rollup.amount + excluded.amount) \
     SELECT COUNT(*) AS n FROM moved";

impl CityData<'_> {
    /// Move every delta into the roll-ups, in one transaction; returns how many were folded.
    /// Safe to run from several servers at once.
    pub async fn fold_statistics(&self) -> Result<i64> {
        let mut tx = self.write.begin().await?;
        let folded: i64 = match self.backend {
            Backend::Sqlite => {
                // The first write takes SQLite's one writer lock: no delta can be added between
                // the INSERT that reads them and the DELETE.
                sqlx::query(FOLD_SQLITE).execute(&mut *tx).await?;
                sqlx::query("DELETE FROM stats_deltas")
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64
            }
            Backend::Postgres => sqlx::query(FOLD_POSTGRES)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?,
        };
        sqlx::query("UPDATE stats_folds SET folded_at = $1, deltas = deltas + $2 WHERE id = 1")
            .bind(now_ms())
            .bind(folded)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(folded)
    }

    pub async fn statistics_freshness(&self) -> Result<Freshness> {
        let folded_at: i64 = sqlx::query("SELECT folded_at FROM stats_folds WHERE id = 1")
            .fetch_one(&self.read)
            .await?
            .try_get("folded_at")?;
        let pending: i64 = sqlx::query("SELECT COUNT(*) AS n FROM stats_deltas")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        Ok(Freshness { folded_at, pending })
    }

    /// The rolled-up rows of `q`'s metrics in its scope and buckets.
    pub async fn statistics(&self, q: &StatsQuery<'_>) -> Result<Vec<Stat>> {
        if q.metrics.is_empty() {
            return Ok(vec![]);
        }
        let level = match (q.scope, q.level) {
            (Scope::Village(_), _) | (_, Level::Village) => "village",
            _ => "town",
        };
        let grain = match q.grain {
            Grain::Day => "day",
            Grain::Month => "month",
        };
        let metrics: Vec<String> = (0..q.metrics.len())
            .map(|i| format!("${}", i + 5))
            .collect();
        let mut sql = format!(
            "SELECT metric, bucket, region_id, key, n, amount FROM stats_rollup \
             WHERE level = $1 AND grain = $2 AND bucket >= $3 AND bucket <= $4 AND metric IN ({})",
            metrics.join(", ")
        );
        let region = match q.scope {
            Scope::City => None,
            Scope::Town(t) if level == "town" => Some(("region_id", t)),
            Scope::Town(t) => Some(("town_id", t)),
            Scope::Village(v) => Some(("region_id", v)),
        };
        if let Some((column, _)) = region {
            sql.push_str(&format!(" AND {column} = ${}", q.metrics.len() + 5));
        }
        sql.push_str(" ORDER BY metric, bucket, region_id, key");
        let mut query = sqlx::query(&sql)
            .bind(level)
            .bind(grain)
            .bind(q.from)
            .bind(q.to);
        for m in q.metrics {
            query = query.bind(*m);
        }
        if let Some((_, id)) = region {
            query = query.bind(id.as_str());
        }
        query
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(Stat {
                    metric: r.try_get("metric")?,
                    bucket: r.try_get("bucket")?,
                    region_id: r.try_get("region_id")?,
                    key: r.try_get("key")?,
                    n: r.try_get("n")?,
                    amount: r.try_get("amount")?,
                })
            })
            .collect()
    }
}
