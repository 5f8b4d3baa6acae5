//! Matchmaking events (对接活动): sessions with a capacity, enterprises' sign-ups and an
//! ordered wait list, reminders the day before, check-in by the ticket's QR at the door, and
//! the matches made afterwards (introductions asked for at the event). A seat is taken by a
//! conditional update, so concurrent sign-ups never over-fill a session.

use super::{log, Market, Party};
use crate::{Result, StoreError};
use domain::FieldErrors;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub id: String,
    pub title: String,
    pub theme: String,
    pub venue: String,
    pub sessions: Vec<Session>,
    /// Introductions asked for at this event, and how many were accepted.
    pub asked: i64,
    pub matched: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    pub id: String,
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
    pub taken: i64,
    pub waiting: i64,
    pub checked_in: i64,
}

/// An enterprise's place at a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signup {
    pub session_id: String,
    pub session_title: String,
    pub event_id: String,
    pub event_title: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub status: String,
    /// 1 for the first waiting; 0 when not waiting.
    pub position: i64,
    pub ticket: String,
    pub starts_at: i64,
    pub checked_in_at: Option<i64>,
    pub reminded_at: Option<i64>,
}

/// A session as the broker types it.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub title: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub capacity: i64,
}

const SIGNUP_COLS: &str = "g.session_id, s.title AS session_title, s.event_id, v.title AS event_title, \
    g.enterprise_id, e.name AS enterprise_name, g.status, g.ticket, s.starts_at, g.checked_in_at, g.reminded_at, \
    (SELECT COUNT(*) FROM market_signups w WHERE w.session_id = g.session_id AND w.status = 'waiting' \
       AND (w.queued_at < g.queued_at OR (w.queued_at = g.queued_at AND w.seq <= g.seq))) AS ahead";
const SIGNUP_FROM: &str = "market_signups g JOIN market_sessions s ON s.id = g.session_id \
    JOIN market_events v ON v.id = s.event_id JOIN market_enterprises e ON e.partner_id = g.enterprise_id";

fn signup_from_row(r: &sqlx::any::AnyRow) -> Result<Signup> {
    let status: String = r.try_get("status")?;
    let ahead: i64 = r.try_get("ahead")?;
    Ok(Signup {
        session_id: r.try_get("session_id")?,
        session_title: r.try_get("session_title")?,
        event_id: r.try_get("event_id")?,
        event_title: r.try_get("event_title")?,
        enterprise_id: r.try_get("enterprise_id")?,
        enterprise_name: r.try_get("enterprise_name")?,
        position: if status == "waiting" { ahead } else { 0 },
        status,
        ticket: r.try_get("ticket")?,
        starts_at: r.try_get("starts_at")?,
        checked_in_at: r.try_get("checked_in_at")?,
        reminded_at: r.try_get("reminded_at")?,
    })
}

