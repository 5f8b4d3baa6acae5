//! Service and hours. Attendance: the volunteer scans the alliance's signed site code at
//! check-in and at check-out (each code once per volunteer), or the organiser scans the
//! volunteer's moral code, or — only with a reason and a second approver — hours are entered by
//! hand (flagged and capped). Confirmation by someone else: the requester's tap, a clerk's record
//! of the requester's phone call or paper slip, or for an activity the organiser's roster when
//! the volunteer scanned themselves. With both proofs the hours are counted and their points
//! submitted as a deed of the alliance's trusted standard (hours × its points per hour, under
//! its cap) — exactly once: the service's offer id is the deed's idempotency key, and the deed's
//! id is written with the hours in one transaction.

use crate::dispatch::places::lock_offer;
use crate::dispatch::tasks::Who;
use crate::dispatch::{event, lock_task, set_status, Dispatch, Task, HOURS_STANDARD};
use crate::evaluation::{NewDeed, Reporter, Rules, Written};
use crate::{Result, StoreError};
use domain::dispatch::{
    attendance_minutes, check_proofs, hours_of, Attendance, Confirmation, ManualHours, OfferStatus,
    Party, TaskStatus, TaskStep, SERVICE_GRACE_MS,
};
use domain::IdempotencyKey;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A verified site code, as the web hands it over: which shift, which code.
#[derive(Debug, Clone)]
pub struct SiteScan {
    pub shift_id: String,
    pub code_id: String,
}

/// What a check-in or check-out did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scanned {
    CheckedIn,
    CheckedOut,
}

/// A service record: one volunteer's attendance at one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRecord {
    pub offer_id: String,
    pub task_id: String,
    pub volunteer_id: String,
    pub check_in_at: Option<i64>,
    pub check_out_at: Option<i64>,
    pub attendance: Option<String>,
    pub manual_minutes: Option<i64>,
    pub manual_reason: Option<String>,
    pub manual_approved_by: Option<String>,
    pub confirmation: Option<String>,
    pub confirmed_at: Option<i64>,
    pub minutes: Option<i64>,
    pub hours: Option<i64>,
    pub deed_id: Option<String>,
    pub credit_refusal: Option<String>,
}

pub(crate) const SERVICE_COLUMNS: &str = "offer_id, task_id, volunteer_id, check_in_at, \
    check_out_at, attendance, manual_minutes, manual_reason, manual_approved_by, confirmation, \
    confirmed_at, minutes, hours, deed_id, credit_refusal";

pub(crate) fn service_from_row(r: &sqlx::any::AnyRow) -> Result<ServiceRecord> {
    Ok(ServiceRecord {
        offer_id: r.try_get("offer_id")?,
        task_id: r.try_get("task_id")?,
        volunteer_id: r.try_get("volunteer_id")?,
        check_in_at: r.try_get("check_in_at")?,
        check_out_at: r.try_get("check_out_at")?,
        attendance: r.try_get("attendance")?,
        manual_minutes: r.try_get("manual_minutes")?,
        manual_reason: r.try_get("manual_reason")?,
        manual_approved_by: r.try_get("manual_approved_by")?,
        confirmation: r.try_get("confirmation")?,
        confirmed_at: r.try_get("confirmed_at")?,
        minutes: r.try_get("minutes")?,
        hours: r.try_get("hours")?,
        deed_id: r.try_get("deed_id")?,
        credit_refusal: r.try_get("credit_refusal")?,
    })
}

fn conflict(field: &'static str, code: &'static str, detail: &str) -> StoreError {
    StoreError::conflict(field, code, detail)
}

