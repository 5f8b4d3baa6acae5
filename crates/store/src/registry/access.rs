//! The access log: every read of a citizen's personal data by staff or a partner, which the
//! citizen can read back. Rows hold who read and what, never the data read.

use crate::registry::Registry;
use crate::{now_ms, Result};
use serde::Serialize;
use sqlx::Row;

pub const ACCESS_PAGE_MAX: i64 = 200;

/// Who is reading.
#[derive(Debug, Clone)]
pub struct Actor {
    /// `staff` or `partner`.
    pub kind: &'static str,
    pub id: String,
    /// What the citizen sees: the staff member's display name and role, or the partner's name.
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    pub id: String,
    pub actor_kind: String,
    pub actor_label: String,
    pub action: String,
    pub at: i64,
}

/// One access-log row, inside the caller's transaction (so the read and its record commit
/// together).
pub(crate) async fn insert_access(
    conn: &mut sqlx::AnyConnection,
    citizen_id: &str,
    actor: &Actor,
    action: &str,
    at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO access_log (id, citizen_id, actor_kind, actor_id, actor_label, action, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(domain::new_id())
        .bind(citizen_id)
        .bind(actor.kind)
        .bind(&actor.id)
        .bind(&actor.label)
        .bind(action)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

impl Registry<'_> {
    pub async fn record_access(
        &self,
        citizen_ids: &[&str],
        actor: &Actor,
        action: &str,
    ) -> Result<()> {
        if citizen_ids.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        for cid in citizen_ids {
            insert_access(&mut tx, cid, actor, action, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Newest first, at most `limit`, continuing after `after` (the `(at, id)` of the last
    /// entry of the previous page) when given. Ordering by both keeps entries made in the same
    /// millisecond from being skipped or repeated between pages.
    pub async fn access_log(
        &self,
        citizen_id: &str,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<AccessEntry>> {
        const COLS: &str =
            "SELECT id, actor_kind, actor_label, action, at FROM access_log WHERE citizen_id = $1";
        const ORDER: &str = "ORDER BY at DESC, id DESC";
        let limit = limit.clamp(1, ACCESS_PAGE_MAX);
        let rows = match after {
            None => {
                sqlx::query(&format!("{COLS} {ORDER} LIMIT $2"))
                    .bind(citizen_id)
                    .bind(limit)
                    .fetch_all(&self.read)
                    .await?
            }
            Some((at, id)) => {
                sqlx::query(&format!(
                    "{COLS} AND (at < $2 OR (at = $2 AND id < $3)) {ORDER} LIMIT $4"
                ))
                .bind(citizen_id)
                .bind(at)
                .bind(id)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(AccessEntry {
                    id: r.try_get("id")?,
                    actor_kind: r.try_get("actor_kind")?,
                    actor_label: r.try_get("actor_label")?,
                    action: r.try_get("action")?,
                    at: r.try_get("at")?,
                })
            })
            .collect()
    }
}
