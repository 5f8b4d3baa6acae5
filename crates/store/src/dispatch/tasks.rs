//! 点单 and its review: a resident's request (or a clerk's on behalf of a resident of their
//! village without a phone), an alliance's activity with its shifts, the alliance's review
//! (accept, or reject with a reason the requester sees), cancellation before the service,
//! the organiser's closing report and the requester's rating (评单). Every step writes the
//! task's history and the requester's inbox in its transaction.

use crate::dispatch::{event, lock_task, Dispatch, Task, TASK_COLUMNS, TASK_FROM};
use crate::registry::Actor;
use crate::{Result, StoreError};
use domain::dispatch::{Ask, Party, TaskStatus, TaskStep, REASON_CHARS_MAX};
use domain::FieldError;
use sqlx::Row;

/// Who files a request.
#[derive(Debug, Clone)]
pub enum Filer {
    /// The resident, for themself.
    Resident,
    /// A village clerk (staff id) for a resident of their village; the access log says so.
    Clerk(Actor),
}

/// Who takes a step on a task: a resident (by citizen id) or staff of an alliance.
#[derive(Debug, Clone)]
pub enum Who {
    Citizen(String),
    /// Staff (`staff:<id>` as the history names them), with the partner they work for and,
    /// for a village clerk (an evaluator), their village: a clerk acts for the requesters of
    /// their village who have no phone.
    Staff {
        actor: String,
        partner_id: Option<String>,
        clerk_of: Option<String>,
    },
}

impl Who {
    pub fn actor(&self) -> String {
        match self {
            Who::Citizen(c) => format!("citizen:{c}"),
            Who::Staff { actor, .. } => actor.clone(),
        }
    }

    /// The party this caller is on `task`.
    pub fn party(&self, task: &Task) -> Party {
        let request = task.kind == "request";
        match self {
            // The task's alliance organises it, whoever filed it.
            Who::Staff {
                partner_id: Some(p),
                ..
            } if *p == task.alliance_id => Party::Organiser,
            Who::Citizen(c) if request && task.requester_id.as_deref() == Some(c.as_str()) => {
                Party::Requester
            }
            // A clerk acts for the requesters of their village who asked through a clerk (no
            // phone): never for residents who asked themselves.
            Who::Staff {
                actor, clerk_of, ..
            } if request
                && (task.filed_by == *actor
                    || (task.filed_by.starts_with("staff:")
                        && clerk_of.as_deref() == Some(task.village_id.as_str()))) =>
            {
                Party::Requester
            }
            _ => Party::Other,
        }
    }
}

fn step_error(e: FieldError) -> StoreError {
    StoreError::Conflict(e)
}

