//! Places: an activity's sign-ups (beyond the capacity onto a wait list, promoted in order
//! when a place frees), a volunteer giving up a place, the organiser withdrawing an offer or
//! recording a no-show, and what frees places when a task ends or a volunteer leaves. A place
//! is taken by a conditional update of its shift's `filled`, so concurrent accepts and
//! sign-ups never over-fill it. Every step locks the task before its offers.

use crate::dispatch::offers::{conflict, ineligible, MyOffer};
use crate::dispatch::tasks::Who;
use crate::dispatch::{event, lock_task, offer_from_row, Dispatch, Offer, Shift, OFFER_COLUMNS};
use crate::{Result, StoreError};
use domain::dispatch::matcher::{self, Place, Slot};
use domain::dispatch::{OfferStatus, OfferStep, Party};
use sqlx::{AnyConnection, Row};

impl Dispatch<'_> {
    /// An activity's sign-up: a place if one is free, else the wait list. Only a volunteer of
    /// the activity's alliance, holding its certificates, not busy at its time.
    pub async fn sign_up(&self, shift_id: &str, citizen_id: &str, now: i64) -> Result<Offer> {
        let shift = self
            .shift(shift_id)
            .await?
            .ok_or(StoreError::NotFound { what: "shift" })?;
        let task = self
            .task(&shift.task_id)
            .await?
            .ok_or(StoreError::NotFound { what: "task" })?;
        self.check_sign_up(&task, &shift, citizen_id, now).await?;
        let mut tx = self.write.begin().await?;
        if !lock_task(&mut tx, &task.id).await?.status.is_open() {
            return Err(conflict(
                "shift",
                "dispatch_task_ended",
                "the activity is not open to sign-up",
            ));
        }
        let status = match take_place(&mut tx, &shift.id).await {
            Ok(()) => OfferStatus::Accepted,
            Err(StoreError::Conflict(_)) => OfferStatus::Waitlisted,
            Err(e) => return Err(e),
        };
        let id = domain::new_id();
        let inserted = sqlx::query("INSERT INTO dispatch_offers (id, task_id, shift_id, volunteer_id, status, cost, terms, offered_by, created_at, expires_at, answered_at, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5, 0, '[]', $6, $7, NULL, $7, $8, $9)")
            .bind(&id)
            .bind(&task.id)
            .bind(&shift.id)
            .bind(citizen_id)
            .bind(status.as_str())
            .bind(format!("citizen:{citizen_id}"))
            .bind(now)
            .bind(shift.starts_at)
            .bind(shift.ends_at)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(conflict(
                    "shift",
                    "dispatch_signed_up",
                    "you have signed up for this activity already",
                ));
            }
            r => r?,
        };
        event(
            &mut tx,
            &task.id,
            Some(&id),
            &format!("citizen:{citizen_id}"),
            status.as_str(),
            "",
            now,
        )
        .await?;
        tx.commit().await?;
        self.offer(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "offer" })
    }

    /// Whether `citizen_id` may sign up for `shift` of the activity `task`: it is open, they
    /// volunteer for its alliance, have not signed up yet, hold its certificates and are free.
    async fn check_sign_up(
        &self,
        task: &crate::dispatch::Task,
        shift: &Shift,
        citizen_id: &str,
        now: i64,
    ) -> Result<()> {
        if task.kind != "activity" || !task.status.is_open() || now >= shift.ends_at {
            return Err(conflict(
                "shift",
                "dispatch_task_ended",
                "the activity is not open to sign-up",
            ));
        }
        let me = self
            .candidates(&task.alliance_id, None, now)
            .await?
            .into_iter()
            .find(|c| c.id == citizen_id)
            .ok_or_else(|| {
                conflict(
                    "shift",
                    "dispatch_not_member",
                    "join this alliance as a volunteer first",
                )
            })?;
        let slot = Slot {
            key: shift.id.clone(),
            place: Place {
                village_id: task.village_id.clone(),
                town_id: task.town_id.clone(),
            },
            starts_at: shift.starts_at,
            ends_at: shift.ends_at,
            certificates: task.certificates.clone(),
            skills: Vec::new(),
            excluded_household: None,
            excluded: Vec::new(),
        };
        let mine =
            sqlx::query("SELECT id FROM dispatch_offers WHERE task_id = $1 AND volunteer_id = $2")
                .bind(&task.id)
                .bind(citizen_id)
                .fetch_optional(&self.read)
                .await?;
        if mine.is_some() {
            return Err(conflict(
                "shift",
                "dispatch_signed_up",
                "you have signed up for this activity already",
            ));
        }
        // Signing up is the volunteer's own choice of time: their weekly hours do not bind it.
        let mut me_any_time = me.clone();
        me_any_time.availability = matcher::Availability::always();
        if let Err(why) = matcher::eligibility(&me_any_time, &slot) {
            return Err(ineligible(why));
        }
        Ok(())
    }

    /// The volunteer gives up an accepted place before the start (or leaves a wait list): the
    /// first on the wait list takes it, or for a request the next candidate is offered.
    pub async fn cancel_place(
        &self,
        offer_id: &str,
        citizen_id: &str,
        expiry_ms: i64,
        now: i64,
    ) -> Result<Offer> {
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, offer_id).await?;
        if o.volunteer_id != citizen_id {
            return Err(StoreError::NotFound { what: "offer" });
        }
        let next = if o.status == OfferStatus::Waitlisted {
            OfferStatus::Withdrawn
        } else {
            o.status
                .step(
                    OfferStep::Cancel,
                    Party::Volunteer,
                    now >= o.starts_at,
                    false,
                )
                .map_err(StoreError::Conflict)?
        };
        answer_row(&mut tx, offer_id, next, now).await?;
        if o.status == OfferStatus::Accepted {
            free_place(&mut tx, &o.shift_id, now).await?;
        }
        event(
            &mut tx,
            &o.task_id,
            Some(offer_id),
            &format!("citizen:{citizen_id}"),
            "place_cancelled",
            "",
            now,
        )
        .await?;
        tx.commit().await?;
        self.refill(&o.task_id, expiry_ms, now).await?;
        self.offer(offer_id)
            .await?
            .ok_or(StoreError::NotFound { what: "offer" })
    }

    /// The organiser takes back an offer (or an accepted place before the start), or records
    /// a no-show after the start: the volunteer sees it; it lowers their matching priority for
    /// a period and never costs points.
    pub async fn organiser_step(
        &self,
        offer_id: &str,
        who: &Who,
        step: OfferStep,
        now: i64,
    ) -> Result<Offer> {
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, offer_id).await?;
        let task = lock_task(&mut tx, &o.task_id).await?;
        if who.party(&task) != Party::Organiser {
            return Err(StoreError::NotFound { what: "offer" });
        }
        let checked_in: bool = sqlx::query("SELECT check_in_at FROM dispatch_service WHERE offer_id = $1 AND check_in_at IS NOT NULL")
            .bind(offer_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        // A no-show only once check-in has closed for the start (a volunteer a few minutes
        // late may still check in); other steps at the start itself.
        let started = if step == OfferStep::NoShow {
            now >= o.starts_at + domain::dispatch::SERVICE_GRACE_MS
        } else {
            now >= o.starts_at
        };
        let next = o
            .status
            .step(step, Party::Organiser, started, checked_in)
            .map_err(StoreError::Conflict)?;
        answer_row(&mut tx, offer_id, next, now).await?;
        if o.status == OfferStatus::Accepted && next == OfferStatus::Withdrawn {
            free_place(&mut tx, &o.shift_id, now).await?;
        }
        event(
            &mut tx,
            &o.task_id,
            Some(offer_id),
            &who.actor(),
            next.as_str(),
            "",
            now,
        )
        .await?;
        let kind = if next == OfferStatus::NoShow {
            "dispatch_no_show"
        } else {
            "dispatch_withdrawn"
        };
        crate::notices::notify_citizen(&mut tx, &o.volunteer_id, kind, now).await?;
        tx.commit().await?;
        self.offer(offer_id)
            .await?
            .ok_or(StoreError::NotFound { what: "offer" })
    }

    /// An offer by id.
    pub async fn offer(&self, id: &str) -> Result<Option<Offer>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM dispatch_offers o JOIN citizens c ON c.id = o.volunteer_id WHERE o.id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(offer_from_row)
            .transpose()
    }

    /// A shift by id.
    pub async fn shift(&self, id: &str) -> Result<Option<Shift>> {
        let r = sqlx::query("SELECT task_id FROM dispatch_shifts WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        let Some(r) = r else { return Ok(None) };
        let task_id: String = r.try_get("task_id")?;
        Ok(self
            .shifts(&task_id)
            .await?
            .into_iter()
            .find(|s| s.id == id))
    }

    /// A volunteer's offers and places still to answer or to serve at `now` (not checked out,
    /// not past their end and its grace), soonest first, with their tasks.
    pub async fn my_offers(&self, citizen_id: &str, now: i64, limit: i64) -> Result<Vec<MyOffer>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM dispatch_offers o JOIN citizens c ON c.id = o.volunteer_id \
             WHERE o.volunteer_id = $1 AND o.status IN ('offered', 'accepted', 'waitlisted') AND o.ends_at > $2 \
             AND NOT EXISTS (SELECT 1 FROM dispatch_service s WHERE s.offer_id = o.id AND s.check_out_at IS NOT NULL) \
             ORDER BY o.starts_at, o.id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(citizen_id)
            .bind(now - domain::dispatch::SERVICE_GRACE_MS)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let offer = offer_from_row(r)?;
            if let Some(task) = self.task(&offer.task_id).await? {
                out.push(MyOffer { offer, task });
            }
        }
        Ok(out)
    }
}

