//! Deeds through their life (see `domain::deed::DeedStatus`). Every change is one transaction
//! that first takes the deed's row (an UPDATE of the row), so two committee members voting at
//! once, or a vote racing an objection, are decided one after the other; each change writes an
//! event (append-only) and the inbox notifications it causes.

use super::standards::{standard, Standard, STANDARD_COLUMNS};
use crate::ledger::sequencer::positional;
use crate::ledger::{in_list, NewEntry, Sequencer};
use crate::seed::statement_rows;
use crate::{Result, Store, StoreError};
use domain::deed::{self, DeedStatus, Tally};
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

const DAY_MS: i64 = 86_400_000;

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
    /// A partner organisation's submission, under its idempotency key.
    Partner { partner_id: String, key: String },
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

/// Deeds on one page of a village's publicity board (page and API). A phone renders a page
/// of this size quickly; the rest of the board is one `next_cursor` away.
pub const BOARD_PAGE_ROWS: i64 = 100;

/// A deed as the public board shows it: masked name, standard, points, what and where, and
/// when publicity ends. Nothing that names a person, so it serializes as the API's item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicDeed {
    pub id: String,
    pub name_masked: String,
    pub standard: String,
    pub standard_name_zh: String,
    pub standard_name_en: String,
    pub deed_date: String,
    pub place: String,
    pub description: String,
    pub points: Option<i64>,
    pub publicity_ends_at: Option<i64>,
}

/// Where a board page starts: after the deed whose publicity ends at `ends_at` with this `id`
/// (the board's order). Its text form `<ends_at>_<id>` is the API's `next_cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCursor {
    pub ends_at: i64,
    pub id: String,
}

impl BoardCursor {
    pub fn parse(raw: &str) -> Option<BoardCursor> {
        let (at, id) = raw.split_once('_')?;
        Some(BoardCursor {
            ends_at: at.parse().ok()?,
            id: domain::parse_id("cursor", id).ok()?,
        })
    }
}

impl std::fmt::Display for BoardCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.ends_at, self.id)
    }
}

/// One page of a board and where the next one starts (`None`: this is the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardPage {
    pub items: Vec<PublicDeed>,
    #[serde(serialize_with = "cursor_text")]
    pub next_cursor: Option<BoardCursor>,
}

fn cursor_text<S: serde::Serializer>(
    c: &Option<BoardCursor>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(&c.to_string()),
        None => s.serialize_none(),
    }
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

fn public_deed_row(r: &sqlx::any::AnyRow) -> Result<PublicDeed> {
    Ok(PublicDeed {
        id: r.try_get("id")?,
        name_masked: r
            .try_get::<Option<String>, _>("name_masked")?
            .unwrap_or_else(|| "（已注销）".into()),
        standard: r.try_get("code")?,
        standard_name_zh: r.try_get("name_zh")?,
        standard_name_en: r.try_get("name_en")?,
        deed_date: r.try_get("deed_date")?,
        place: r.try_get("place")?,
        description: r.try_get("description")?,
        points: r.try_get("points")?,
        publicity_ends_at: r.try_get("publicity_ends_at")?,
    })
}

fn refused(field: &'static str, code: &'static str, detail: impl Into<String>) -> StoreError {
    StoreError::Conflict(FieldError::new(field, code, detail))
}

/// `($1,…,$cols),($cols+1,…)` for `rows` rows.
fn values_list(cols: usize, rows: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", in_list(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(",")
}

/// `yyyy-mm-dd` of a time in China Standard Time.
pub fn day_of(at_ms: i64) -> String {
    let days = (at_ms + 8 * 3_600_000).div_euclid(DAY_MS);
    let (y, m, d) = crate::seed::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
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

/// A committee member as recusal sees them: who they are as a resident, if linked.
#[derive(Debug, Clone)]
struct Member {
    staff_id: String,
    is_chair: bool,
    /// Linked to a resident record that still exists.
    linked: bool,
    /// Their household is the deed's, or they are the deed's resident or reporter.
    recused: bool,
}

impl Member {
    fn may_vote(&self) -> bool {
        self.linked && !self.recused
    }
}

/// The active members of a committee (village evaluators or town reviewers) and, for this deed,
/// whether each is linked to their resident record and whether they must stand aside.
async fn eligible_voters(
    tx: &mut AnyConnection,
    role: &str,
    region_id: &str,
    d: &Deed,
) -> Result<Vec<Member>> {
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
        let recused = household.as_deref() == Some(d.household_id.as_str())
            || citizen
                .as_deref()
                .is_some_and(|c| c == d.citizen_id || c == d.reporter_id);
        Ok(Member {
            staff_id: r.try_get("id")?,
            is_chair: r.try_get::<i64, _>("is_chair")? != 0,
            linked: household.is_some(),
            recused,
        })
    })
    .collect()
}

