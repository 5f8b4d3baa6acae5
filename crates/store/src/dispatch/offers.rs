//! 派单 and 接单: the matcher proposes a volunteer for each open place of the chosen tasks, with
//! why ([`Dispatch::propose`]); the organiser sends the offers as proposed or adjusted
//! ([`Dispatch::send_offers`]), each re-checked against the hard constraints as it is written.
//! Offers are not orders: the volunteer accepts or declines ([`Dispatch::answer`]); a decline
//! is final for that task (one offer per task and volunteer); an unanswered offer expires
//! ([`Dispatch::sweep`]) and, like a decline, the next candidate is offered. A place is taken
//! by a conditional update of its shift's `filled`, so concurrent accepts never over-fill it.
//! Activities' sign-ups and the places themselves are [`super::places`].

use crate::dispatch::places::{answer_row, busy_elsewhere, lock_offer, lock_volunteer, take_place};
use crate::dispatch::tasks::Who;
use crate::dispatch::{event, lock_task, set_status, Dispatch, Offer, Shift, Task};
use crate::{Result, StoreError};
use domain::dispatch::matcher::{self, Candidate, Place, Slot, Weights};
use domain::dispatch::{OfferStatus, OfferStep, Party, TaskStatus, TaskStep};
use serde::Serialize;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

/// How many other eligible volunteers a proposal lists for each place (the organiser may pick
/// one of them instead).
pub const ALTERNATES: usize = 3;
/// Tasks one dispatch may take at once.
pub const BATCH_MAX: usize = 300;

/// The matcher's proposal for one open place, with the alternates the organiser may choose.
#[derive(Debug, Clone, Serialize)]
pub struct ProposedPlace {
    pub task_id: String,
    pub shift_id: String,
    pub offer: Option<matcher::Offer>,
    pub alternates: Vec<matcher::Offer>,
}

/// A choice the organiser sends: this volunteer for a place of this shift.
#[derive(Debug, Clone)]
pub struct Choice {
    pub shift_id: String,
    pub volunteer_id: String,
}

/// An offer as its volunteer sees it, with its task.
#[derive(Debug, Clone, Serialize)]
pub struct MyOffer {
    pub offer: Offer,
    pub task: Task,
}

pub(crate) fn conflict(field: &'static str, code: &'static str, detail: &str) -> StoreError {
    StoreError::conflict(field, code, detail)
}

/// The slots of a task's open places (capacity less accepted and outstanding offers).
async fn open_slots(conn: &mut AnyConnection, task: &Task, shifts: &[Shift]) -> Result<Vec<Slot>> {
    let excluded: Vec<String> =
        sqlx::query("SELECT volunteer_id FROM dispatch_offers WHERE task_id = $1")
            .bind(&task.id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get("volunteer_id"))
            .collect::<std::result::Result<_, _>>()?;
    let mut slots = Vec::new();
    for s in shifts {
        let outstanding: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM dispatch_offers WHERE shift_id = $1 AND status = 'offered'",
        )
        .bind(&s.id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        for n in 0..(s.capacity - s.filled - outstanding).max(0) {
            slots.push(Slot {
                key: format!("{}#{n}", s.id),
                place: Place {
                    village_id: task.village_id.clone(),
                    town_id: task.town_id.clone(),
                },
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                certificates: task.certificates.clone(),
                skills: task.skills.clone(),
                excluded_household: task.household_id.clone(),
                excluded: excluded.clone(),
            });
        }
    }
    Ok(slots)
}

fn shift_of(key: &str) -> &str {
    key.split('#').next().unwrap_or(key)
}

