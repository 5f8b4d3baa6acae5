//! Volunteer dispatch (志愿服务点派单): volunteers and their consent ([`volunteers`]), tasks — a
//! resident's request or an alliance's activity — and their review, cancellation, closing and
//! rating ([`tasks`]), offers proposed by the matcher and answered by volunteers, with sign-ups
//! and wait lists for activities ([`offers`]), service with its two proofs and the points it
//! earns through the alliance's trusted standard ([`service`]), and the figures, records and
//! export ([`figures`]). Alliances are partners of kind `volunteer_alliance`.

pub mod figures;
pub mod offers;
pub mod places;
pub mod service;
pub mod tasks;
pub mod volunteers;

use crate::{Result, StoreError};
use domain::dispatch::{OfferStatus, TaskStatus};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

crate::facet!(Dispatch, dispatch, "Volunteer dispatch (`store.dispatch()`): volunteers, requests and activities, offers, service and hours, figures.");

/// The standard whose points confirmed hours earn (per hour, trusted for the alliance).
pub const HOURS_STANDARD: &str = "volunteer-hour";

/// A partner of kind `volunteer_alliance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alliance {
    pub id: String,
    pub name: String,
}

/// A task as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Task {
    pub id: String,
    pub alliance_id: String,
    pub alliance_name: String,
    /// `request` or `activity`.
    pub kind: String,
    pub category: String,
    pub title: String,
    pub requester_id: Option<String>,
    pub household_id: Option<String>,
    pub filed_by: String,
    pub village_id: String,
    pub village_name: String,
    pub town_id: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub people: i64,
    pub skills: Vec<String>,
    pub certificates: Vec<String>,
    pub notes: String,
    pub status: TaskStatus,
    pub reason: String,
    pub reviewed_at: Option<i64>,
    pub dispatched_at: Option<i64>,
    pub served_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub report: String,
    pub rating: Option<i64>,
    pub comment: String,
    pub created_at: i64,
    /// Accepted places over all shifts, and the places.
    pub filled: i64,
    pub capacity: i64,
}

pub(crate) const TASK_COLUMNS: &str = "t.id, t.alliance_id, p.name AS alliance_name, t.kind, \
    t.category, t.title, t.requester_id, t.household_id, t.filed_by, t.village_id, \
    r.name_zh AS village_name, t.town_id, t.place, t.starts_at, t.ends_at, t.people, t.skills, \
    t.certificates, t.notes, t.status, t.reason, t.reviewed_at, t.dispatched_at, t.served_at, \
    t.closed_at, t.report, t.rating, t.comment, t.created_at, \
    (SELECT CAST(COALESCE(SUM(s.filled), 0) AS BIGINT) FROM dispatch_shifts s WHERE s.task_id = t.id) AS filled, \
    (SELECT CAST(COALESCE(SUM(s.capacity), 0) AS BIGINT) FROM dispatch_shifts s WHERE s.task_id = t.id) AS capacity";

pub(crate) const TASK_FROM: &str = "dispatch_tasks t JOIN partners p ON p.id = t.alliance_id \
    JOIN regions r ON r.id = t.village_id";

pub(crate) fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

pub(crate) fn task_from_row(r: &sqlx::any::AnyRow) -> Result<Task> {
    let status: String = r.try_get("status")?;
    Ok(Task {
        id: r.try_get("id")?,
        alliance_id: r.try_get("alliance_id")?,
        alliance_name: r.try_get("alliance_name")?,
        kind: r.try_get("kind")?,
        category: r.try_get("category")?,
        title: r.try_get("title")?,
        requester_id: r.try_get("requester_id")?,
        household_id: r.try_get("household_id")?,
        filed_by: r.try_get("filed_by")?,
        village_id: r.try_get("village_id")?,
        village_name: r.try_get("village_name")?,
        town_id: r.try_get("town_id")?,
        place: r.try_get("place")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        people: r.try_get("people")?,
        skills: words(&r.try_get::<String, _>("skills")?),
        certificates: words(&r.try_get::<String, _>("certificates")?),
        notes: r.try_get("notes")?,
        status: TaskStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("task status {status}")))?,
        reason: r.try_get("reason")?,
        reviewed_at: r.try_get("reviewed_at")?,
        dispatched_at: r.try_get("dispatched_at")?,
        served_at: r.try_get("served_at")?,
        closed_at: r.try_get("closed_at")?,
        report: r.try_get("report")?,
        rating: r.try_get("rating")?,
        comment: r.try_get("comment")?,
        created_at: r.try_get("created_at")?,
        filled: r.try_get("filled")?,
        capacity: r.try_get("capacity")?,
    })
}

/// One of a task's shifts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    pub id: String,
    pub task_id: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub filled: i64,
}

pub(crate) fn shift_from_row(r: &sqlx::any::AnyRow) -> Result<Shift> {
    Ok(Shift {
        id: r.try_get("id")?,
        task_id: r.try_get("task_id")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
        capacity: r.try_get("capacity")?,
        filled: r.try_get("filled")?,
    })
}

