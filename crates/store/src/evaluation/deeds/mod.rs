//! Deeds through their life (see `domain::deed`: the lifecycle, who may take each step, points
//! and caps). Every change is one transaction that first takes the deed's row (an UPDATE of the
//! row), so two committee members voting at once, or a vote racing an objection, are decided one
//! after the other; each change writes an event (append-only) and the inbox notifications it
//! causes. One file per part of the life: [`report`], [`committee`] (votes), [`objection`],
//! [`appeal`], [`credit`] (publicity's end, through the ledger), [`board`] (the queues, the
//! public board, a deed's whole story) and [`inbox`].

mod appeal;
mod batch;
mod board;
mod committee;
mod credit;
mod inbox;
mod objection;
mod report;

pub(crate) use batch::{let_writes_go_on, Plan, Planned, RowOutcome, Touched};
pub use board::{BoardCursor, BoardPage, PublicDeed, BOARD_PAGE_ROWS};
pub(crate) use report::Prepared;
pub(crate) use report::Written;

use super::standards::{standard, Standard, STANDARD_COLUMNS};
use crate::evaluation::Evaluation;
use crate::{Result, StoreError};
use domain::deed::{self, DeedStatus, Member, Outcome, Parties, Source};
use domain::time::DAY_MS;
use domain::FieldError;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// The configurable parts of evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub publicity_ms: i64,
    pub appeal_ms: i64,
    /// Votes that decide; `None`: a majority of the committee.
    pub quorum: Option<usize>,
    pub reports_per_day: i64,
    pub objections_per_day: i64,
    /// A deed waiting longer than this for its committee (or an appeal for its town) is overdue.
    pub overdue_ms: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            publicity_ms: 7 * DAY_MS,
            appeal_ms: 15 * DAY_MS,
            quorum: None,
            reports_per_day: 10,
            objections_per_day: 5,
            overdue_ms: 14 * DAY_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reporter {
    /// A resident: the deed's doer (a report) or someone else (a nomination).
    Citizen(String),
    /// A resident sending the report page's form, under the form's one-time token: the same
    /// form sent twice (the browser's back button, a retried upload) records one deed.
    CitizenForm {
        reporter: String,
        key: domain::IdempotencyKey,
    },
    /// A partner organisation's submission, under its idempotency key.
    Partner {
        partner_id: String,
        key: domain::IdempotencyKey,
    },
}

/// A stored evidence file (the bytes live outside the database, named by their hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
}