impl Dispatch<'_> {
    /// Propose a volunteer for every open place of `task_ids` (the alliance's, reviewed and
    /// open) by the matcher, each with the terms that explain it and up to [`ALTERNATES`]
    /// other eligible volunteers. Nothing is written.
    pub async fn propose(
        &self,
        alliance_id: &str,
        task_ids: &[String],
        now: i64,
    ) -> Result<Vec<ProposedPlace>> {
        if task_ids.len() > BATCH_MAX {
            return Err(StoreError::invalid(
                "tasks",
                "too_many",
                &format!("at most {BATCH_MAX} tasks at once"),
            ));
        }
        let mut conn = self.read.acquire().await?;
        let mut slots = Vec::new();
        let mut towns = Vec::new();
        for id in task_ids {
            let task = self
                .task(id)
                .await?
                .filter(|t| t.alliance_id == alliance_id)
                .ok_or(StoreError::NotFound { what: "task" })?;
            task.status
                .step(TaskStep::Dispatch, Party::Organiser, false)
                .map_err(StoreError::Conflict)?;
            let shifts = self.shifts(&task.id).await?;
            let mut s = open_slots(&mut conn, &task, &shifts).await?;
            for slot in &mut s {
                slot.key = format!("{}#{}", task.id, slot.key);
            }
            towns.push(task.town_id.clone());
            slots.extend(s);
        }
        drop(conn);
        towns.sort();
        towns.dedup();
        // The volunteers of the tasks' towns first; when they cannot fill every place, the
        // whole alliance (the matcher still prefers the nearest).
        let near = self.candidates(alliance_id, Some(&towns), now).await?;
        let proposed = proposals(&slots, &near);
        if proposed.iter().all(|p| p.offer.is_some()) {
            return Ok(proposed);
        }
        let all = self.candidates(alliance_id, None, now).await?;
        if all.len() == near.len() {
            return Ok(proposed);
        }
        Ok(proposals(&slots, &all))
    }

    /// Send offers: each choice re-checked against the hard constraints and the place still
    /// open, in one transaction; the task becomes `dispatched` and each volunteer is told.
    /// An offer lapses after `expiry_ms` unanswered.
    pub async fn send_offers(
        &self,
        who: &Who,
        choices: &[Choice],
        expiry_ms: i64,
        now: i64,
    ) -> Result<usize> {
        let Who::Staff {
            partner_id: Some(alliance_id),
            ..
        } = who
        else {
            return Err(conflict(
                "offer",
                "dispatch_not_yours",
                "only an alliance sends offers",
            ));
        };
        let candidates = self.candidates(alliance_id, None, now).await?;
        let mut minutes: Vec<i64> = candidates.iter().map(|c| c.recent_minutes).collect();
        let pool = Pool {
            by_id: candidates.iter().map(|c| (c.id.as_str(), c)).collect(),
            median: domain::dispatch::fairness::median(&mut minutes).unwrap_or(0),
        };
        // Tasks in id order, so two dispatches never lock the same tasks crosswise.
        let mut choices: Vec<&Choice> = choices.iter().collect();
        choices.sort_by(|a, b| a.shift_id.cmp(&b.shift_id));
        let mut tx = self.write.begin().await?;
        for c in &choices {
            send_one(&mut tx, who, &pool, c, expiry_ms, now).await?;
        }
        tx.commit().await?;
        Ok(choices.len())
    }

    /// The volunteer answers an offer (or takes a waitlisted place): accept takes a place if
    /// one is free (never more than the capacity, however many accept at once); decline is
    /// final for the task. Either way the task's next candidate is offered if a place is open.
    pub async fn answer(
        &self,
        offer_id: &str,
        citizen_id: &str,
        accept: bool,
        expiry_ms: i64,
        now: i64,
    ) -> Result<Offer> {
        let mut tx = self.write.begin().await?;
        let o = lock_offer(&mut tx, offer_id).await?;
        if o.volunteer_id != citizen_id {
            return Err(StoreError::NotFound { what: "offer" });
        }
        let step = if accept {
            OfferStep::Accept
        } else {
            OfferStep::Decline
        };
        let next = o
            .status
            .step(step, Party::Volunteer, now >= o.starts_at, false)
            .map_err(StoreError::Conflict)?;
        if o.status == OfferStatus::Offered && o.expires_at.is_some_and(|e| now >= e) {
            return Err(conflict(
                "offer",
                "dispatch_offer_expired",
                "the offer has expired",
            ));
        }
        if accept {
            let task = lock_task(&mut tx, &o.task_id).await?;
            if !task.status.is_open() {
                return Err(conflict(
                    "offer",
                    "dispatch_task_ended",
                    "the task is no longer open",
                ));
            }
            lock_volunteer(&mut tx, citizen_id).await?;
            if busy_elsewhere(&mut tx, citizen_id, &o).await? {
                return Err(conflict(
                    "offer",
                    "dispatch_busy",
                    "you have accepted another task at this time",
                ));
            }
            take_place(&mut tx, &o.shift_id).await?;
        }
        answer_row(&mut tx, offer_id, next, now).await?;
        let action = if accept {
            "offer_accepted"
        } else {
            "offer_declined"
        };
        event(
            &mut tx,
            &o.task_id,
            Some(offer_id),
            &format!("citizen:{citizen_id}"),
            action,
            "",
            now,
        )
        .await?;
        tx.commit().await?;
        if !accept {
            self.refill(&o.task_id, expiry_ms, now).await?;
        }
        self.offer(offer_id)
            .await?
            .ok_or(StoreError::NotFound { what: "offer" })
    }

    /// Expire every offer unanswered at `now`, and offer each task's next candidates. Returns
    /// how many expired.
    pub async fn sweep(&self, expiry_ms: i64, now: i64) -> Result<usize> {
        let due: Vec<(String, String)> = sqlx::query("SELECT id, task_id FROM dispatch_offers WHERE status = 'offered' AND expires_at <= $1 ORDER BY expires_at LIMIT 500")
            .bind(now)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("task_id")?)))
            .collect::<Result<_>>()?;
        let mut tasks = Vec::new();
        for (id, task_id) in &due {
            let mut tx = self.write.begin().await?;
            // Only if still unanswered: an accept that won the race stands.
            let n = sqlx::query("UPDATE dispatch_offers SET status = 'expired', answered_at = $1 WHERE id = $2 AND status = 'offered'")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                event(
                    &mut tx,
                    task_id,
                    Some(id),
                    "system",
                    "offer_expired",
                    "",
                    now,
                )
                .await?;
                tasks.push(task_id.clone());
            }
            tx.commit().await?;
        }
        let expired = tasks.len();
        tasks.sort();
        tasks.dedup();
        for t in &tasks {
            self.refill(t, expiry_ms, now).await?;
        }
        Ok(expired)
    }

    /// Offer a task's open places to its next candidates (the system sends them, by the same
    /// matcher and checks as an organiser's dispatch). Nothing when the task is not open.
    pub async fn refill(&self, task_id: &str, expiry_ms: i64, now: i64) -> Result<usize> {
        let Some(task) = self.task(task_id).await? else {
            return Ok(0);
        };
        if task.kind != "request"
            || !matches!(task.status, TaskStatus::Dispatched)
            || now >= task.starts_at
        {
            return Ok(0);
        }
        let proposals = self
            .propose(&task.alliance_id, std::slice::from_ref(&task.id), now)
            .await?;
        let choices: Vec<Choice> = proposals
            .iter()
            .filter_map(|p| {
                p.offer.as_ref().map(|o| Choice {
                    shift_id: p.shift_id.clone(),
                    volunteer_id: o.volunteer_id.clone(),
                })
            })
            .collect();
        if choices.is_empty() {
            return Ok(0);
        }
        let system = Who::Staff {
            actor: "system".into(),
            partner_id: Some(task.alliance_id.clone()),
            clerk_of: None,
        };
        match self.send_offers(&system, &choices, expiry_ms, now).await {
            // Another answer raced this one: the next sweep or answer tries again.
            Err(StoreError::Conflict(_)) => Ok(0),
            r => r,
        }
    }
}