/// Take a place on a shift, or refuse when it is full: one conditional update, so that two
/// accepts at once can never both take the last place.
pub(crate) async fn take_place(tx: &mut AnyConnection, shift_id: &str) -> Result<()> {
    let n = sqlx::query(
        "UPDATE dispatch_shifts SET filled = filled + 1 WHERE id = $1 AND filled < capacity",
    )
    .bind(shift_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(conflict("offer", "dispatch_full", "every place is taken"));
    }
    Ok(())
}

/// Free a place on a shift; the first on its wait list (if any) takes it and is told.
async fn free_place(tx: &mut AnyConnection, shift_id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE dispatch_shifts SET filled = filled - 1 WHERE id = $1 AND filled > 0")
        .bind(shift_id)
        .execute(&mut *tx)
        .await?;
    let first = sqlx::query("SELECT id, task_id, volunteer_id FROM dispatch_offers WHERE shift_id = $1 AND status = 'waitlisted' ORDER BY created_at, id LIMIT 1")
        .bind(shift_id)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(r) = first {
        let (id, task_id, volunteer): (String, String, String) = (
            r.try_get("id")?,
            r.try_get("task_id")?,
            r.try_get("volunteer_id")?,
        );
        take_place(tx, shift_id).await?;
        answer_row(tx, &id, OfferStatus::Accepted, now).await?;
        event(tx, &task_id, Some(&id), "system", "promoted", "", now).await?;
        crate::notices::notify_citizen(tx, &volunteer, "dispatch_promoted", now).await?;
    }
    Ok(())
}