impl Dispatch<'_> {
    /// 点单: file a request for `citizen_id` to `alliance_id`. A form sent twice (the same
    /// `idem_key`) makes one request.
    pub async fn file_request(
        &self,
        citizen_id: &str,
        alliance_id: &str,
        ask: &Ask,
        filer: &Filer,
        idem_key: Option<&str>,
        now: i64,
    ) -> Result<Task> {
        let me = self
            .registry()
            .citizen_summary(citizen_id)
            .await?
            .ok_or(StoreError::NotFound { what: "citizen" })?;
        if self.alliance(alliance_id).await?.is_none() {
            return Err(StoreError::invalid(
                "alliance_id",
                "unknown_alliance",
                "not one of the city's alliances",
            ));
        }
        let (_, town) = self.registry().village_and_town(&me.village_id).await?;
        if let Some(t) = self.task_made_with(idem_key).await? {
            return Ok(t);
        }
        let filed_by = match filer {
            Filer::Resident => format!("citizen:{citizen_id}"),
            Filer::Clerk(a) => format!("staff:{}", a.id),
        };
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        open_requests_below_limit(&mut tx, citizen_id).await?;
        let inserted = insert_task(
            &mut tx,
            &TaskRow {
                id: &id,
                alliance_id,
                kind: "request",
                requester: Some((citizen_id, &me.household_id)),
                filed_by: &filed_by,
                village_id: &me.village_id,
                town_id: &town.id,
                status: TaskStatus::Requested,
                idem_key,
            },
            ask,
            now,
        )
        .await;
        match inserted {
            // The same form sent twice at once: the other sending made it.
            Err(StoreError::Database(e))
                if idem_key.is_some() && StoreError::is_unique_violation(&e) =>
            {
                drop(tx);
                return self
                    .task_made_with(idem_key)
                    .await?
                    .ok_or(StoreError::NotFound { what: "task" });
            }
            r => r?,
        }
        insert_shift(
            &mut tx,
            &id,
            ask.starts_at,
            ask.ends_at,
            i64::from(ask.people),
        )
        .await?;
        event(&mut tx, &id, None, &filed_by, "filed", "", now).await?;
        if let Filer::Clerk(a) = filer {
            crate::registry::access::insert_access(
                &mut tx,
                citizen_id,
                a,
                "dispatch_request_for",
                now,
            )
            .await?;
        }
        crate::notices::notify_citizen(&mut tx, citizen_id, "dispatch_filed", now).await?;
        tx.commit().await?;
        self.task(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// The task a form made under `key`, if it was sent before (none without a key).
    async fn task_made_with(&self, key: Option<&str>) -> Result<Option<Task>> {
        let Some(key) = key else { return Ok(None) };
        let sql = format!("SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.idem_key = $1");
        sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&self.write)
            .await?
            .as_ref()
            .map(crate::dispatch::task_from_row)
            .transpose()
    }

    /// An alliance publishes an activity at `village_id` with its shifts (`(starts, ends,
    /// capacity)`); volunteers sign up, beyond the capacity onto a wait list. A form sent twice
    /// (the same `idem_key`) publishes one activity.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_activity(
        &self,
        alliance_id: &str,
        staff: &str,
        village_id: &str,
        ask: &Ask,
        shifts: &[(i64, i64, i64)],
        idem_key: Option<&str>,
        now: i64,
    ) -> Result<Task> {
        let (village, town) = self
            .registry()
            .village_and_town(village_id)
            .await
            .map_err(|_| StoreError::invalid("village_id", "unknown_village", "not a village"))?;
        if shifts.is_empty() {
            return Err(StoreError::invalid(
                "shifts",
                "required",
                "at least one shift",
            ));
        }
        if let Some(t) = self.task_made_with(idem_key).await? {
            return Ok(t);
        }
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        let inserted = insert_task(
            &mut tx,
            &TaskRow {
                id: &id,
                alliance_id,
                kind: "activity",
                requester: None,
                filed_by: staff,
                village_id: &village.id,
                town_id: &town.id,
                status: TaskStatus::Accepted,
                idem_key,
            },
            ask,
            now,
        )
        .await;
        match inserted {
            // The same form sent twice at once: the other sending made it.
            Err(StoreError::Database(e))
                if idem_key.is_some() && StoreError::is_unique_violation(&e) =>
            {
                drop(tx);
                return self
                    .task_made_with(idem_key)
                    .await?
                    .ok_or(StoreError::NotFound { what: "task" });
            }
            r => r?,
        }
        for (s, e, c) in shifts {
            insert_shift(&mut tx, &id, *s, *e, *c).await?;
        }
        event(&mut tx, &id, None, staff, "published", "", now).await?;
        tx.commit().await?;
        self.task(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// The alliance reviews a request: accept, or reject with a reason the requester sees.
    pub async fn review(
        &self,
        task_id: &str,
        who: &Who,
        accept: bool,
        reason: &str,
        now: i64,
    ) -> Result<Task> {
        let reason = domain::dispatch::text("reason", reason, REASON_CHARS_MAX, accept)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        let step = if accept {
            TaskStep::Accept
        } else {
            TaskStep::Reject
        };
        let next = t
            .status
            .step(step, who.party(&t), false)
            .map_err(step_error)?;
        sqlx::query("UPDATE dispatch_tasks SET status = $1, reason = $2, reviewed_by = $3, reviewed_at = $4, updated_at = $4 WHERE id = $5")
            .bind(next.as_str())
            .bind(&reason)
            .bind(who.actor())
            .bind(now)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        let action = if accept { "accepted" } else { "rejected" };
        event(&mut tx, task_id, None, &who.actor(), action, &reason, now).await?;
        if let Some(r) = &t.requester_id {
            crate::notices::notify_citizen(&mut tx, r, &format!("dispatch_{action}"), now).await?;
        }
        tx.commit().await?;
        self.task(task_id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// Cancel a task before its service: by its requester or its alliance. Open offers are
    /// withdrawn and each volunteer told.
    pub async fn cancel(&self, task_id: &str, who: &Who, reason: &str, now: i64) -> Result<Task> {
        let reason = domain::dispatch::text("reason", reason, REASON_CHARS_MAX, true)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        let next = t
            .status
            .step(TaskStep::Cancel, who.party(&t), false)
            .map_err(step_error)?;
        sqlx::query(
            "UPDATE dispatch_tasks SET status = $1, reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(next.as_str())
        .bind(&reason)
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        crate::dispatch::places::release_task(&mut tx, task_id, now).await?;
        event(
            &mut tx,
            task_id,
            None,
            &who.actor(),
            "cancelled",
            &reason,
            now,
        )
        .await?;
        if let Some(r) = &t.requester_id {
            crate::notices::notify_citizen(&mut tx, r, "dispatch_cancelled", now).await?;
        }
        tx.commit().await?;
        self.task(task_id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// The organiser closes the task with a short report.
    pub async fn close(&self, task_id: &str, who: &Who, report: &str, now: i64) -> Result<Task> {
        let report = domain::dispatch::text("report", report, REASON_CHARS_MAX, false)
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        let next = t
            .status
            .step(TaskStep::Close, who.party(&t), t.rating.is_some())
            .map_err(step_error)?;
        sqlx::query("UPDATE dispatch_tasks SET status = $1, report = $2, closed_by = $3, closed_at = $4, updated_at = $4 WHERE id = $5")
            .bind(next.as_str())
            .bind(&report)
            .bind(who.actor())
            .bind(now)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        // Offers still unanswered lapse with the task.
        crate::dispatch::places::release_task(&mut tx, task_id, now).await?;
        event(&mut tx, task_id, None, &who.actor(), "closed", &report, now).await?;
        if let Some(r) = &t.requester_id {
            crate::notices::notify_citizen(&mut tx, r, "dispatch_closed", now).await?;
        }
        tx.commit().await?;
        self.task(task_id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// 评单: the requester rates the service once (1–5 stars) with a comment.
    pub async fn rate(
        &self,
        task_id: &str,
        who: &Who,
        stars: u8,
        comment: &str,
        now: i64,
    ) -> Result<Task> {
        let mut tx = self.write.begin().await?;
        let t = lock_task(&mut tx, task_id).await?;
        t.status
            .step(TaskStep::Rate, who.party(&t), t.rating.is_some())
            .map_err(step_error)?;
        sqlx::query("UPDATE dispatch_tasks SET rating = $1, comment = $2, rated_at = $3, updated_at = $3 WHERE id = $4")
            .bind(i64::from(stars))
            .bind(comment)
            .bind(now)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        event(
            &mut tx,
            task_id,
            None,
            &who.actor(),
            "rated",
            &format!("{stars}"),
            now,
        )
        .await?;
        tx.commit().await?;
        self.task(task_id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })
    }

    /// A resident's requests (filed for them), newest first.
    pub async fn requests_of(&self, citizen_id: &str, limit: i64) -> Result<Vec<Task>> {
        self.tasks_where("t.requester_id = $1", citizen_id, limit)
            .await
    }

    /// An alliance's tasks in `statuses` (all when empty), soonest first.
    pub async fn alliance_tasks(
        &self,
        alliance_id: &str,
        statuses: &[TaskStatus],
        limit: i64,
    ) -> Result<Vec<Task>> {
        let filter = if statuses.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = statuses
                .iter()
                .map(|s| format!("'{}'", s.as_str()))
                .collect();
            format!(" AND t.status IN ({})", list.join(", "))
        };
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.alliance_id = $1{filter} ORDER BY t.starts_at, t.id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(alliance_id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(crate::dispatch::task_from_row).collect()
    }

    /// Activities open to sign-up from `now` on, soonest first.
    pub async fn open_activities(&self, now: i64, limit: i64) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.kind = 'activity' AND t.status IN ('accepted', 'dispatched', 'in_service') AND EXISTS (SELECT 1 FROM dispatch_shifts s WHERE s.task_id = t.id AND s.ends_at > $1) ORDER BY t.starts_at, t.id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(crate::dispatch::task_from_row).collect()
    }

    async fn tasks_where(&self, filter: &str, arg: &str, limit: i64) -> Result<Vec<Task>> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE {filter} ORDER BY t.created_at DESC, t.id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(arg)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(crate::dispatch::task_from_row).collect()
    }
}

struct TaskRow<'a> {
    id: &'a str,
    alliance_id: &'a str,
    kind: &'a str,
    requester: Option<(&'a str, &'a str)>,
    filed_by: &'a str,
    village_id: &'a str,
    town_id: &'a str,
    status: TaskStatus,
    idem_key: Option<&'a str>,
}

async fn insert_task(
    tx: &mut sqlx::AnyConnection,
    row: &TaskRow<'_>,
    ask: &Ask,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO dispatch_tasks (id, alliance_id, kind, category, title, requester_id, household_id, filed_by, village_id, town_id, place, starts_at, ends_at, people, skills, certificates, notes, status, idem_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)",
    )
    .bind(row.id)
    .bind(row.alliance_id)
    .bind(row.kind)
    .bind(ask.category)
    .bind(&ask.title)
    .bind(row.requester.map(|r| r.0))
    .bind(row.requester.map(|r| r.1))
    .bind(row.filed_by)
    .bind(row.village_id)
    .bind(row.town_id)
    .bind(&ask.place)
    .bind(ask.starts_at)
    .bind(ask.ends_at)
    .bind(i64::from(ask.people))
    .bind(ask.skills.join(" "))
    .bind(ask.certificates.join(" "))
    .bind(&ask.notes)
    .bind(row.status.as_str())
    .bind(row.idem_key)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn insert_shift(
    tx: &mut sqlx::AnyConnection,
    task_id: &str,
    starts_at: i64,
    ends_at: i64,
    capacity: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO dispatch_shifts (id, task_id, starts_at, ends_at, capacity, filled) VALUES ($1, $2, $3, $4, $5, 0)")
        .bind(domain::new_id())
        .bind(task_id)
        .bind(starts_at)
        .bind(ends_at)
        .bind(capacity)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Refuse a request when its resident has the most open at once; the resident's row locked
/// first, so that requests sent at once count each other. In the caller's transaction.
async fn open_requests_below_limit(tx: &mut sqlx::AnyConnection, citizen_id: &str) -> Result<()> {
    sqlx::query("UPDATE citizens SET id = id WHERE id = $1")
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
    let open: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM dispatch_tasks WHERE requester_id = $1 \
         AND status IN ('requested', 'accepted', 'dispatched', 'in_service')",
    )
    .bind(citizen_id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if open >= domain::dispatch::OPEN_REQUESTS_MAX {
        return Err(StoreError::conflict(
            "title",
            "dispatch_too_many_open",
            &format!(
                "at most {} requests open at once",
                domain::dispatch::OPEN_REQUESTS_MAX
            ),
        ));
    }
    Ok(())
}