/// The matcher's proposal for `slots` with alternates for each place.
fn proposals(slots: &[Slot], candidates: &[Candidate]) -> Vec<ProposedPlace> {
    let w = Weights::default();
    let proposal = matcher::propose(slots, candidates, &w);
    let mut minutes: Vec<i64> = candidates.iter().map(|c| c.recent_minutes).collect();
    let median = domain::dispatch::fairness::median(&mut minutes).unwrap_or(0);
    let chosen: HashMap<&str, &matcher::Offer> = proposal
        .offers
        .iter()
        .map(|o| (o.slot_key.as_str(), o))
        .collect();
    // Where each candidate lives and serves, and who lives in each town: the alternates are
    // looked for in the place's village, then its town (distance weighs most), never among
    // every volunteer of the city for every place.
    let mut by_village: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_town: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        by_town.entry(c.home.town_id.as_str()).or_default().push(i);
        for v in std::iter::once(&c.home.village_id).chain(&c.serves) {
            by_village.entry(v.as_str()).or_default().push(i);
        }
    }
    let none = Vec::new();
    slots
        .iter()
        .map(|s| {
            let offer = chosen.get(s.key.as_str()).map(|o| (*o).clone());
            let taken = offer.as_ref().map(|o| o.volunteer_id.as_str());
            let mut alternates = Vec::new();
            for tier in [
                by_village.get(s.place.village_id.as_str()).unwrap_or(&none),
                by_town.get(s.place.town_id.as_str()).unwrap_or(&none),
            ] {
                for &i in tier {
                    let c = &candidates[i];
                    if Some(c.id.as_str()) == taken
                        || alternates
                            .iter()
                            .any(|a: &matcher::Offer| a.volunteer_id == c.id)
                        || matcher::eligibility(c, s).is_err()
                    {
                        continue;
                    }
                    let terms = matcher::terms(c, s, median, &w);
                    alternates.push(matcher::Offer {
                        slot_key: s.key.clone(),
                        volunteer_id: c.id.clone(),
                        cost: terms.iter().map(|t| t.cost).sum(),
                        terms,
                    });
                }
                if alternates.len() >= ALTERNATES {
                    break;
                }
            }
            alternates.sort_by(|a, b| {
                a.cost
                    .cmp(&b.cost)
                    .then_with(|| a.volunteer_id.cmp(&b.volunteer_id))
            });
            alternates.truncate(ALTERNATES);
            let mut parts = s.key.splitn(2, '#');
            let task_id = parts.next().unwrap_or_default().to_string();
            let shift_id = shift_of(parts.next().unwrap_or_default()).to_string();
            ProposedPlace {
                task_id,
                shift_id,
                offer,
                alternates,
            }
        })
        .collect()
}