/// An offer (or an activity's sign-up) as the pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offer {
    pub id: String,
    pub task_id: String,
    pub shift_id: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    pub status: OfferStatus,
    pub cost: i64,
    /// Why this volunteer: the matcher's terms, largest first.
    pub terms: Vec<domain::dispatch::matcher::Term>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub starts_at: i64,
    pub ends_at: i64,
}

pub(crate) const OFFER_COLUMNS: &str = "o.id, o.task_id, o.shift_id, o.volunteer_id, \
    c.name_masked AS volunteer_name, o.status, o.cost, o.terms, o.created_at, o.expires_at, \
    o.answered_at, o.starts_at, o.ends_at";

#[derive(serde::Deserialize)]
struct StoredTerm {
    code: String,
    cost: i64,
    detail: String,
}

/// The terms as stored (JSON), back into the matcher's type; unknown codes are dropped.
pub(crate) fn terms_from_json(text: &str) -> Vec<domain::dispatch::matcher::Term> {
    let stored: Vec<StoredTerm> = serde_json::from_str(text).unwrap_or_default();
    stored
        .into_iter()
        .filter_map(|t| {
            Some(domain::dispatch::matcher::Term {
                code: domain::dispatch::matcher::TermCode::parse(&t.code)?,
                cost: t.cost,
                detail: t.detail,
            })
        })
        .collect()
}

pub(crate) fn offer_from_row(r: &sqlx::any::AnyRow) -> Result<Offer> {
    let status: String = r.try_get("status")?;
    Ok(Offer {
        id: r.try_get("id")?,
        task_id: r.try_get("task_id")?,
        shift_id: r.try_get("shift_id")?,
        volunteer_id: r.try_get("volunteer_id")?,
        volunteer_name: r.try_get("volunteer_name")?,
        status: OfferStatus::parse(&status)
            .ok_or_else(|| StoreError::Integrity(format!("offer status {status}")))?,
        cost: r.try_get("cost")?,
        terms: terms_from_json(&r.try_get::<String, _>("terms")?),
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        answered_at: r.try_get("answered_at")?,
        starts_at: r.try_get("starts_at")?,
        ends_at: r.try_get("ends_at")?,
    })
}

/// Record a step in the task's history, in the caller's transaction.
pub(crate) async fn event(
    tx: &mut AnyConnection,
    task_id: &str,
    offer_id: Option<&str>,
    actor: &str,
    action: &str,
    detail: &str,
    at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO dispatch_events (id, task_id, offer_id, at, actor, action, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(domain::new_id())
        .bind(task_id)
        .bind(offer_id)
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// One step of a task's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskEvent {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl Dispatch<'_> {
    /// The alliances (partners of kind `volunteer_alliance`), by name.
    pub async fn alliances(&self) -> Result<Vec<Alliance>> {
        let rows = sqlx::query(
            "SELECT id, name FROM partners WHERE kind = 'volunteer_alliance' ORDER BY name",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Alliance {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    /// The alliance `id`, if it is one.
    pub async fn alliance(&self, id: &str) -> Result<Option<Alliance>> {
        Ok(self.alliances().await?.into_iter().find(|a| a.id == id))
    }

    /// A task by id.
    pub async fn task(&self, id: &str) -> Result<Option<Task>> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(task_from_row)
            .transpose()
    }

    /// A task's shifts, by start.
    pub async fn shifts(&self, task_id: &str) -> Result<Vec<Shift>> {
        let rows = sqlx::query("SELECT id, task_id, starts_at, ends_at, capacity, filled FROM dispatch_shifts WHERE task_id = $1 ORDER BY starts_at, id")
            .bind(task_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(shift_from_row).collect()
    }

    /// A task's offers and sign-ups, newest first.
    pub async fn task_offers(&self, task_id: &str) -> Result<Vec<Offer>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM dispatch_offers o JOIN citizens c ON c.id = o.volunteer_id WHERE o.task_id = $1 ORDER BY o.created_at DESC, o.id");
        let rows = sqlx::query(&sql)
            .bind(task_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(offer_from_row).collect()
    }

    /// A task's history, oldest first.
    pub async fn task_events(&self, task_id: &str) -> Result<Vec<TaskEvent>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, detail FROM dispatch_events WHERE task_id = $1 ORDER BY at, id",
        )
        .bind(task_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TaskEvent {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}

/// The task row, locked for the caller's transaction (PostgreSQL row lock; SQLite's single
/// writer already serialises), or not found.
pub(crate) async fn lock_task(tx: &mut AnyConnection, id: &str) -> Result<Task> {
    // A no-op write takes the row lock on both databases.
    sqlx::query("UPDATE dispatch_tasks SET updated_at = updated_at WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let sql = format!("SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(task_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound { what: "task" })
}

/// Set a task's status (and `updated_at`) in the caller's transaction.
pub(crate) async fn set_status(
    tx: &mut AnyConnection,
    id: &str,
    status: TaskStatus,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE dispatch_tasks SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