#[derive(Debug, Clone)]
pub struct NewDeed {
    pub citizen_id: String,
    pub reporter: Reporter,
    pub standard_code: String,
    pub deed_date: String,
    pub place: String,
    pub description: String,
    pub evidence: Vec<Evidence>,
    /// Partners name the points (within the standard's range); committees decide otherwise.
    pub points: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deed {
    pub id: String,
    pub citizen_id: String,
    pub citizen_name_masked: String,
    pub village_id: String,
    pub household_id: String,
    pub source: String,
    pub reporter_id: String,
    pub standard: Standard,
    pub deed_date: String,
    pub place: String,
    pub description: String,
    pub status: DeedStatus,
    pub round: i64,
    pub points: Option<i64>,
    pub duplicate_of: Option<String>,
    pub decided_at: Option<i64>,
    pub publicity_ends_at: Option<i64>,
    pub appeal_deadline: Option<i64>,
    pub ledger_index: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeedEvent {
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: String,
    pub action: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vote {
    pub round: i64,
    pub staff_id: String,
    pub staff_name: String,
    pub approve: bool,
    pub points: Option<i64>,
    pub comment: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Objection {
    pub id: String,
    pub round: i64,
    pub citizen_id: String,
    pub reason: String,
    pub at: i64,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appeal {
    pub citizen_id: String,
    pub reason: String,
    pub at: i64,
    pub outcome: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub comment: Option<String>,
}

/// Everything behind a deed: what a resident opens from a ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeedDetail {
    pub deed: Deed,
    pub evidence: Vec<Evidence>,
    pub votes: Vec<Vote>,
    pub objections: Vec<Objection>,
    pub appeal: Option<Appeal>,
    pub events: Vec<DeedEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: String,
    pub deed_id: Option<String>,
    pub kind: String,
    pub at: i64,
    pub read: bool,
}

/// A town reviewer's decision on an appeal.
#[derive(Debug, Clone)]
pub struct AppealDecision {
    /// Reverse the rejection (publicity with `points`), or uphold it (final).
    pub reverse: bool,
    pub points: Option<i64>,
    pub comment: String,
}

/// A member's vote.
#[derive(Debug, Clone)]
pub struct VoteInput {
    pub approve: bool,
    pub points: Option<i64>,
    pub comment: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CreditReport {
    pub credited: usize,
    pub failed: usize,
}

/// The deed's own columns (the masked name comes from `citizens`).
const DEED_COLUMNS: &str = "d.id AS deed_id, d.citizen_id, d.village_id, d.household_id, d.source, d.reporter_id, \
    d.deed_date, d.place, d.description, d.status, d.round, d.points, d.duplicate_of, d.decided_at, \
    d.publicity_ends_at, d.appeal_deadline, d.ledger_index, d.created_at AS deed_created_at, d.updated_at";

fn deed_select(filter: &str) -> String {
    format!(
        "SELECT {DEED_COLUMNS}, c.name_masked, {STANDARD_COLUMNS} FROM deeds d JOIN standards s ON s.id = d.standard_id \
         LEFT JOIN citizens c ON c.id = d.citizen_id {filter}"
    )
}

fn deed_row(r: &sqlx::any::AnyRow) -> Result<Deed> {
    let status: String = r.try_get("status")?;
    // The deed's own id and creation time are aliased, so `id` and `created_at` are the standard's.
    let std_row = standard(r)?;
    Ok(Deed {
        id: r.try_get("deed_id")?,
        citizen_id: r.try_get("citizen_id")?,
        citizen_name_masked: r
            .try_get::<Option<String>, _>("name_masked")?
            .unwrap_or_else(|| "（已注销）".into()),
        village_id: r.try_get("village_id")?,
        household_id: r.try_get("household_id")?,
        source: r.try_get("source")?,
        reporter_id: r.try_get("reporter_id")?,
        standard: std_row,
        deed_date: r.try_get("deed_date")?,
        place: r.try_get("place")?,
        description: r.try_get("description")?,
        status: DeedStatus::parse(&status).ok_or(StoreError::Crypto("unknown deed status"))?,
        round: r.try_get("round")?,
        points: r.try_get("points")?,
        duplicate_of: r.try_get("duplicate_of")?,
        decided_at: r.try_get("decided_at")?,
        publicity_ends_at: r.try_get("publicity_ends_at")?,
        appeal_deadline: r.try_get("appeal_deadline")?,
        ledger_index: r.try_get("ledger_index")?,
        created_at: r.try_get("deed_created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

fn refused(field: &'static str, code: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Conflict(FieldError::new(field, code, detail))
}

/// The result of an INSERT that may happen once (a vote per round, an objection, an appeal): a
/// unique violation is the conflict `code` on the deed, whichever racing request lost.
fn once<T>(
    res: std::result::Result<T, sqlx::Error>,
    code: &'static str,
    detail: &'static str,
) -> Result<()> {
    match res {
        Ok(_) => Ok(()),
        Err(e) if StoreError::is_unique_violation(&e) => Err(refused("deed", code, detail)),
        Err(e) => Err(e.into()),
    }
}

impl Deed {
    /// The state `outcome` leads to (`domain::deed`'s lifecycle). The step was allowed in this
    /// state inside the same transaction, so anything else is a broken invariant.
    fn after(&self, outcome: Outcome) -> Result<DeedStatus> {
        self.status.after(outcome).ok_or_else(|| {
            StoreError::Integrity(format!(
                "deed {}: {outcome:?} cannot follow {}",
                self.id,
                self.status.as_str()
            ))
        })
    }

    /// The people the deed concerns, as `domain::deed` asks about them.
    pub fn parties(&self) -> Parties<'_> {
        Parties {
            citizen_id: &self.citizen_id,
            reporter_id: &self.reporter_id,
            // Written by `report_deed` only, from the same three names.
            source: Source::parse(&self.source).unwrap_or(Source::Partner),
        }
    }
}

async fn event(
    tx: &mut AnyConnection,
    deed_id: &str,
    at: i64,
    actor: (&str, &str),
    action: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO deed_events (id, deed_id, at, actor_kind, actor_id, action, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(domain::new_id())
    .bind(deed_id)
    .bind(at)
    .bind(actor.0)
    .bind(actor.1)
    .bind(action)
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn notify(
    tx: &mut AnyConnection,
    recipients: &[(&str, String)],
    deed_id: &str,
    kind: &str,
    at: i64,
) -> Result<()> {
    for (rkind, rid) in recipients {
        sqlx::query(
            "INSERT INTO notifications (id, recipient_kind, recipient_id, deed_id, kind, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(domain::new_id())
        .bind(*rkind)
        .bind(rid)
        .bind(deed_id)
        .bind(kind)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Active members of a committee: evaluators of a village, or reviewers of a town.
async fn members(
    tx: &mut AnyConnection,
    role: &str,
    region_id: &str,
) -> Result<Vec<(String, Option<String>)>> {
    sqlx::query(
        "SELECT id, citizen_id FROM staff WHERE role = $1 AND region_id = $2 AND active = 1 ORDER BY id",
    )
    .bind(role)
    .bind(region_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("citizen_id")?)))
    .collect()
}

fn staff_recipients(m: &[(String, Option<String>)]) -> Vec<(&'static str, String)> {
    m.iter().map(|(id, _)| ("staff", id.clone())).collect()
}

/// Take the deed's row for this transaction and read it.
async fn lock_deed(tx: &mut AnyConnection, id: &str, now: i64) -> Result<Deed> {
    let touched = sqlx::query("UPDATE deeds SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if touched == 0 {
        return Err(StoreError::NotFound { what: "deed" });
    }
    let row = sqlx::query(&deed_select("WHERE d.id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    deed_row(&row)
}

async fn set_status(
    tx: &mut AnyConnection,
    id: &str,
    status: DeedStatus,
    sets: &str,
    binds: &[Option<i64>],
) -> Result<()> {
    let sql = format!("UPDATE deeds SET status = $1{sets} WHERE id = $2");
    let mut q = sqlx::query(&sql).bind(status.as_str()).bind(id);
    for b in binds {
        q = q.bind(*b);
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

/// Take the resident's row for this transaction, so that approvals of their deeds that count
/// against a cap are decided one after the other: on PostgreSQL two transactions would otherwise
/// each sum the points without seeing the other's and together exceed the cap (SQLite has one
/// writer at a time anyway). Every path that checks a cap calls this before summing.
async fn lock_resident(tx: &mut AnyConnection, citizen_id: &str) -> Result<()> {
    sqlx::query("UPDATE citizens SET id = id WHERE id = $1")
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The active members of a committee (village evaluators or town reviewers) and, for this deed,
/// whether each is linked to their resident record and whether they must stand aside.
async fn eligible_voters(
    tx: &mut AnyConnection,
    role: &str,
    region_id: &str,
    d: &Deed,
) -> Result<Vec<Member>> {
    let parties = d.parties();
    sqlx::query(
        "SELECT s.id, s.is_chair, s.citizen_id, c.household_id FROM staff s \
         LEFT JOIN citizens c ON c.id = s.citizen_id \
         WHERE s.role = $1 AND s.region_id = $2 AND s.active = 1 ORDER BY s.id",
    )
    .bind(role)
    .bind(region_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| {
        let citizen: Option<String> = r.try_get("citizen_id")?;
        let household: Option<String> = r.try_get("household_id")?;
        Ok(Member::for_deed(
            r.try_get("id")?,
            r.try_get::<i64, _>("is_chair")? != 0,
            citizen.as_deref(),
            household.as_deref(),
            &d.household_id,
            &parties,
        ))
    })
    .collect()
}

/// How the chair voted in this round, if they did.
async fn chair_vote(
    tx: &mut AnyConnection,
    deed_id: &str,
    round: i64,
    chair: &str,
) -> Result<Option<bool>> {
    Ok(sqlx::query(
        "SELECT approve FROM deed_votes WHERE deed_id = $1 AND round = $2 AND staff_id = $3",
    )
    .bind(deed_id)
    .bind(round)
    .bind(chair)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get::<i64, _>("approve"))
    .transpose()?
    .map(|a| a != 0))
}

/// Points of the resident's deeds of this standard already counted (on publicity, paused or
/// credited) in the cap period of `deed_date`, `except` one deed (the one being decided).
async fn cap_used(
    tx: &mut AnyConnection,
    citizen_id: &str,
    standard_code: &str,
    window: &str,
    except: &str,
) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(d.points), 0) AS BIGINT) AS used FROM deeds d JOIN standards s ON s.id = d.standard_id \
         WHERE d.citizen_id = $1 AND s.code = $2 AND d.id <> $3 AND d.deed_date LIKE $4 \
         AND d.status IN ('publicity', 'paused', 'credited')",
    )
    .bind(citizen_id)
    .bind(standard_code)
    .bind(except)
    .bind(format!("{window}%"))
    .fetch_one(&mut *tx)
    .await?
    .try_get("used")?)
}

/// Refuse `points` for deed `d` when they would pass its standard's cap. Takes the resident's row
/// first (see [`lock_resident`]).
async fn check_cap(tx: &mut AnyConnection, d: &Deed, points: i64) -> Result<()> {
    let s = &d.standard;
    let (Some(cap), Some(window)) = (s.cap_points, deed::cap_window(&s.cap_period, &d.deed_date))
    else {
        return Ok(());
    };
    lock_resident(tx, &d.citizen_id).await?;
    let used = cap_used(tx, &d.citizen_id, &s.code, window, &d.id).await?;
    deed::check_cap(cap, &s.cap_period, used, points).map_err(StoreError::Conflict)
}

impl Evaluation<'_> {
    pub async fn deed(&self, id: &str) -> Result<Option<Deed>> {
        let row = sqlx::query(&deed_select("WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(deed_row).transpose()
    }

    /// The deed behind a ledger entry.
    pub async fn deed_by_ledger_index(&self, index: i64) -> Result<Option<Deed>> {
        let row = sqlx::query(&deed_select("WHERE d.ledger_index = $1"))
            .bind(index)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(deed_row).transpose()
    }
}
