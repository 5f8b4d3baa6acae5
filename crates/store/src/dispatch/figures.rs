//! What dispatch tells: per alliance and town, requests, the median times from request to
//! dispatch and to service, hours, active volunteers and the fairness of assignments (the Gini
//! coefficient among the alliance's volunteers, max over median); a volunteer's own record
//! (services, hours, no-shows) for their page and printable certificate; and the service
//! records in the fields of the national volunteer record (identity, time, content, hours,
//! issuer), for export.

use crate::dispatch::Dispatch;
use crate::Result;
use domain::dispatch::fairness;
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// Figures of one alliance in one town (or all towns: `town_id` empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub town_id: String,
    pub town_name: String,
    pub requests: i64,
    pub activities: i64,
    pub closed: i64,
    /// Median minutes from a request to its first offer, and to its first check-in.
    pub median_to_dispatch_min: Option<i64>,
    pub median_to_service_min: Option<i64>,
    pub hours: i64,
    pub volunteers_active: i64,
    pub volunteers: i64,
    /// Gini of accepted places among the alliance's volunteers (0 = even).
    pub gini: f64,
    pub max_over_median: Option<f64>,
    pub no_shows: i64,
    pub mean_rating: Option<f64>,
}

/// A volunteer's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MyRecord {
    pub services: i64,
    pub minutes: i64,
    pub hours: i64,
    pub no_shows: i64,
    pub recent_no_shows: i64,
    pub rows: Vec<RecordRow>,
}

/// One service in a volunteer's record or an export: the national record's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRow {
    pub offer_id: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub resident_id_masked: String,
    pub alliance_name: String,
    pub category: String,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub minutes: i64,
    pub hours: i64,
    pub attendance: String,
    pub confirmation: String,
    pub manual: bool,
    pub deed_id: Option<String>,
    pub credit_refusal: Option<String>,
    pub recorded_at: i64,
}

const RECORD_SQL: &str = "SELECT s.offer_id, s.volunteer_id, c.name_masked, c.resident_id_masked, \
    p.name AS alliance_name, t.category, t.title, t.place, o.starts_at, o.ends_at, s.minutes, s.hours, \
    COALESCE(s.attendance, '') AS attendance, COALESCE(s.confirmation, '') AS confirmation, \
    s.manual_approved_by, s.deed_id, s.credit_refusal, COALESCE(s.credited_at, s.updated_at) AS recorded_at \
    FROM dispatch_service s JOIN dispatch_tasks t ON t.id = s.task_id \
    JOIN dispatch_offers o ON o.id = s.offer_id \
    JOIN partners p ON p.id = s.alliance_id JOIN citizens c ON c.id = s.volunteer_id";