pub(crate) fn ineligible(why: matcher::Ineligible) -> StoreError {
    use matcher::Ineligible as I;
    let (code, detail) = match why {
        I::Excluded => (
            "dispatch_already_offered",
            "this volunteer was offered this task already",
        ),
        I::OwnHousehold => (
            "dispatch_own_household",
            "a volunteer never serves their own household's request",
        ),
        I::CertificateMissing => (
            "dispatch_certificate_missing",
            "the task needs a certificate this volunteer does not hold",
        ),
        I::CertificateExpired => (
            "dispatch_certificate_expired",
            "the volunteer's certificate is not valid at the task's time",
        ),
        I::Unavailable => (
            "dispatch_unavailable",
            "the task's time is outside the volunteer's weekly hours",
        ),
        I::Busy => ("dispatch_busy", "the volunteer is busy at the task's time"),
    };
    conflict("volunteer_id", code, detail)
}

/// Write one chosen offer in the caller's transaction, re-checking everything.
/// The alliance's candidates by id, and the median of their recent minutes (the hours term's
/// reference), for re-checking chosen offers.
struct Pool<'a> {
    by_id: HashMap<&'a str, &'a Candidate>,
    median: i64,
}

async fn send_one(
    tx: &mut AnyConnection,
    who: &Who,
    pool: &Pool<'_>,
    c: &Choice,
    expiry_ms: i64,
    now: i64,
) -> Result<()> {
    let task_id: String = sqlx::query("SELECT task_id FROM dispatch_shifts WHERE id = $1")
        .bind(&c.shift_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "shift" })?
        .try_get("task_id")?;
    let task = lock_task(tx, &task_id).await?;
    if who.party(&task) != Party::Organiser {
        return Err(StoreError::NotFound { what: "task" });
    }
    let next = task
        .status
        .step(TaskStep::Dispatch, Party::Organiser, false)
        .map_err(StoreError::Conflict)?;
    let shift = sqlx::query("SELECT id, task_id, starts_at, ends_at, capacity, filled FROM dispatch_shifts WHERE id = $1")
        .bind(&c.shift_id)
        .fetch_one(&mut *tx)
        .await?;
    let shift = crate::dispatch::shift_from_row(&shift)?;
    let slots = open_slots(tx, &task, std::slice::from_ref(&shift)).await?;
    let Some(slot) = slots.first() else {
        return Err(conflict(
            "shift_id",
            "dispatch_full",
            "every place of this shift is filled or offered",
        ));
    };
    let mut cand = pool
        .by_id
        .get(c.volunteer_id.as_str())
        .map(|x| (*x).clone())
        .ok_or_else(|| {
            conflict(
                "volunteer_id",
                "dispatch_not_member",
                "not an active volunteer of this alliance",
            )
        })?;
    // Busy as of this transaction (an offer sent a moment ago counts), the volunteer's row
    // locked so that an accept elsewhere cannot slip in between.
    lock_volunteer(tx, &cand.id).await?;
    cand.busy = sqlx::query("SELECT starts_at, ends_at FROM dispatch_offers WHERE volunteer_id = $1 AND status IN ('offered', 'accepted') AND ends_at > $2")
        .bind(&cand.id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("starts_at")?, r.try_get("ends_at")?)))
        .collect::<Result<_>>()?;
    matcher::eligibility(&cand, slot).map_err(ineligible)?;
    let terms = matcher::terms(&cand, slot, pool.median, &Weights::default());
    let cost: i64 = terms.iter().map(|t| t.cost).sum();
    let id = domain::new_id();
    sqlx::query("INSERT INTO dispatch_offers (id, task_id, shift_id, volunteer_id, status, cost, terms, offered_by, created_at, expires_at, starts_at, ends_at) VALUES ($1, $2, $3, $4, 'offered', $5, $6, $7, $8, $9, $10, $11)")
        .bind(&id)
        .bind(&task.id)
        .bind(&shift.id)
        .bind(&cand.id)
        .bind(cost)
        .bind(serde_json::to_string(&terms).unwrap_or_else(|_| "[]".into()))
        .bind(who.actor())
        .bind(now)
        .bind((now + expiry_ms).min(shift.starts_at.max(now + 60_000)))
        .bind(shift.starts_at)
        .bind(shift.ends_at)
        .execute(&mut *tx)
        .await?;
    if task.status != next || task.dispatched_at.is_none() {
        set_status(tx, &task.id, next, now).await?;
        sqlx::query(
            "UPDATE dispatch_tasks SET dispatched_at = COALESCE(dispatched_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(&task.id)
        .execute(&mut *tx)
        .await?;
    }
    event(tx, &task.id, Some(&id), &who.actor(), "offered", "", now).await?;
    crate::notices::notify_citizen(tx, &cand.id, "dispatch_offer", now).await?;
    Ok(())
}