/// Refuse a member who may not decide this deed: unlinked (recusal could not be checked) or
/// recused (their own household's deed, or one they reported or nominated).
fn recusal(members: &[Member], staff_id: &str, d: &Deed) -> Result<()> {
    let Some(me) = members.iter().find(|m| m.staff_id == staff_id) else {
        return Err(StoreError::NotFound { what: "deed" });
    };
    if !me.linked {
        return Err(refused(
            "staff",
            "not_linked",
            "your account is not linked to your resident record, so recusal cannot be checked; ask the admin to link it",
        ));
    }
    if me.recused {
        let detail = if d.source == "nomination" || d.source == "own" {
            "a member cannot decide a deed of their own household or one they reported or nominated"
        } else {
            "a member cannot decide a deed of their own household"
        };
        return Err(refused("deed", "recused", detail));
    }
    Ok(())
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

impl Store {
    /// Report, nominate or submit a deed. A partner's retry with the same key returns the deed
    /// it created; the same key for another deed is a conflict.
    pub async fn report_deed(&self, new: &NewDeed, rules: &Rules, now: i64) -> Result<Deed> {
        let mut errs = FieldErrors::default();
        let place = errs.take(deed::text("place", &new.place, deed::PLACE_CHARS_MAX));
        let description = errs.take(deed::text(
            "description",
            &new.description,
            deed::DESCRIPTION_CHARS_MAX,
        ));
        let date = errs.take(deed::deed_date(&new.deed_date, &day_of(now)));
        let citizen = self.citizen_summary(&new.citizen_id).await?;
        if citizen.is_none() {
            errs.push(FieldError::new(
                "citizen_id",
                "unknown_citizen",
                "no enrolled resident has this id",
            ));
        }
        let standard = self.standard_current(&new.standard_code).await?;
        match &standard {
            None => errs.push(FieldError::new(
                "standard",
                "unknown_standard",
                "not in the catalogue",
            )),
            Some(s) if !s.active => errs.push(FieldError::new(
                "standard",
                "inactive_standard",
                "no longer awarded",
            )),
            _ => {}
        }
        let (place, description, date, Some(citizen), Some(standard)) =
            (place, description, date, citizen, standard)
        else {
            return Err(StoreError::Invalid(errs));
        };
        errs.into_result().map_err(StoreError::Invalid)?;

        let (source, reporter_id, idem_key) = match &new.reporter {
            Reporter::Citizen(r) if *r == new.citizen_id => ("own", r.clone(), None),
            Reporter::Citizen(r) => ("nomination", r.clone(), None),
            Reporter::Partner { partner_id, key } => (
                "partner",
                partner_id.clone(),
                Some(format!("{partner_id}/{key}")),
            ),
        };
        let automatic = source == "partner" && standard.awarder == "partner";
        if automatic && !self.standard_trusts(&standard.id, &reporter_id).await? {
            // Checked before a retry is matched, like an inactive standard: trust withdrawn
            // since is refused too.
            return Err(StoreError::invalid(
                "standard",
                "untrusted_partner",
                &format!(
                    "the standard '{}' does not trust your organisation to submit its deeds",
                    standard.code
                ),
            ));
        }
        let points = match (source, new.points) {
            ("partner", Some(p)) if (standard.points_min..=standard.points_max).contains(&p) => {
                Some(p)
            }
            ("partner", Some(_)) => {
                return Err(StoreError::invalid(
                    "points",
                    "out_of_range",
                    &format!(
                        "{} to {} for this standard",
                        standard.points_min, standard.points_max
                    ),
                ))
            }
            ("partner", None) if standard.points_min == standard.points_max => {
                Some(standard.points_min)
            }
            ("partner", None) if automatic => {
                return Err(StoreError::invalid(
                    "points",
                    "missing",
                    "this standard's points are a range: name them",
                ))
            }
            (_, Some(_)) => {
                return Err(StoreError::invalid(
                    "points",
                    "not_allowed",
                    "the committee decides the points",
                ))
            }
            _ => None,
        };
        if new.evidence.len() > 5 {
            return Err(StoreError::invalid(
                "evidence",
                "too_many",
                "at most 5 files",
            ));
        }
        let hash: [u8; 32] = Sha256::digest(
            serde_json::to_vec(&(
                &new.citizen_id,
                &standard.code,
                &date,
                &place,
                &description,
                points,
                new.evidence.iter().map(|e| &e.sha256).collect::<Vec<_>>(),
            ))
            .unwrap_or_default(),
        )
        .into();

        let mut tx = self.write.begin().await?;
        if let (true, Some(p), Some(cap)) = (automatic, points, standard.cap_points) {
            // Automatic submissions skip the committee, not the cap.
            lock_resident(&mut tx, &new.citizen_id).await?;
            let day = date.as_deref().unwrap_or_default();
            let prefix = match standard.cap_period.as_str() {
                "month" => day.get(..7).unwrap_or(day).to_string(),
                _ => day.get(..4).unwrap_or(day).to_string(),
            };
            let used: i64 = sqlx::query(
                "SELECT CAST(COALESCE(SUM(d.points), 0) AS BIGINT) AS used FROM deeds d JOIN standards s ON s.id = d.standard_id \
                 WHERE d.citizen_id = $1 AND s.code = $2 AND d.deed_date LIKE $3 AND d.status IN ('publicity', 'paused', 'credited')",
            )
            .bind(&new.citizen_id)
            .bind(&standard.code)
            .bind(format!("{prefix}%"))
            .fetch_one(&mut *tx)
            .await?
            .try_get("used")?;
            let replay = match &idem_key {
                Some(k) => sqlx::query("SELECT id FROM deeds WHERE idem_key = $1")
                    .bind(k)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some(),
                None => false,
            };
            if !replay && used + p > cap {
                return Err(refused(
                    "points",
                    "cap_exceeded",
                    format!(
                        "{cap} points per {} at most for this standard; {} remain",
                        standard.cap_period,
                        (cap - used).max(0)
                    ),
                ));
            }
        }
        if let Some(key) = &idem_key {
            let prior = sqlx::query("SELECT id, request_hash FROM deeds WHERE idem_key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(r) = prior {
                let id: String = r.try_get("id")?;
                let h: Vec<u8> = r.try_get("request_hash")?;
                drop(tx);
                if h.as_slice() != hash.as_slice() {
                    return Err(refused(
                        "Idempotency-Key",
                        "idempotency_conflict",
                        format!(
                            "key '{}' was already used for another deed ({id})",
                            display_key(key)
                        ),
                    ));
                }
                return self
                    .deed(&id)
                    .await?
                    .ok_or(StoreError::NotFound { what: "deed" });
            }
        } else {
            // Rate limit: reports by one resident in the last day.
            let n: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM deeds WHERE reporter_id = $1 AND source <> 'partner' AND created_at > $2",
            )
            .bind(&reporter_id)
            .bind(now - DAY_MS)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if n >= rules.reports_per_day {
                return Err(StoreError::RateLimited {
                    retry_after_s: 3600,
                });
            }
        }
        // The same person, category and day reported before: flagged, not refused.
        let duplicate_of: Option<String> = sqlx::query(
            "SELECT d.id FROM deeds d JOIN standards s ON s.id = d.standard_id \
             WHERE d.citizen_id = $1 AND s.code = $2 AND d.deed_date = $3 AND d.status NOT IN ('rejected', 'closed') \
             ORDER BY d.created_at LIMIT 1",
        )
        .bind(&new.citizen_id)
        .bind(&standard.code)
        .bind(&date)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
        let id = domain::new_id();
        let (status, ends) = if automatic {
            (DeedStatus::Publicity, Some(now + rules.publicity_ms))
        } else {
            (DeedStatus::Review, None)
        };
        let res = sqlx::query(
            "INSERT INTO deeds (id, citizen_id, village_id, household_id, source, reporter_id, idem_key, request_hash, \
             standard_id, deed_date, place, description, status, round, points, duplicate_of, decided_at, publicity_ends_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $15, $16, $17, $18, $18)",
        )
        .bind(&id)
        .bind(&new.citizen_id)
        .bind(&citizen.village_id)
        .bind(&citizen.household_id)
        .bind(source)
        .bind(&reporter_id)
        .bind(idem_key.as_deref())
        .bind(hash.as_slice())
        .bind(&standard.id)
        .bind(&date)
        .bind(&place)
        .bind(&description)
        .bind(status.as_str())
        .bind(points)
        .bind(duplicate_of.as_deref())
        .bind(automatic.then_some(now))
        .bind(ends)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            if StoreError::is_unique_violation(&e) {
                drop(tx);
                // A concurrent retry of the same partner key won: answer as a retry.
                return Box::pin(self.report_deed(new, rules, now)).await;
            }
            return Err(e.into());
        }
        for ev in &new.evidence {
            sqlx::query("INSERT INTO deed_evidence (deed_id, sha256, content_type, bytes) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(&id)
                .bind(&ev.sha256)
                .bind(&ev.content_type)
                .bind(ev.bytes)
                .execute(&mut *tx)
                .await?;
        }
        let actor = if source == "partner" {
            "partner"
        } else {
            "citizen"
        };
        event(
            &mut tx,
            &id,
            now,
            (actor, &reporter_id),
            source,
            &standard.rule(),
        )
        .await?;
        if let Some(d) = &duplicate_of {
            event(
                &mut tx,
                &id,
                now,
                ("system", "evaluation"),
                "flagged_duplicate",
                d,
            )
            .await?;
        }
        let committee = members(&mut tx, "evaluator", &citizen.village_id).await?;
        if automatic {
            event(
                &mut tx,
                &id,
                now,
                ("system", "evaluation"),
                "publicity",
                "automatic partner submission",
            )
            .await?;
            notify(
                &mut tx,
                &[("citizen", new.citizen_id.clone())],
                &id,
                "deed_publicity",
                now,
            )
            .await?;
        } else {
            notify(
                &mut tx,
                &staff_recipients(&committee),
                &id,
                "deed_to_review",
                now,
            )
            .await?;
            if source == "nomination" {
                notify(
                    &mut tx,
                    &[("citizen", new.citizen_id.clone())],
                    &id,
                    "deed_nominated",
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.deed(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "deed" })
    }

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

    /// A committee member votes. Recusal is enforced: nobody votes on a deed of their own
    /// household or one they reported. A rejection needs a reason; approvals name points in
    /// the standard's range; the standard's cap is checked when a round approves.
    pub async fn vote(
        &self,
        deed_id: &str,
        staff: &crate::Staff,
        v: &VoteInput,
        rules: &Rules,
        now: i64,
    ) -> Result<DeedStatus> {
        let comment = v.comment.trim();
        if !v.approve && comment.is_empty() {
            return Err(StoreError::invalid(
                "comment",
                "reason_required",
                "a rejection needs a reason",
            ));
        }
        if comment.chars().count() > deed::REASON_CHARS_MAX {
            return Err(StoreError::invalid(
                "comment",
                "too_long",
                "at most 500 characters",
            ));
        }
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        if staff.role != domain::Role::Evaluator
            || staff.region_id.as_deref() != Some(d.village_id.as_str())
            || !staff.active
        {
            return Err(StoreError::NotFound { what: "deed" });
        }
        if !d.status.is_voting() {
            return Err(refused(
                "deed",
                "not_open_for_votes",
                format!("the deed is {}", d.status.as_str()),
            ));
        }
        let eligible = eligible_voters(&mut tx, "evaluator", &d.village_id, &d).await?;
        recusal(&eligible, &staff.id, &d)?;
        let points = if v.approve {
            let s = &d.standard;
            let p = match v.points {
                Some(p) => p,
                None if s.points_min == s.points_max => s.points_min,
                None => {
                    return Err(StoreError::invalid(
                        "points",
                        "missing",
                        &format!("{} to {}", s.points_min, s.points_max),
                    ))
                }
            };
            if !(s.points_min..=s.points_max).contains(&p) {
                return Err(StoreError::invalid(
                    "points",
                    "out_of_range",
                    &format!("{} to {} for this standard", s.points_min, s.points_max),
                ));
            }
            Some(p)
        } else {
            None
        };
        let res = sqlx::query(
            "INSERT INTO deed_votes (deed_id, round, staff_id, approve, points, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(deed_id)
        .bind(d.round)
        .bind(&staff.id)
        .bind(i64::from(v.approve))
        .bind(points)
        .bind(comment)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            if StoreError::is_unique_violation(&e) {
                return Err(refused(
                    "deed",
                    "already_voted",
                    "you have voted in this round",
                ));
            }
            return Err(e.into());
        }
        event(
            &mut tx,
            deed_id,
            now,
            ("staff", &staff.id),
            if v.approve {
                "vote_approve"
            } else {
                "vote_reject"
            },
            comment,
        )
        .await?;
        let committee = members(&mut tx, "evaluator", &d.village_id).await?;
        let rows =
            sqlx::query("SELECT approve, points FROM deed_votes WHERE deed_id = $1 AND round = $2")
                .bind(deed_id)
                .bind(d.round)
                .fetch_all(&mut *tx)
                .await?;
        let mut approvals = Vec::new();
        let mut rejections = 0;
        for r in &rows {
            if r.try_get::<i64, _>("approve")? != 0 {
                approvals.push(r.try_get::<Option<i64>, _>("points")?.unwrap_or(0));
            } else {
                rejections += 1;
            }
        }
        let outcome = if committee.len() < deed::COMMITTEE_MIN {
            Tally::Pending
        } else {
            match deed::tally(
                &approvals,
                rejections,
                deed::quorum(committee.len(), rules.quorum),
            ) {
                Tally::Pending => {
                    let may_vote = eligible.iter().filter(|m| m.may_vote()).count();
                    let chair = match eligible.iter().find(|m| m.is_chair && m.may_vote()) {
                        Some(c) => chair_vote(&mut tx, deed_id, d.round, &c.staff_id).await?,
                        None => None,
                    };
                    deed::casting_vote(&approvals, rejections, may_vote, chair)
                }
                decided => decided,
            }
        };
        let paused = d.status == DeedStatus::Paused;
        let new_status = match outcome {
            Tally::Pending => d.status,
            Tally::Approved { points } => {
                self.check_cap(&mut tx, &d, points).await?;
                set_status(
                    &mut tx,
                    deed_id,
                    DeedStatus::Publicity,
                    ", points = $3, decided_at = $4, publicity_ends_at = $5",
                    &[Some(points), Some(now), Some(now + rules.publicity_ms)],
                )
                .await?;
                event(
                    &mut tx,
                    deed_id,
                    now,
                    ("committee", &d.village_id),
                    "approved",
                    &format!("{points}"),
                )
                .await?;
                if paused {
                    self.close_objections(&mut tx, deed_id, d.round - 1, "dismissed", now)
                        .await?;
                    event(
                        &mut tx,
                        deed_id,
                        now,
                        ("committee", &d.village_id),
                        "objection_dismissed",
                        comment,
                    )
                    .await?;
                }
                notify(
                    &mut tx,
                    &[("citizen", d.citizen_id.clone())],
                    deed_id,
                    "deed_publicity",
                    now,
                )
                .await?;
                DeedStatus::Publicity
            }
            Tally::Rejected => {
                set_status(
                    &mut tx,
                    deed_id,
                    DeedStatus::Rejected,
                    ", decided_at = $3, appeal_deadline = $4",
                    &[Some(now), Some(now + rules.appeal_ms)],
                )
                .await?;
                event(
                    &mut tx,
                    deed_id,
                    now,
                    ("committee", &d.village_id),
                    "rejected",
                    comment,
                )
                .await?;
                if paused {
                    self.close_objections(&mut tx, deed_id, d.round - 1, "upheld", now)
                        .await?;
                    event(
                        &mut tx,
                        deed_id,
                        now,
                        ("committee", &d.village_id),
                        "objection_upheld",
                        comment,
                    )
                    .await?;
                }
                let mut to = vec![("citizen", d.citizen_id.clone())];
                if d.source == "nomination" {
                    to.push(("citizen", d.reporter_id.clone()));
                }
                notify(&mut tx, &to, deed_id, "deed_rejected", now).await?;
                DeedStatus::Rejected
            }
        };
        tx.commit().await?;
        Ok(new_status)
    }

    async fn check_cap(&self, tx: &mut AnyConnection, d: &Deed, points: i64) -> Result<()> {
        let s = &d.standard;
        let Some(cap) = s.cap_points else {
            return Ok(());
        };
        let prefix = match s.cap_period.as_str() {
            "month" => &d.deed_date[..7],
            "year" => &d.deed_date[..4],
            _ => return Ok(()),
        };
        lock_resident(tx, &d.citizen_id).await?;
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(d.points), 0) AS BIGINT) AS used FROM deeds d JOIN standards s ON s.id = d.standard_id \
             WHERE d.citizen_id = $1 AND s.code = $2 AND d.id <> $3 AND d.deed_date LIKE $4 \
             AND d.status IN ('publicity', 'paused', 'credited')",
        )
        .bind(&d.citizen_id)
        .bind(&s.code)
        .bind(&d.id)
        .bind(format!("{prefix}%"))
        .fetch_one(&mut *tx)
        .await?
        .try_get("used")?;
        if used + points > cap {
            return Err(refused(
                "points",
                "cap_exceeded",
                format!(
                    "{cap} points per {} at most for this standard; {} remain",
                    s.cap_period,
                    (cap - used).max(0)
                ),
            ));
        }
        Ok(())
    }

    async fn close_objections(
        &self,
        tx: &mut AnyConnection,
        deed_id: &str,
        round: i64,
        outcome: &str,
        now: i64,
    ) -> Result<()> {
        // The objectors hear the outcome in their inbox (`objection_upheld`/`_dismissed`).
        let objectors: Vec<(&str, String)> = sqlx::query(
            "SELECT citizen_id FROM deed_objections WHERE deed_id = $1 AND round = $2 AND outcome IS NULL ORDER BY at, id",
        )
        .bind(deed_id)
        .bind(round)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok(("citizen", r.try_get("citizen_id")?)))
        .collect::<Result<_>>()?;
        sqlx::query("UPDATE deed_objections SET outcome = $1, decided_at = $2 WHERE deed_id = $3 AND round = $4 AND outcome IS NULL")
            .bind(outcome)
            .bind(now)
            .bind(deed_id)
            .bind(round)
            .execute(&mut *tx)
            .await?;
        notify(
            tx,
            &objectors,
            deed_id,
            &format!("objection_{outcome}"),
            now,
        )
        .await
    }

    /// Any signed-in resident objects to a deed on publicity: it pauses and returns to the
    /// committee for a new round of votes.
    pub async fn object(
        &self,
        deed_id: &str,
        citizen_id: &str,
        reason: &str,
        rules: &Rules,
        now: i64,
    ) -> Result<()> {
        let reason = deed::text("reason", reason, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        if d.status != DeedStatus::Publicity {
            return Err(refused(
                "deed",
                "not_on_publicity",
                format!("the deed is {}", d.status.as_str()),
            ));
        }
        if d.publicity_ends_at.is_some_and(|e| now >= e) {
            return Err(refused(
                "deed",
                "publicity_ended",
                "the publicity period has ended",
            ));
        }
        if citizen_id == d.citizen_id || (d.source == "nomination" && citizen_id == d.reporter_id) {
            return Err(refused(
                "deed",
                "own_deed",
                "you cannot object to your own deed or one you nominated",
            ));
        }
        let today: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM deed_objections WHERE citizen_id = $1 AND at > $2",
        )
        .bind(citizen_id)
        .bind(now - DAY_MS)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if today >= rules.objections_per_day {
            return Err(StoreError::RateLimited {
                retry_after_s: 3600,
            });
        }
        let res = sqlx::query(
            "INSERT INTO deed_objections (id, deed_id, round, citizen_id, reason, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(domain::new_id())
        .bind(deed_id)
        .bind(d.round)
        .bind(citizen_id)
        .bind(&reason)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            if StoreError::is_unique_violation(&e) {
                return Err(refused(
                    "deed",
                    "already_objected",
                    "you have objected to this deed before",
                ));
            }
            return Err(e.into());
        }
        sqlx::query("UPDATE deeds SET status = 'paused', round = round + 1, publicity_ends_at = NULL WHERE id = $1")
            .bind(deed_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("citizen", citizen_id),
            "objection",
            &reason,
        )
        .await?;
        let committee = members(&mut tx, "evaluator", &d.village_id).await?;
        notify(
            &mut tx,
            &staff_recipients(&committee),
            deed_id,
            "deed_objected",
            now,
        )
        .await?;
        notify(
            &mut tx,
            &[("citizen", d.citizen_id.clone())],
            deed_id,
            "deed_objected",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The resident (or whoever nominated them) appeals a rejection, once, in time.
    pub async fn appeal(
        &self,
        deed_id: &str,
        citizen_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<()> {
        let reason = deed::text("reason", reason, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        if citizen_id != d.citizen_id && citizen_id != d.reporter_id {
            return Err(StoreError::NotFound { what: "deed" });
        }
        if d.status != DeedStatus::Rejected {
            let code = if matches!(d.status, DeedStatus::Appealed | DeedStatus::Closed) {
                "already_appealed"
            } else {
                "not_rejected"
            };
            return Err(refused(
                "deed",
                code,
                format!("the deed is {}", d.status.as_str()),
            ));
        }
        if d.appeal_deadline.is_some_and(|t| now > t) {
            return Err(refused(
                "deed",
                "appeal_too_late",
                "the time to appeal has passed",
            ));
        }
        let res = sqlx::query(
            "INSERT INTO deed_appeals (deed_id, citizen_id, reason, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(deed_id)
        .bind(citizen_id)
        .bind(&reason)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = res {
            if StoreError::is_unique_violation(&e) {
                return Err(refused(
                    "deed",
                    "already_appealed",
                    "a deed can be appealed once",
                ));
            }
            return Err(e.into());
        }
        set_status(&mut tx, deed_id, DeedStatus::Appealed, "", &[]).await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("citizen", citizen_id),
            "appeal",
            &reason,
        )
        .await?;
        let (_, town) = self.village_and_town(&d.village_id).await?;
        let reviewers = members(&mut tx, "town_reviewer", &town.id).await?;
        notify(
            &mut tx,
            &staff_recipients(&reviewers),
            deed_id,
            "appeal_to_decide",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The town decides an appeal, finally: reverse (publicity with points) or uphold.
    pub async fn decide_appeal(
        &self,
        deed_id: &str,
        staff: &crate::Staff,
        decision: &AppealDecision,
        rules: &Rules,
        now: i64,
    ) -> Result<DeedStatus> {
        let (reverse, points) = (decision.reverse, decision.points);
        let comment = deed::text("comment", &decision.comment, deed::REASON_CHARS_MAX)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let d = lock_deed(&mut tx, deed_id, now).await?;
        let (_, town) = self.village_and_town(&d.village_id).await?;
        if staff.role != domain::Role::TownReviewer
            || staff.region_id.as_deref() != Some(town.id.as_str())
            || !staff.active
        {
            return Err(StoreError::NotFound { what: "deed" });
        }
        let reviewers = eligible_voters(&mut tx, "town_reviewer", &town.id, &d).await?;
        recusal(&reviewers, &staff.id, &d)?;
        if d.status != DeedStatus::Appealed {
            return Err(refused(
                "deed",
                "no_open_appeal",
                format!("the deed is {}", d.status.as_str()),
            ));
        }
        let status = if reverse {
            let s = &d.standard;
            let p = points
                .or((s.points_min == s.points_max).then_some(s.points_min))
                .ok_or_else(|| {
                    StoreError::invalid(
                        "points",
                        "missing",
                        &format!("{} to {}", s.points_min, s.points_max),
                    )
                })?;
            if !(s.points_min..=s.points_max).contains(&p) {
                return Err(StoreError::invalid(
                    "points",
                    "out_of_range",
                    &format!("{} to {} for this standard", s.points_min, s.points_max),
                ));
            }
            self.check_cap(&mut tx, &d, p).await?;
            set_status(
                &mut tx,
                deed_id,
                DeedStatus::Publicity,
                ", points = $3, decided_at = $4, publicity_ends_at = $5",
                &[Some(p), Some(now), Some(now + rules.publicity_ms)],
            )
            .await?;
            DeedStatus::Publicity
        } else {
            set_status(
                &mut tx,
                deed_id,
                DeedStatus::Closed,
                ", decided_at = $3",
                &[Some(now)],
            )
            .await?;
            DeedStatus::Closed
        };
        let outcome = if reverse { "reversed" } else { "upheld" };
        sqlx::query("UPDATE deed_appeals SET outcome = $1, decided_by = $2, decided_at = $3, comment = $4 WHERE deed_id = $5")
            .bind(outcome)
            .bind(&staff.id)
            .bind(now)
            .bind(&comment)
            .bind(deed_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            deed_id,
            now,
            ("staff", &staff.id),
            if reverse {
                "appeal_reversed"
            } else {
                "appeal_upheld"
            },
            &comment,
        )
        .await?;
        notify(
            &mut tx,
            &[("citizen", d.citizen_id.clone())],
            deed_id,
            if reverse {
                "appeal_reversed"
            } else {
                "appeal_upheld"
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(status)
    }

    /// Credit every deed whose publicity ended by `now` through the ledger. Idempotent: the
    /// ledger key is the deed's, so a restart, a retry or a second server never credits twice.
    pub async fn credit_due(&self, seq: &Sequencer, now: i64, limit: i64) -> Result<CreditReport> {
        let started = std::time::Instant::now();
        // Without the citizens join: the run never shows a name, and at city scale those are
        // 5,000 random reads of the widest table per pass. The deeds here carry an empty name.
        let due = sqlx::query(&format!(
            "SELECT {DEED_COLUMNS}, '' AS name_masked, {STANDARD_COLUMNS} FROM deeds d JOIN standards s ON s.id = d.standard_id \
             WHERE d.status = 'publicity' AND d.publicity_ends_at <= $1 ORDER BY d.publicity_ends_at, d.id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(deed_row)
        .collect::<Result<Vec<_>>>()?;
        if due.is_empty() {
            return Ok(CreditReport::default());
        }
        let selected = (due.len(), started.elapsed());
        let towns = self.town_codes().await?;
        let mut approvers = self.deeds_approvers(&due).await?;
        let looked_up = started.elapsed();
        let mut tasks = Vec::with_capacity(due.len());
        for d in due {
            let approvers = approvers
                .remove(&d.id)
                .unwrap_or_else(|| vec!["system:evaluation".into()]);
            let town = towns
                .get(&d.village_id)
                .cloned()
                .unwrap_or_else(|| "city".into());
            let entry = NewEntry::award(
                &d.citizen_id,
                d.points.unwrap_or(0),
                &format!("issuance:{town}"),
                &d.standard.rule(),
                &format!(
                    "{}：{}",
                    d.standard.name_zh,
                    d.description.chars().take(200).collect::<String>()
                ),
                // Not the deed's id: the public board shows it beside the masked name, and the log
                // must not let anyone tie a commitment to a person. The deed finds its entry by
                // `deeds.ledger_index`.
                "deed",
                approvers,
            );
            let seq = seq.clone();
            tasks.push(tokio::spawn(async move {
                let r = seq
                    .append(format!("system:evaluation/deed/{}", d.id), entry)
                    .await;
                (d, r)
            }));
        }
        let mut report = CreditReport::default();
        let mut done = Vec::new();
        for t in tasks {
            match t.await {
                Ok((d, Ok(a))) => done.push((d, a.index)),
                Ok((d, Err(e))) => {
                    tracing::warn!(deed = %d.id, error = %e, "crediting a deed failed; it stays on publicity for the next run");
                    report.failed += 1;
                }
                Err(_) => report.failed += 1,
            }
        }
        let appended = started.elapsed();
        let backend = self.backend;
        for chunk in done.chunks(500) {
            let mut tx = self.write.begin().await?;
            // Only the deeds this run moved get an event and a notification: another server (or
            // an earlier run that stopped after the append) may have credited some already.
            // One UPDATE per 85 deeds (three parameters each), not one per deed.
            let mut updated = std::collections::HashSet::with_capacity(chunk.len());
            for rows in chunk.chunks(statement_rows(3)) {
                let n = rows.len();
                let cases = (0..n)
                    .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(" ");
                let sql = positional(
                    backend,
                    format!(
                        "UPDATE deeds SET status = 'credited', ledger_index = CASE id {cases} END, \
                         updated_at = ${} WHERE status = 'publicity' AND id IN ({}) RETURNING id",
                        2 * n + 1,
                        in_list(2 * n + 2, n)
                    ),
                );
                let mut q = sqlx::query(&sql);
                for (d, index) in rows {
                    q = q
                        .bind(d.id.as_str())
                        .bind(i64::try_from(*index).unwrap_or(i64::MAX));
                }
                q = q.bind(now);
                for (d, _) in rows {
                    q = q.bind(d.id.as_str());
                }
                for r in q.fetch_all(&mut *tx).await? {
                    updated.insert(r.try_get::<String, _>("id")?);
                }
            }
            let moved: Vec<_> = chunk
                .iter()
                .filter(|(d, _)| updated.contains(&d.id))
                .collect();
            // The events and notifications as multi-row INSERTs, bound by position on SQLite
            // (see `ledger::sequencer::positional`).
            for rows in moved.chunks(statement_rows(7)) {
                let sql = positional(
                    backend,
                    format!(
                        "INSERT INTO deed_events (id, deed_id, at, actor_kind, actor_id, action, detail) VALUES {}",
                        values_list(7, rows.len())
                    ),
                );
                let mut q = sqlx::query(&sql);
                for (d, index) in rows.iter().copied() {
                    q = q
                        .bind(domain::new_id())
                        .bind(d.id.as_str())
                        .bind(now)
                        .bind("system")
                        .bind("evaluation")
                        .bind("credited")
                        .bind(format!("ledger entry {index}"));
                }
                q.execute(&mut *tx).await?;
            }
            for rows in moved.chunks(statement_rows(6)) {
                let sql = positional(
                    backend,
                    format!(
                        "INSERT INTO notifications (id, recipient_kind, recipient_id, deed_id, kind, at) VALUES {}",
                        values_list(6, rows.len())
                    ),
                );
                let mut q = sqlx::query(&sql);
                for (d, _) in rows.iter().copied() {
                    q = q
                        .bind(domain::new_id())
                        .bind("citizen")
                        .bind(d.citizen_id.as_str())
                        .bind(d.id.as_str())
                        .bind("deed_credited")
                        .bind(now);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            report.credited += moved.len();
        }
        tracing::debug!(
            due = selected.0,
            credited = report.credited,
            select_ms = selected.1.as_millis() as u64,
            approvers_ms = (looked_up - selected.1).as_millis() as u64,
            append_ms = (appended - looked_up).as_millis() as u64,
            record_ms = (started.elapsed() - appended).as_millis() as u64,
            "credit pass"
        );
        Ok(report)
    }

    /// Who approved each deed, as ledger approver ids: the members who approved its deciding
    /// round (at most 8, earliest vote first), the town reviewer who reversed its rejection, or
    /// the submitting partner; `system:evaluation` when there is nobody to name. Two queries
    /// per [`statement_rows`] deeds, not two per deed.
    async fn deeds_approvers(&self, deeds: &[Deed]) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::with_capacity(deeds.len());
        let mut ask: Vec<&str> = Vec::new();
        for d in deeds {
            if d.source == "partner" && d.standard.awarder == "partner" {
                out.insert(d.id.clone(), vec![format!("partner:{}", d.reporter_id)]);
            } else {
                ask.push(d.id.as_str());
            }
        }
        for chunk in ask.chunks(statement_rows(1)) {
            let ids = in_list(1, chunk.len());
            let sql = positional(
                self.backend,
                format!(
                    "SELECT deed_id, decided_by FROM deed_appeals WHERE outcome = 'reversed' AND deed_id IN ({ids})"
                ),
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&self.read).await? {
                let by: String = r.try_get("decided_by")?;
                out.insert(r.try_get("deed_id")?, vec![format!("staff:{by}")]);
            }
            let sql = positional(
                self.backend,
                format!(
                    "SELECT deed_id, round, staff_id, at FROM deed_votes WHERE approve = 1 AND deed_id IN ({ids})"
                ),
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            // Per deed: (round, at, staff id) of its approving votes.
            let mut votes: HashMap<String, Vec<(i64, i64, String)>> = HashMap::new();
            for r in q.fetch_all(&self.read).await? {
                votes.entry(r.try_get("deed_id")?).or_default().push((
                    r.try_get("round")?,
                    r.try_get("at")?,
                    r.try_get("staff_id")?,
                ));
            }
            for (deed, mut v) in votes {
                if out.contains_key(&deed) {
                    continue; // a reversed appeal names the reviewer
                }
                let last = v.iter().map(|(round, _, _)| *round).max().unwrap_or(0);
                v.retain(|(round, _, _)| *round == last);
                v.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
                let ids = v
                    .into_iter()
                    .take(8)
                    .map(|(_, _, s)| format!("staff:{s}"))
                    .collect();
                out.insert(deed, ids);
            }
        }
        Ok(out)
    }

    async fn town_codes(&self) -> Result<HashMap<String, String>> {
        sqlx::query("SELECT v.id AS village, t.code AS town FROM regions v JOIN regions t ON t.id = v.parent_id WHERE v.level = 'village'")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("village")?, r.try_get("town")?)))
            .collect()
    }

    /// The committee's queue: deeds of a village waiting for votes, oldest first.
    pub async fn committee_queue(&self, village_id: &str, limit: i64) -> Result<Vec<Deed>> {
        sqlx::query(&format!(
            "{} WHERE d.village_id = $1 AND d.status IN ('review', 'paused') ORDER BY d.created_at, d.id LIMIT $2",
            deed_select("")
        ))
        .bind(village_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(deed_row)
        .collect()
    }

    /// Appeals waiting for a town, oldest first.
    pub async fn appeal_queue(&self, town_id: &str, limit: i64) -> Result<Vec<Deed>> {
        sqlx::query(&format!(
            "{} WHERE d.status = 'appealed' AND d.village_id IN (SELECT id FROM regions WHERE parent_id = $1) \
             ORDER BY d.updated_at, d.id LIMIT $2",
            deed_select("")
        ))
        .bind(town_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(deed_row)
        .collect()
    }

    /// One page of a village's public board: deeds on publicity, the soonest to end first,
    /// masked names only; `after` is the previous page's `next_cursor`.
    ///
    /// Only the columns the board shows: on SQLite they all come from `deeds_board_live` and
    /// `citizens_masked` (migration 0010), so a page reads no row of the wide tables.
    pub async fn publicity_board(
        &self,
        village_id: &str,
        after: Option<&BoardCursor>,
        limit: i64,
    ) -> Result<BoardPage> {
        let limit = limit.max(1);
        let (ends_at, id) = after.map_or((i64::MIN, ""), |c| (c.ends_at, c.id.as_str()));
        // One row more than the page tells whether there is a next page. SQLite would rather
        // take the citizens' primary key (it is unique) than the narrower covering index.
        let citizens = match self.backend {
            crate::Backend::Sqlite => "citizens c INDEXED BY citizens_masked",
            crate::Backend::Postgres => "citizens c",
        };
        let sql = format!(
            "SELECT d.id, d.deed_date, d.place, d.description, d.points, d.publicity_ends_at, \
             c.name_masked, s.code, s.name_zh, s.name_en \
             FROM deeds d JOIN standards s ON s.id = d.standard_id LEFT JOIN {citizens} ON c.id = d.citizen_id \
             WHERE d.village_id = $1 AND d.status = 'publicity' AND (d.publicity_ends_at, d.id) > ($2, $3) \
             ORDER BY d.publicity_ends_at, d.id LIMIT $4"
        );
        let mut items = sqlx::query(&sql)
            .bind(village_id)
            .bind(ends_at)
            .bind(id)
            .bind(limit + 1)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(public_deed_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|d| BoardCursor {
                ends_at: d.publicity_ends_at.unwrap_or(i64::MIN),
                id: d.id.clone(),
            })
        } else {
            None
        };
        Ok(BoardPage { items, next_cursor })
    }

    /// A resident's deeds (done by them or reported by them), newest first.
    pub async fn citizen_deeds(&self, citizen_id: &str, limit: i64) -> Result<Vec<Deed>> {
        sqlx::query(&format!(
            "{} WHERE d.citizen_id = $1 OR (d.reporter_id = $1 AND d.source = 'nomination') ORDER BY d.created_at DESC, d.id LIMIT $2",
            deed_select("")
        ))
        .bind(citizen_id)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(deed_row)
        .collect()
    }

    /// Everything behind a deed, in order.
    pub async fn deed_detail(&self, id: &str) -> Result<Option<DeedDetail>> {
        let Some(deed) = self.deed(id).await? else {
            return Ok(None);
        };
        let evidence = sqlx::query("SELECT sha256, content_type, bytes FROM deed_evidence WHERE deed_id = $1 ORDER BY sha256")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(Evidence { sha256: r.try_get("sha256")?, content_type: r.try_get("content_type")?, bytes: r.try_get("bytes")? }))
            .collect::<Result<_>>()?;
        let votes = sqlx::query(
            "SELECT v.round, v.staff_id, s.display_name, v.approve, v.points, v.comment, v.at FROM deed_votes v \
             JOIN staff s ON s.id = v.staff_id WHERE v.deed_id = $1 ORDER BY v.round, v.at, v.staff_id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            Ok(Vote {
                round: r.try_get("round")?,
                staff_id: r.try_get("staff_id")?,
                staff_name: r.try_get("display_name")?,
                approve: r.try_get::<i64, _>("approve")? != 0,
                points: r.try_get("points")?,
                comment: r.try_get("comment")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_>>()?;
        let objections = sqlx::query("SELECT id, round, citizen_id, reason, at, outcome FROM deed_objections WHERE deed_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(Objection { id: r.try_get("id")?, round: r.try_get("round")?, citizen_id: r.try_get("citizen_id")?, reason: r.try_get("reason")?, at: r.try_get("at")?, outcome: r.try_get("outcome")? }))
            .collect::<Result<_>>()?;
        let appeal = sqlx::query("SELECT citizen_id, reason, at, outcome, decided_by, decided_at, comment FROM deed_appeals WHERE deed_id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| -> Result<Appeal> {
                Ok(Appeal { citizen_id: r.try_get("citizen_id")?, reason: r.try_get("reason")?, at: r.try_get("at")?, outcome: r.try_get("outcome")?, decided_by: r.try_get("decided_by")?, decided_at: r.try_get("decided_at")?, comment: r.try_get("comment")? })
            })
            .transpose()?;
        let events = sqlx::query("SELECT at, actor_kind, actor_id, action, detail FROM deed_events WHERE deed_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(DeedEvent { at: r.try_get("at")?, actor_kind: r.try_get("actor_kind")?, actor_id: r.try_get("actor_id")?, action: r.try_get("action")?, detail: r.try_get("detail")? }))
            .collect::<Result<_>>()?;
        Ok(Some(DeedDetail {
            deed,
            evidence,
            votes,
            objections,
            appeal,
            events,
        }))
    }

    /// A resident's or staff member's inbox, newest first.
    pub async fn inbox(&self, kind: &str, id: &str, limit: i64) -> Result<Vec<Notification>> {
        sqlx::query("SELECT id, deed_id, kind, at, read_at FROM notifications WHERE recipient_kind = $1 AND recipient_id = $2 ORDER BY at DESC, id LIMIT $3")
            .bind(kind)
            .bind(id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(Notification { id: r.try_get("id")?, deed_id: r.try_get("deed_id")?, kind: r.try_get("kind")?, at: r.try_get("at")?, read: r.try_get::<Option<i64>, _>("read_at")?.is_some() }))
            .collect()
    }

    pub async fn mark_read(&self, kind: &str, id: &str, now: i64) -> Result<u64> {
        Ok(sqlx::query("UPDATE notifications SET read_at = $1 WHERE recipient_kind = $2 AND recipient_id = $3 AND read_at IS NULL")
            .bind(now)
            .bind(kind)
            .bind(id)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    /// Link a committee member's staff account to their own resident record (committee members
    /// are villagers), so recusal can tell their household, and mark the village committee's
    /// chair. The resident must live in the member's village (an evaluator) or town (a town
    /// reviewer) and be linked to no other account; a village has one chair, so marking a chair
    /// takes the mark from any other member of that committee. `None` unlinks (and unmarks).
    pub async fn link_staff_citizen(
        &self,
        staff_id: &str,
        citizen_id: Option<&str>,
        is_chair: bool,
    ) -> Result<StaffLink> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query("SELECT role, region_id FROM staff WHERE id = $1")
            .bind(staff_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "staff" })?;
        let role: String = row.try_get("role")?;
        let region: Option<String> = row.try_get("region_id")?;
        let committee = match role.as_str() {
            "evaluator" | "town_reviewer" => region.unwrap_or_default(),
            _ => {
                return Err(StoreError::invalid(
                    "staff",
                    "not_a_committee_member",
                    "only evaluators and town reviewers are linked to a resident record",
                ))
            }
        };
        if is_chair && (role != "evaluator" || citizen_id.is_none()) {
            return Err(StoreError::invalid(
                "chair",
                "not_allowed",
                "the chair is a linked member of a village committee",
            ));
        }
        if let Some(c) = citizen_id {
            let place = sqlx::query(
                "SELECT c.village_id, v.parent_id AS town_id FROM citizens c JOIN regions v ON v.id = c.village_id WHERE c.id = $1",
            )
            .bind(c)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                StoreError::invalid("resident_id", "not_enrolled", "no enrolled resident has this id")
            })?;
            let village: String = place.try_get("village_id")?;
            let town: Option<String> = place.try_get("town_id")?;
            let home = if role == "evaluator" {
                Some(village)
            } else {
                town
            };
            if home.as_deref() != Some(committee.as_str()) {
                return Err(StoreError::invalid(
                    "resident_id",
                    "outside_committee",
                    if role == "evaluator" {
                        "the resident does not live in the member's village"
                    } else {
                        "the resident does not live in the member's town"
                    },
                ));
            }
            let taken = sqlx::query("SELECT id FROM staff WHERE citizen_id = $1 AND id <> $2")
                .bind(c)
                .bind(staff_id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(refused(
                    "resident_id",
                    "already_linked",
                    "this resident is linked to another staff account",
                ));
            }
        }
        if is_chair {
            sqlx::query(
                "UPDATE staff SET is_chair = 0 WHERE role = 'evaluator' AND region_id = $1 AND id <> $2 AND is_chair = 1",
            )
            .bind(&committee)
            .bind(staff_id)
            .execute(&mut *tx)
            .await?;
        }
        let res = sqlx::query("UPDATE staff SET citizen_id = $1, is_chair = $2 WHERE id = $3")
            .bind(citizen_id)
            .bind(i64::from(is_chair))
            .bind(staff_id)
            .execute(&mut *tx)
            .await;
        match res {
            // `staff_one_chair`: another chair was marked in this village at the same moment.
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(refused(
                    "chair",
                    "edited_meanwhile",
                    "another chair was marked at the same moment; reload and try again",
                ))
            }
            other => other?,
        };
        tx.commit().await?;
        Ok(StaffLink {
            staff_id: staff_id.to_string(),
            citizen_id: citizen_id.map(str::to_string),
            is_chair,
            name_masked: None,
        })
    }

    /// Every committee member's link to their resident record, for the admin's console.
    pub async fn staff_links(&self) -> Result<Vec<StaffLink>> {
        sqlx::query(
            "SELECT s.id, s.citizen_id, s.is_chair, c.name_masked FROM staff s LEFT JOIN citizens c ON c.id = s.citizen_id \
             WHERE s.role IN ('evaluator', 'town_reviewer') ORDER BY s.id",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            Ok(StaffLink {
                staff_id: r.try_get("id")?,
                citizen_id: r.try_get("citizen_id")?,
                is_chair: r.try_get::<i64, _>("is_chair")? != 0,
                name_masked: r.try_get("name_masked")?,
            })
        })
        .collect()
    }
}

/// A committee member's staff account and the resident it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffLink {
    pub staff_id: String,
    pub citizen_id: Option<String>,
    pub is_chair: bool,
    /// The linked resident's masked name, when read back (`None` if unlinked or withdrawn).
    pub name_masked: Option<String>,
}

fn display_key(scoped: &str) -> &str {
    scoped.split_once('/').map_or(scoped, |(_, k)| k)
}