pub(crate) async fn answer_row(
    tx: &mut AnyConnection,
    id: &str,
    status: OfferStatus,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE dispatch_offers SET status = $1, answered_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Lock the volunteer's row for the caller's transaction: two steps that could give them two
/// places at the same time (accepts of two tasks, an offer and an accept) wait for each other.
pub(crate) async fn lock_volunteer(tx: &mut AnyConnection, citizen_id: &str) -> Result<()> {
    sqlx::query("UPDATE volunteers SET updated_at = updated_at WHERE citizen_id = $1")
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Whether the volunteer holds another accepted place overlapping this offer's window.
pub(crate) async fn busy_elsewhere(
    tx: &mut AnyConnection,
    citizen_id: &str,
    o: &Offer,
) -> Result<bool> {
    Ok(sqlx::query("SELECT id FROM dispatch_offers WHERE volunteer_id = $1 AND status = 'accepted' AND id <> $2 AND starts_at < $3 AND ends_at > $4 LIMIT 1")
        .bind(citizen_id)
        .bind(&o.id)
        .bind(o.ends_at)
        .bind(o.starts_at)
        .fetch_optional(&mut *tx)
        .await?
        .is_some())
}

/// The offer row, locked for the caller's transaction — after its task's row, so that every
/// step locks a task before any of its offers (PostgreSQL never finds two steps waiting for
/// each other).
pub(crate) async fn lock_offer(tx: &mut AnyConnection, id: &str) -> Result<Offer> {
    let task_id: String = sqlx::query("SELECT task_id FROM dispatch_offers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "offer" })?
        .try_get("task_id")?;
    lock_task(tx, &task_id).await?;
    sqlx::query("UPDATE dispatch_offers SET answered_at = answered_at WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let sql = format!("SELECT {OFFER_COLUMNS} FROM dispatch_offers o JOIN citizens c ON c.id = o.volunteer_id WHERE o.id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(offer_from_row)
        .transpose()?
        .ok_or(StoreError::NotFound { what: "offer" })
}

/// A cancelled or closed task's offers: unanswered ones and wait lists lapse (`withdrawn`);
/// a cancelled task's accepted places are freed too (the caller says which by the status).
pub(crate) async fn release_task(tx: &mut AnyConnection, task_id: &str, now: i64) -> Result<()> {
    let status: String = sqlx::query("SELECT status FROM dispatch_tasks WHERE id = $1")
        .bind(task_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("status")?;
    let which = if status == "cancelled" {
        "('offered', 'waitlisted', 'accepted')"
    } else {
        "('offered', 'waitlisted')"
    };
    let gone: Vec<String> = sqlx::query(&format!(
        "SELECT volunteer_id FROM dispatch_offers WHERE task_id = $1 AND status IN {which}"
    ))
    .bind(task_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| r.try_get("volunteer_id"))
    .collect::<std::result::Result<_, _>>()?;
    sqlx::query(&format!("UPDATE dispatch_offers SET status = 'withdrawn', answered_at = $1 WHERE task_id = $2 AND status IN {which}"))
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    if status == "cancelled" {
        sqlx::query("UPDATE dispatch_shifts SET filled = 0 WHERE task_id = $1")
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
    }
    crate::notices::notify_citizens(tx, &gone, "dispatch_withdrawn", now).await
}

/// A volunteer who leaves: their unanswered offers and wait-list places lapse, and accepted
/// places not yet started are freed (each to its wait list).
pub(crate) async fn release_all(
    tx: &mut AnyConnection,
    citizen_id: &str,
    why: &str,
    now: i64,
) -> Result<()> {
    let held: Vec<(String, String, String)> = sqlx::query("SELECT id, task_id, shift_id FROM dispatch_offers WHERE volunteer_id = $1 AND status = 'accepted' AND starts_at > $2")
        .bind(citizen_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("task_id")?, r.try_get("shift_id")?)))
        .collect::<Result<_>>()?;
    sqlx::query("UPDATE dispatch_offers SET status = 'withdrawn', answered_at = $1 WHERE volunteer_id = $2 AND (status IN ('offered', 'waitlisted') OR (status = 'accepted' AND starts_at > $1))")
        .bind(now)
        .bind(citizen_id)
        .execute(&mut *tx)
        .await?;
    for (id, task_id, shift_id) in &held {
        free_place(tx, shift_id, now).await?;
        event(tx, task_id, Some(id), "system", why, "", now).await?;
    }
    Ok(())
}