fn record_row(r: &sqlx::any::AnyRow) -> Result<RecordRow> {
    Ok(RecordRow {
        offer_id: r.try_get("offer_id")?,
        volunteer_id: r.try_get("volunteer_id")?,
        volunteer_name: r.try_get("name_masked")?,
        resident_id_masked: r.try_get("resident_id_masked")?,
        alliance_name: r.try_get("alliance_name")?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        place: r.try_get("place")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        minutes: r.try_get::<Option<i64>, _>("minutes")?.unwrap_or(0),
        hours: r.try_get::<Option<i64>, _>("hours")?.unwrap_or(0),
        attendance: r.try_get("attendance")?,
        confirmation: r.try_get("confirmation")?,
        manual: r
            .try_get::<Option<String>, _>("manual_approved_by")?
            .is_some(),
        deed_id: r.try_get("deed_id")?,
        credit_refusal: r.try_get("credit_refusal")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

impl Dispatch<'_> {
    /// A volunteer's record: counted services newest first, totals, no-shows (all and in the
    /// period that lowers their priority).
    pub async fn my_record(&self, citizen_id: &str, now: i64) -> Result<MyRecord> {
        let sql = format!("{RECORD_SQL} WHERE s.volunteer_id = $1 AND s.minutes IS NOT NULL ORDER BY o.starts_at DESC LIMIT 200");
        let rows = sqlx::query(&sql)
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?;
        let rows: Vec<RecordRow> = rows.iter().map(record_row).collect::<Result<_>>()?;
        let ns = sqlx::query("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(CASE WHEN starts_at > $2 THEN 1 ELSE 0 END), 0) AS BIGINT) AS recent FROM dispatch_offers WHERE volunteer_id = $1 AND status = 'no_show'")
            .bind(citizen_id)
            .bind(now - domain::dispatch::NO_SHOW_PERIOD_DAYS * domain::time::DAY_MS)
            .fetch_one(&self.read)
            .await?;
        Ok(MyRecord {
            services: i64::try_from(rows.len()).unwrap_or(0),
            minutes: rows.iter().map(|r| r.minutes).sum(),
            hours: rows.iter().map(|r| r.hours).sum(),
            no_shows: ns.try_get("n")?,
            recent_no_shows: ns.try_get("recent")?,
            rows,
        })
    }

    /// The alliance's service records with hours counted, in `[from, to)` by start, for
    /// export (at most `limit`).
    pub async fn records(
        &self,
        alliance_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<RecordRow>> {
        let sql = format!("{RECORD_SQL} WHERE s.alliance_id = $1 AND s.minutes IS NOT NULL AND o.starts_at >= $2 AND o.starts_at < $3 ORDER BY o.starts_at, s.offer_id LIMIT $4");
        let rows = sqlx::query(&sql)
            .bind(alliance_id)
            .bind(from)
            .bind(to)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(record_row).collect()
    }

    /// The alliance's figures per town (towns with tasks), and the whole alliance first.
    pub async fn figures(&self, alliance_id: &str) -> Result<Vec<Figures>> {
        let tasks = sqlx::query("SELECT t.town_id, r.name_zh AS town_name, t.kind, t.status, t.created_at, t.dispatched_at, t.served_at, t.rating FROM dispatch_tasks t JOIN regions r ON r.id = t.town_id WHERE t.alliance_id = $1")
            .bind(alliance_id)
            .fetch_all(&self.read)
            .await?;
        let service = sqlx::query("SELECT t.town_id, s.volunteer_id, COALESCE(s.hours, 0) AS hours FROM dispatch_service s JOIN dispatch_tasks t ON t.id = s.task_id WHERE s.alliance_id = $1 AND s.minutes IS NOT NULL")
            .bind(alliance_id)
            .fetch_all(&self.read)
            .await?;
        let places = sqlx::query("SELECT t.town_id, o.volunteer_id, o.status FROM dispatch_offers o JOIN dispatch_tasks t ON t.id = o.task_id WHERE t.alliance_id = $1 AND o.status IN ('accepted', 'no_show')")
            .bind(alliance_id)
            .fetch_all(&self.read)
            .await?;
        let members = sqlx::query("SELECT v.citizen_id, v.town_id FROM volunteers v JOIN volunteer_alliances a ON a.citizen_id = v.citizen_id WHERE a.alliance_id = $1 AND v.active = 1")
            .bind(alliance_id)
            .fetch_all(&self.read)
            .await?;
        let mut towns: Vec<(String, String)> = tasks
            .iter()
            .map(|r| Ok((r.try_get("town_id")?, r.try_get("town_name")?)))
            .collect::<Result<_>>()?;
        towns.sort();
        towns.dedup();
        let mut out = vec![figures_of(None, &tasks, &service, &places, &members)?];
        for t in towns {
            out.push(figures_of(Some(t), &tasks, &service, &places, &members)?);
        }
        Ok(out)
    }
}

type Rows = [sqlx::any::AnyRow];

fn in_town(r: &sqlx::any::AnyRow, town: Option<&(String, String)>) -> Result<bool> {
    Ok(match town {
        None => true,
        Some((id, _)) => r.try_get::<String, _>("town_id")? == *id,
    })
}

fn figures_of(
    town: Option<(String, String)>,
    tasks: &Rows,
    service: &Rows,
    places: &Rows,
    members: &Rows,
) -> Result<Figures> {
    let t = town.as_ref();
    let (mut requests, mut activities, mut closed) = (0, 0, 0);
    let (mut to_dispatch, mut to_service, mut ratings) = (Vec::new(), Vec::new(), Vec::new());
    for r in tasks {
        if !in_town(r, t)? {
            continue;
        }
        let kind: String = r.try_get("kind")?;
        if kind == "request" {
            requests += 1;
            let created: i64 = r.try_get("created_at")?;
            if let Some(d) = r.try_get::<Option<i64>, _>("dispatched_at")? {
                to_dispatch.push((d - created) / 60_000);
            }
            if let Some(s) = r.try_get::<Option<i64>, _>("served_at")? {
                to_service.push((s - created) / 60_000);
            }
        } else {
            activities += 1;
        }
        if r.try_get::<String, _>("status")? == "closed" {
            closed += 1;
        }
        if let Some(x) = r.try_get::<Option<i64>, _>("rating")? {
            ratings.push(x);
        }
    }
    let mut hours = 0;
    let mut active = std::collections::HashSet::new();
    for r in service {
        if in_town(r, t)? {
            hours += r.try_get::<i64, _>("hours")?;
            active.insert(r.try_get::<String, _>("volunteer_id")?);
        }
    }
    // Places per volunteer among the alliance's volunteers (living in the town, for a town).
    let mut counts: HashMap<String, u64> = HashMap::new();
    for r in members {
        if in_town(r, t)? {
            counts.insert(r.try_get("citizen_id")?, 0);
        }
    }
    let mut no_shows = 0;
    for r in places {
        if !in_town(r, t)? {
            continue;
        }
        if r.try_get::<String, _>("status")? == "no_show" {
            no_shows += 1;
        }
        if let Some(n) = counts.get_mut(&r.try_get::<String, _>("volunteer_id")?) {
            *n += 1;
        }
    }
    let counts: Vec<u64> = counts.into_values().collect();
    let (town_id, town_name) = town.unwrap_or_default();
    Ok(Figures {
        town_id,
        town_name,
        requests,
        activities,
        closed,
        median_to_dispatch_min: fairness::median(&mut to_dispatch),
        median_to_service_min: fairness::median(&mut to_service),
        hours,
        volunteers_active: i64::try_from(active.len()).unwrap_or(0),
        volunteers: i64::try_from(counts.len()).unwrap_or(0),
        gini: fairness::gini(&counts),
        max_over_median: fairness::max_over_median(&counts),
        no_shows,
        mean_rating: (!ratings.is_empty())
            .then(|| ratings.iter().sum::<i64>() as f64 / ratings.len() as f64),
    })
}