impl Market<'_> {
    /// The office announces an event with its sessions.
    pub async fn create_event(
        &self,
        title: &str,
        theme: &str,
        venue: &str,
        sessions: &[NewSession],
        broker_id: &str,
        now: i64,
    ) -> Result<Event> {
        use domain::market::{text, CAPACITY_MAX};
        let mut e = FieldErrors::default();
        let title = e.take(text("title", title, 4, 60));
        let theme = e.take(text("theme", theme, 2, 200));
        let venue = e.take(text("venue", venue, 2, 120));
        if sessions.is_empty() {
            e.push(domain::FieldError::new(
                "sessions",
                "required",
                "at least one session",
            ));
        }
        for s in sessions {
            if text("session_title", &s.title, 2, 60).is_err() {
                e.push(domain::FieldError::new(
                    "session_title",
                    "required",
                    "each session needs a title of 2 to 60 characters",
                ));
            }
            if s.ends_at <= s.starts_at || s.starts_at <= now {
                e.push(domain::FieldError::new(
                    "starts_at",
                    "invalid_window",
                    "a session starts in the future and ends after it starts",
                ));
            }
            if !(1..=CAPACITY_MAX).contains(&s.capacity) {
                e.push(domain::FieldError::new(
                    "capacity",
                    "out_of_range",
                    format!("from 1 to {CAPACITY_MAX} seats"),
                ));
            }
        }
        let (Some(title), Some(theme), Some(venue)) = (title, theme, venue) else {
            return Err(StoreError::Invalid(e));
        };
        if !e.0.is_empty() {
            return Err(StoreError::Invalid(e));
        }
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        sqlx::query("INSERT INTO market_events (id, title, theme, venue, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(&title)
            .bind(&theme)
            .bind(&venue)
            .bind(broker_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        for s in sessions {
            sqlx::query("INSERT INTO market_sessions (id, event_id, title, starts_at, ends_at, capacity, taken) VALUES ($1, $2, $3, $4, $5, $6, 0)")
                .bind(domain::new_id())
                .bind(&id)
                .bind(s.title.trim())
                .bind(s.starts_at)
                .bind(s.ends_at)
                .bind(s.capacity)
                .execute(&mut *tx)
                .await?;
        }
        log(
            &mut tx,
            &id,
            &format!("staff:{broker_id}"),
            "event_created",
            &title,
            now,
        )
        .await?;
        tx.commit().await?;
        self.event(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "event" })
    }

    pub async fn event(&self, id: &str) -> Result<Option<Event>> {
        Ok(self.events_where("v.id = $1", id).await?.pop())
    }

    /// Every event, newest first (the 50 newest).
    pub async fn events(&self) -> Result<Vec<Event>> {
        self.events_where("$1 = $1", "").await
    }

    /// Events matching `filter` (on `market_events v`, one parameter) with their sessions: two
    /// statements whatever the number of events.
    async fn events_where(&self, filter: &str, param: &str) -> Result<Vec<Event>> {
        let rows = sqlx::query(&format!(
            "SELECT v.id, v.title, v.theme, v.venue, \
             (SELECT COUNT(*) FROM market_introductions i WHERE i.event_id = v.id) AS asked, \
             (SELECT COUNT(*) FROM market_introductions i WHERE i.event_id = v.id AND i.status = 'accepted') AS matched \
             FROM market_events v WHERE {filter} ORDER BY v.created_at DESC, v.id LIMIT 50"
        ))
        .bind(param)
        .fetch_all(&self.read)
        .await?;
        let mut events = rows
            .iter()
            .map(|r| {
                Ok(Event {
                    id: r.try_get("id")?,
                    title: r.try_get("title")?,
                    theme: r.try_get("theme")?,
                    venue: r.try_get("venue")?,
                    sessions: Vec::new(),
                    asked: r.try_get("asked")?,
                    matched: r.try_get("matched")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if events.is_empty() {
            return Ok(events);
        }
        let sql = format!(
            "SELECT s.event_id, s.id, s.title, s.starts_at, s.ends_at, s.capacity, s.taken, \
             (SELECT COUNT(*) FROM market_signups g WHERE g.session_id = s.id AND g.status = 'waiting') AS waiting, \
             (SELECT COUNT(*) FROM market_signups g WHERE g.session_id = s.id AND g.checked_in_at IS NOT NULL) AS checked_in \
             FROM market_sessions s WHERE s.event_id IN ({}) ORDER BY s.starts_at, s.id",
            crate::sql::in_list(1, events.len())
        );
        let mut q = sqlx::query(&sql);
        for e in &events {
            q = q.bind(&e.id);
        }
        for s in q.fetch_all(&self.read).await? {
            let event_id: String = s.try_get("event_id")?;
            let session = Session {
                id: s.try_get("id")?,
                title: s.try_get("title")?,
                starts_at: s.try_get("starts_at")?,
                ends_at: s.try_get("ends_at")?,
                capacity: s.try_get("capacity")?,
                taken: s.try_get("taken")?,
                waiting: s.try_get("waiting")?,
                checked_in: s.try_get("checked_in")?,
            };
            if let Some(e) = events.iter_mut().find(|e| e.id == event_id) {
                e.sessions.push(session);
            }
        }
        Ok(events)
    }

    /// The enterprise signs up for a session: a seat if one is free, else the wait list's
    /// end. Signing up again changes nothing; a cancelled sign-up queues anew.
    pub async fn sign_up(&self, party: &Party, session_id: &str, now: i64) -> Result<Signup> {
        let Party::Enterprise { partner_id, .. } = party else {
            return Err(StoreError::NotFound { what: "session" });
        };
        self.verified(partner_id).await?;
        let mut tx = self.write.begin().await?;
        // The session's row lock first: sign-ups to one session queue here, so the seat count,
        // the wait list's order and its sequence numbers are each read by one request at a time.
        sqlx::query("UPDATE market_sessions SET taken = taken WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        let session = sqlx::query("SELECT ends_at FROM market_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound { what: "session" })?;
        if session.try_get::<i64, _>("ends_at")? <= now {
            return Err(StoreError::conflict(
                "session_id",
                "session_over",
                "this session is over",
            ));
        }
        let existing: Option<String> = sqlx::query(
            "SELECT status FROM market_signups WHERE session_id = $1 AND enterprise_id = $2",
        )
        .bind(session_id)
        .bind(partner_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| r.try_get("status"))
        .transpose()?;
        if matches!(existing.as_deref(), Some("signed" | "waiting")) {
            drop(tx);
            return self.signup(session_id, partner_id).await;
        }
        let seated = sqlx::query(
            "UPDATE market_sessions SET taken = taken + 1 WHERE id = $1 AND taken < capacity",
        )
        .bind(session_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let status = if seated { "signed" } else { "waiting" };
        let seq: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM market_signups WHERE session_id = $1")
                .bind(session_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
        let ticket = hex::encode(crate::vault::random_bytes(12));
        let sql = if existing.is_some() {
            "UPDATE market_signups SET status = $3, queued_at = $4, seq = $5, ticket = $6, checked_in_at = NULL, reminded_at = NULL WHERE session_id = $1 AND enterprise_id = $2"
        } else {
            "INSERT INTO market_signups (session_id, enterprise_id, status, queued_at, seq, ticket) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        let wrote = sqlx::query(sql)
            .bind(session_id)
            .bind(partner_id)
            .bind(status)
            .bind(now)
            .bind(seq)
            .bind(&ticket)
            .execute(&mut *tx)
            .await;
        match wrote {
            // The same enterprise signing up twice at once: the other request holds the place.
            Err(e) if StoreError::is_unique_violation(&e) => {
                drop(tx);
                return self.signup(session_id, partner_id).await;
            }
            r => r?,
        };
        log(&mut tx, session_id, &party.actor(), status, partner_id, now).await?;
        tx.commit().await?;
        self.signup(session_id, partner_id).await
    }

    /// The enterprise gives up its place; a seat freed goes to the first waiting.
    pub async fn cancel_signup(&self, party: &Party, session_id: &str, now: i64) -> Result<()> {
        let Party::Enterprise { partner_id, .. } = party else {
            return Err(StoreError::NotFound { what: "sign-up" });
        };
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE market_sessions SET taken = taken WHERE id = $1")
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        let was: String = sqlx::query(
            "SELECT status FROM market_signups WHERE session_id = $1 AND enterprise_id = $2",
        )
        .bind(session_id)
        .bind(partner_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "sign-up" })?
        .try_get("status")?;
        if was == "cancelled" {
            return Ok(());
        }
        sqlx::query("UPDATE market_signups SET status = 'cancelled' WHERE session_id = $1 AND enterprise_id = $2")
            .bind(session_id)
            .bind(partner_id)
            .execute(&mut *tx)
            .await?;
        log(
            &mut tx,
            session_id,
            &party.actor(),
            "cancelled",
            partner_id,
            now,
        )
        .await?;
        if was == "signed" {
            let next = sqlx::query("SELECT enterprise_id FROM market_signups WHERE session_id = $1 AND status = 'waiting' ORDER BY queued_at, seq LIMIT 1")
                .bind(session_id)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(n) = next {
                let e: String = n.try_get("enterprise_id")?;
                sqlx::query("UPDATE market_signups SET status = 'signed' WHERE session_id = $1 AND enterprise_id = $2").bind(session_id).bind(&e).execute(&mut *tx).await?;
                log(&mut tx, session_id, "system", "promoted", &e, now).await?;
            } else {
                sqlx::query("UPDATE market_sessions SET taken = taken - 1 WHERE id = $1")
                    .bind(session_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The event a session belongs to.
    pub async fn event_of_session(&self, session_id: &str) -> Result<Option<Event>> {
        let row = sqlx::query("SELECT event_id FROM market_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(r) => self.event(&r.try_get::<String, _>("event_id")?).await,
            None => Ok(None),
        }
    }

    pub async fn signup(&self, session_id: &str, partner_id: &str) -> Result<Signup> {
        let row = sqlx::query(&format!("SELECT {SIGNUP_COLS} FROM {SIGNUP_FROM} WHERE g.session_id = $1 AND g.enterprise_id = $2"))
            .bind(session_id)
            .bind(partner_id)
            .fetch_optional(&self.read)
            .await?
            .ok_or(StoreError::NotFound { what: "sign-up" })?;
        signup_from_row(&row)
    }

    /// An enterprise's sign-ups, soonest first.
    pub async fn signups_of(&self, partner_id: &str) -> Result<Vec<Signup>> {
        let rows = sqlx::query(&format!("SELECT {SIGNUP_COLS} FROM {SIGNUP_FROM} WHERE g.enterprise_id = $1 AND g.status <> 'cancelled' ORDER BY s.starts_at"))
            .bind(partner_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(signup_from_row).collect()
    }

    /// A session's list at the door: seated first, then the wait list in order.
    pub async fn session_list(&self, session_id: &str) -> Result<Vec<Signup>> {
        let rows = sqlx::query(&format!("SELECT {SIGNUP_COLS} FROM {SIGNUP_FROM} WHERE g.session_id = $1 AND g.status <> 'cancelled' ORDER BY g.status, g.queued_at, g.seq"))
            .bind(session_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(signup_from_row).collect()
    }

    /// The door: a scanned ticket checks its enterprise in, once, for a seated place on the
    /// session's day (from two hours before it starts until it ends).
    pub async fn check_in(&self, ticket: &str, broker_id: &str, now: i64) -> Result<Signup> {
        let ticket = ticket.trim().trim_start_matches("MBT1:");
        let row = sqlx::query("SELECT g.session_id, g.enterprise_id, g.status, g.checked_in_at, s.starts_at, s.ends_at FROM market_signups g JOIN market_sessions s ON s.id = g.session_id WHERE g.ticket = $1")
            .bind(ticket)
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::invalid("ticket", "unknown_ticket", "no sign-up has this ticket"))?;
        let (session, enterprise): (String, String) =
            (row.try_get("session_id")?, row.try_get("enterprise_id")?);
        if row.try_get::<String, _>("status")? != "signed" {
            return Err(StoreError::conflict(
                "ticket",
                "not_seated",
                "this ticket is for the wait list or was cancelled",
            ));
        }
        let (starts, ends): (i64, i64) = (row.try_get("starts_at")?, row.try_get("ends_at")?);
        if now < starts - 2 * domain::time::HOUR_MS || now > ends {
            return Err(StoreError::conflict(
                "ticket",
                "not_now",
                "check-in opens two hours before the session and closes at its end",
            ));
        }
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE market_signups SET checked_in_at = $1 WHERE session_id = $2 AND enterprise_id = $3 AND checked_in_at IS NULL")
            .bind(now)
            .bind(&session)
            .bind(&enterprise)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            log(
                &mut tx,
                &session,
                &format!("staff:{broker_id}"),
                "checked_in",
                &enterprise,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.signup(&session, &enterprise).await
    }

    /// Remind seated enterprises of sessions starting within a day (once each); returns how
    /// many were reminded. The server runs it every few minutes.
    pub async fn send_reminders(&self, now: i64) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        let due = sqlx::query("SELECT g.session_id, g.enterprise_id FROM market_signups g JOIN market_sessions s ON s.id = g.session_id WHERE g.status = 'signed' AND g.reminded_at IS NULL AND s.starts_at > $1 AND s.starts_at <= $2")
            .bind(now)
            .bind(now + 24 * domain::time::HOUR_MS)
            .fetch_all(&mut *tx)
            .await?;
        for r in &due {
            let (s, e): (String, String) = (r.try_get("session_id")?, r.try_get("enterprise_id")?);
            sqlx::query("UPDATE market_signups SET reminded_at = $1 WHERE session_id = $2 AND enterprise_id = $3").bind(now).bind(&s).bind(&e).execute(&mut *tx).await?;
            log(&mut tx, &s, "system", "reminded", &e, now).await?;
        }
        tx.commit().await?;
        Ok(due.len() as u64)
    }
}