/// The service row of an offer, created empty when missing, in the caller's transaction.
async fn service_row(
    tx: &mut AnyConnection,
    offer_id: &str,
    task: &Task,
    volunteer: &str,
    now: i64,
) -> Result<ServiceRecord> {
    sqlx::query("INSERT INTO dispatch_service (offer_id, task_id, volunteer_id, alliance_id, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (offer_id) DO NOTHING")
        .bind(offer_id)
        .bind(&task.id)
        .bind(volunteer)
        .bind(&task.alliance_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let sql = format!("SELECT {SERVICE_COLUMNS} FROM dispatch_service WHERE offer_id = $1");
    service_from_row(&sqlx::query(&sql).bind(offer_id).fetch_one(&mut *tx).await?)
}

/// The first check-in starts the task's service.
async fn start_task(tx: &mut AnyConnection, task: &Task, actor: &str, now: i64) -> Result<()> {
    // Started already (or closed since, with hours by hand still to approve): nothing to do.
    if !matches!(task.status, TaskStatus::Accepted | TaskStatus::Dispatched) {
        return Ok(());
    }
    let party = if actor.starts_with("citizen:") {
        Party::Volunteer
    } else {
        Party::Organiser
    };
    let next = task
        .status
        .step(TaskStep::Start, party, false)
        .map_err(StoreError::Conflict)?;
    set_status(tx, &task.id, next, now).await?;
    sqlx::query("UPDATE dispatch_tasks SET served_at = COALESCE(served_at, $1) WHERE id = $2")
        .bind(now)
        .bind(&task.id)
        .execute(&mut *tx)
        .await?;
    event(tx, &task.id, None, actor, "started", "", now).await
}

impl Dispatch<'_> {
    /// A volunteer scans the site code: check-in, then (with a later code) check-out. Only a
    /// volunteer with an accepted place on that shift, within its window and grace; a code
    /// once per volunteer.
    pub async fn scan_site(
        &self,
        citizen_id: &str,
        scan: &SiteScan,
        rules: &Rules,
        now: i64,
    ) -> Result<Scanned> {
        let offer_id: String = sqlx::query("SELECT id FROM dispatch_offers WHERE shift_id = $1 AND volunteer_id = $2 AND status = 'accepted'")
            .bind(&scan.shift_id)
            .bind(citizen_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| conflict("code", "dispatch_no_place", "you have no accepted place at this service"))?
            .try_get("id")?;
        let actor = format!("citizen:{citizen_id}");
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, &offer_id).await?;
        let task = lock_task(&mut tx, &o.task_id).await?;
        if o.status != OfferStatus::Accepted {
            // Given up, withdrawn or recorded absent since it was looked up.
            return Err(conflict(
                "code",
                "dispatch_no_place",
                "you have no accepted place at this service",
            ));
        }
        let used = sqlx::query("INSERT INTO dispatch_code_uses (code_id, volunteer_id, offer_id, action, at) VALUES ($1, $2, $3, 'scan', $4)")
            .bind(&scan.code_id)
            .bind(citizen_id)
            .bind(&offer_id)
            .bind(now)
            .execute(&mut *tx)
            .await;
        match used {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(conflict(
                    "code",
                    "dispatch_code_used",
                    "you have used this code already: scan the fresh one",
                ));
            }
            r => r?,
        };
        let done = self
            .check_in_or_out(&mut tx, &o, &task, Attendance::SiteCode, &actor, rules, now)
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The organiser scans a volunteer's moral code (`citizen_id` its holder) at this task:
    /// check-in, then check-out.
    pub async fn organiser_scan(
        &self,
        who: &Who,
        reader: &crate::registry::Actor,
        task_id: &str,
        citizen_id: &str,
        rules: &Rules,
        now: i64,
    ) -> Result<Scanned> {
        let mut tx = self.write.begin().await?;
        let task = lock_task(&mut tx, task_id).await?;
        if who.party(&task) != Party::Organiser {
            return Err(StoreError::NotFound { what: "task" });
        }
        // Whose code it was is now known to the alliance: the volunteer's access log says so,
        // committed with the check-in (or not at all).
        crate::registry::access::insert_access(&mut tx, citizen_id, reader, "dispatch_scan", now)
            .await?;
        let offer_id: String = sqlx::query("SELECT id FROM dispatch_offers WHERE task_id = $1 AND volunteer_id = $2 AND status = 'accepted'")
            .bind(task_id)
            .bind(citizen_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| conflict("code", "dispatch_no_place", "this volunteer has no accepted place at this task"))?
            .try_get("id")?;
        let o = lock_offer(&mut tx, &offer_id).await?;
        let done = self
            .check_in_or_out(
                &mut tx,
                &o,
                &task,
                Attendance::OrganiserScan,
                &who.actor(),
                rules,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Check in (or, the second time, out) the volunteer of offer `o`, within its window and
    /// grace, in the caller's transaction: the first check-in starts the task; each is an event;
    /// the hours are counted when both proofs are in. A scan by the volunteer (the site code)
    /// keeps the attendance theirs; a scan by the organiser (either end) makes it the
    /// organiser's.
    #[allow(clippy::too_many_arguments)]
    async fn check_in_or_out(
        &self,
        tx: &mut AnyConnection,
        o: &crate::dispatch::Offer,
        task: &Task,
        by: Attendance,
        actor: &str,
        rules: &Rules,
        now: i64,
    ) -> Result<Scanned> {
        if now < o.starts_at - SERVICE_GRACE_MS || now > o.ends_at + SERVICE_GRACE_MS {
            return Err(conflict(
                "code",
                "dispatch_not_now",
                "check-in opens 30 minutes before the start and closes 30 minutes after the end",
            ));
        }
        let s = service_row(tx, &o.id, task, &o.volunteer_id, now).await?;
        let (scanner, organiser) = match by {
            Attendance::OrganiserScan => (actor, true),
            _ => ("site_code", false),
        };
        let done = match (s.check_in_at, s.check_out_at) {
            (None, _) => Scanned::CheckedIn,
            (Some(_), None) => Scanned::CheckedOut,
            (Some(_), Some(_)) => {
                return Err(conflict(
                    "code",
                    "dispatch_checked_out",
                    "checked out already",
                ));
            }
        };
        let sql = match done {
            Scanned::CheckedIn => "UPDATE dispatch_service SET check_in_at = $1, check_in_by = $2, attendance = $3, updated_at = $1 WHERE offer_id = $4",
            // Either end scanned by the organiser makes the attendance theirs.
            Scanned::CheckedOut if organiser => "UPDATE dispatch_service SET check_out_at = $1, check_out_by = $2, attendance = $3, updated_at = $1 WHERE offer_id = $4",
            Scanned::CheckedOut => "UPDATE dispatch_service SET check_out_at = $1, check_out_by = $2, updated_at = $1 WHERE offer_id = $4 AND $3 <> ''",
        };
        sqlx::query(sql)
            .bind(now)
            .bind(scanner)
            .bind(by.as_str())
            .bind(&o.id)
            .execute(&mut *tx)
            .await?;
        if done == Scanned::CheckedIn {
            start_task(tx, task, actor, now).await?;
        }
        let action = match done {
            Scanned::CheckedIn => "checked_in",
            Scanned::CheckedOut => "checked_out",
        };
        event(tx, &task.id, Some(&o.id), actor, action, by.as_str(), now).await?;
        self.settle(tx, &o.id, task, rules, now).await?;
        Ok(done)
    }

    /// The requester confirms the service of every volunteer who attended (one tap), or a clerk
    /// records their confirmation by phone or paper, or the organiser confirms an activity's
    /// roster. Points follow for every record whose proofs are complete.
    pub async fn confirm(
        &self,
        task_id: &str,
        who: &Who,
        how: Confirmation,
        rules: &Rules,
        now: i64,
    ) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        let task = lock_task(&mut tx, task_id).await?;
        let party = who.party(&task);
        let allowed = match how {
            Confirmation::Requester => party == Party::Requester && matches!(who, Who::Citizen(_)),
            Confirmation::ClerkPhone | Confirmation::ClerkPaper => {
                party == Party::Requester && matches!(who, Who::Staff { .. })
            }
            Confirmation::Roster => party == Party::Organiser,
        };
        if !allowed {
            return Err(conflict(
                "confirmation",
                "dispatch_not_yours",
                "this confirmation is not yours to give",
            ));
        }
        let offers: Vec<String> = sqlx::query("SELECT offer_id FROM dispatch_service WHERE task_id = $1 AND confirmed_at IS NULL AND (check_out_at IS NOT NULL OR manual_minutes IS NOT NULL)")
            .bind(task_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("offer_id"))
            .collect::<std::result::Result<_, _>>()?;
        if offers.is_empty() {
            return Err(conflict(
                "confirmation",
                "dispatch_nothing_to_confirm",
                "no attendance waits for a confirmation",
            ));
        }
        let mut confirmed = 0;
        for offer_id in &offers {
            let s = service_row(&mut tx, offer_id, &task, "", now).await?;
            let attendance = s
                .attendance
                .as_deref()
                .and_then(Attendance::parse)
                .unwrap_or(Attendance::Manual);
            if check_proofs(attendance, how, task.requester_id.is_some()).is_err() {
                continue;
            }
            sqlx::query("UPDATE dispatch_service SET confirmation = $1, confirmed_by = $2, confirmed_at = $3, updated_at = $3 WHERE offer_id = $4")
                .bind(how.as_str())
                .bind(who.actor())
                .bind(now)
                .bind(offer_id)
                .execute(&mut *tx)
                .await?;
            event(
                &mut tx,
                task_id,
                Some(offer_id),
                &who.actor(),
                "confirmed",
                how.as_str(),
                now,
            )
            .await?;
            self.settle(&mut tx, offer_id, &task, rules, now).await?;
            confirmed += 1;
        }
        if confirmed == 0 {
            // Every attendance was proven by the confirming party itself.
            let e = check_proofs(Attendance::OrganiserScan, how, task.requester_id.is_some())
                .err()
                .unwrap_or_else(|| {
                    domain::FieldError::new(
                        "confirmation",
                        "dispatch_same_party",
                        "the two proofs must come from two parties",
                    )
                });
            return Err(StoreError::Conflict(e));
        }
        tx.commit().await?;
        Ok(confirmed)
    }

    /// Hours entered by hand for a volunteer with an accepted place (forgot to scan, phone
    /// flat): a reason, a capped number of minutes; they count only once a second member of
    /// staff approves ([`Dispatch::approve_manual`]), and stay flagged.
    pub async fn enter_manual(
        &self,
        offer_id: &str,
        who: &Who,
        hours: &ManualHours,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, offer_id).await?;
        let task = lock_task(&mut tx, &o.task_id).await?;
        if who.party(&task) != Party::Organiser {
            return Err(StoreError::NotFound { what: "offer" });
        }
        if o.status != OfferStatus::Accepted || now < o.starts_at {
            return Err(conflict(
                "minutes",
                "dispatch_not_started",
                "hours are entered for an accepted place once its shift has begun",
            ));
        }
        let s = service_row(&mut tx, offer_id, &task, &o.volunteer_id, now).await?;
        if s.check_out_at.is_some() || s.manual_approved_by.is_some() {
            return Err(conflict(
                "minutes",
                "dispatch_attended",
                "this attendance is recorded already",
            ));
        }
        sqlx::query("UPDATE dispatch_service SET manual_minutes = $1, manual_reason = $2, manual_by = $3, manual_approved_by = NULL, updated_at = $4 WHERE offer_id = $5")
            .bind(hours.minutes)
            .bind(&hours.reason)
            .bind(who.actor())
            .bind(now)
            .bind(offer_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            &task.id,
            Some(offer_id),
            &who.actor(),
            "manual_entered",
            &format!("{} min: {}", hours.minutes, hours.reason),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A second member of the alliance's staff approves hours entered by hand.
    pub async fn approve_manual(
        &self,
        offer_id: &str,
        who: &Who,
        rules: &Rules,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, offer_id).await?;
        let task = lock_task(&mut tx, &o.task_id).await?;
        if who.party(&task) != Party::Organiser {
            return Err(StoreError::NotFound { what: "offer" });
        }
        let r = sqlx::query("SELECT manual_by, manual_approved_by FROM dispatch_service WHERE offer_id = $1 AND manual_minutes IS NOT NULL")
            .bind(offer_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| conflict("offer", "dispatch_no_manual", "no hours entered by hand wait here"))?;
        if r.try_get::<Option<String>, _>("manual_approved_by")?
            .is_some()
        {
            return Err(conflict("offer", "dispatch_approved", "approved already"));
        }
        let by: String = r
            .try_get::<Option<String>, _>("manual_by")?
            .unwrap_or_default();
        ManualHours::approve(&by, &who.actor()).map_err(StoreError::Conflict)?;
        sqlx::query("UPDATE dispatch_service SET manual_approved_by = $1, attendance = 'manual', updated_at = $2 WHERE offer_id = $3")
            .bind(who.actor())
            .bind(now)
            .bind(offer_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            &task.id,
            Some(offer_id),
            &who.actor(),
            "manual_approved",
            "",
            now,
        )
        .await?;
        start_task(&mut tx, &task, &who.actor(), now).await?;
        self.settle(&mut tx, offer_id, &task, rules, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Count the hours and submit their points once both proofs are in and nothing was counted
    /// yet; in the caller's transaction. Hours by hand count without a further confirmation
    /// (the second approver is the second proof).
    async fn settle(
        &self,
        tx: &mut AnyConnection,
        offer_id: &str,
        task: &Task,
        rules: &Rules,
        now: i64,
    ) -> Result<()> {
        let s = service_row(tx, offer_id, task, "", now).await?;
        if s.minutes.is_some() {
            return Ok(());
        }
        // The offer's own window: an activity's later shift is not the task's first one.
        let w = sqlx::query("SELECT starts_at, ends_at FROM dispatch_offers WHERE id = $1")
            .bind(offer_id)
            .fetch_one(&mut *tx)
            .await?;
        let (start, end): (i64, i64) = (w.try_get("starts_at")?, w.try_get("ends_at")?);
        let has_requester = task.requester_id.is_some();
        let attendance = s.attendance.as_deref().and_then(Attendance::parse);
        let confirmation = s.confirmation.as_deref().and_then(Confirmation::parse);
        let minutes = match (
            s.manual_approved_by.is_some(),
            s.check_in_at,
            s.check_out_at,
        ) {
            // Hours by hand: the second approver is the second proof for an activity; a
            // request's requester (or clerk) still confirms them.
            (true, ..) if has_requester && s.confirmed_at.is_none() => return Ok(()),
            (true, ..) => s.manual_minutes.unwrap_or(0),
            (false, Some(i), Some(o)) => {
                // Both proofs, from two parties, as they stand now (the attendance may have
                // changed hands since the confirmation).
                match (attendance, confirmation) {
                    (Some(a), Some(c)) if check_proofs(a, c, has_requester).is_ok() => {
                        attendance_minutes(i, o, start, end)
                    }
                    _ => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let hours = hours_of(minutes);
        sqlx::query("UPDATE dispatch_service SET minutes = $1, hours = $2, updated_at = $3 WHERE offer_id = $4")
            .bind(minutes)
            .bind(hours)
            .bind(now)
            .bind(offer_id)
            .execute(&mut *tx)
            .await?;
        self.credit_hours(tx, &s, task, (hours, start), rules, now)
            .await
    }

    /// Submit `hours` of the service as a deed of the hours standard, reported by the
    /// alliance under the key `dispatch-<offer id>`; a refusal (untrusted, a cap reached, under
    /// an hour) is recorded on the service, which keeps its hours.
    async fn credit_hours(
        &self,
        tx: &mut AnyConnection,
        s: &ServiceRecord,
        task: &Task,
        (hours, served_at): (i64, i64),
        rules: &Rules,
        now: i64,
    ) -> Result<()> {
        let refuse = |code: &str| code.to_string();
        let outcome: std::result::Result<String, String> = if hours < 1 {
            Err(refuse("under_an_hour"))
        } else {
            let key = IdempotencyKey::parse(&format!("dispatch-{}", s.offer_id))
                .map_err(StoreError::Conflict)?;
            let rate = self
                .evaluation()
                .standard_current(HOURS_STANDARD)
                .await?
                .map(|st| st.points_max)
                .unwrap_or(0);
            let new = NewDeed {
                citizen_id: s.volunteer_id.clone(),
                reporter: Reporter::Partner {
                    partner_id: task.alliance_id.clone(),
                    key,
                },
                standard_code: HOURS_STANDARD.into(),
                deed_date: crate::day_of(served_at.min(now)),
                // The public board shows deeds: the village and the hours, never the request's
                // own words or address.
                place: task.village_name.clone(),
                description: format!("志愿服务 {hours} 小时"),
                evidence: Vec::new(),
                points: Some(rate.saturating_mul(hours)),
            };
            match self.evaluation().prepare_report(&new, hours, now).await {
                Ok(p) => match self
                    .evaluation()
                    .write_report(tx, &new, &p, rules, now)
                    .await
                {
                    Ok(Written::New(id) | Written::Replay(id)) => Ok(id),
                    Err(StoreError::Conflict(e)) => Err(e.code.to_string()),
                    Err(StoreError::Invalid(e)) => {
                        Err(e.0.first().map_or("refused", |f| f.code).to_string())
                    }
                    Err(e) => return Err(e),
                },
                Err(StoreError::Conflict(e)) => Err(e.code.to_string()),
                Err(StoreError::Invalid(e)) => {
                    Err(e.0.first().map_or("refused", |f| f.code).to_string())
                }
                Err(e) => return Err(e),
            }
        };
        let (deed, refusal) = match outcome {
            Ok(id) => (Some(id), None),
            Err(code) => (None, Some(code)),
        };
        sqlx::query("UPDATE dispatch_service SET deed_id = $1, credit_refusal = $2, credited_at = $3 WHERE offer_id = $4")
            .bind(&deed)
            .bind(&refusal)
            .bind(now)
            .bind(&s.offer_id)
            .execute(&mut *tx)
            .await?;
        let detail = deed
            .clone()
            .unwrap_or_else(|| refusal.clone().unwrap_or_default());
        event(
            tx,
            &task.id,
            Some(&s.offer_id),
            "system",
            if deed.is_some() {
                "hours_submitted"
            } else {
                "hours_not_credited"
            },
            &detail,
            now,
        )
        .await?;
        crate::notices::notify_citizen(tx, &s.volunteer_id, "dispatch_hours", now).await
    }

    /// A task's service records.
    pub async fn task_service(&self, task_id: &str) -> Result<Vec<ServiceRecord>> {
        let sql = format!("SELECT {SERVICE_COLUMNS} FROM dispatch_service WHERE task_id = $1 ORDER BY check_in_at, offer_id");
        let rows = sqlx::query(&sql)
            .bind(task_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(service_from_row).collect()
    }

    /// Whose moral code this is (its id, as issued), for the organiser's scan.
    pub async fn code_holder(&self, code_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query("SELECT citizen_id FROM issued_codes WHERE code_id = $1")
                .bind(code_id)
                .fetch_optional(&self.read)
                .await?
                .map(|r| r.try_get("citizen_id"))
                .transpose()?,
        )
    }
}
