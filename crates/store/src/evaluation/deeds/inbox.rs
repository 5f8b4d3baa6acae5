//! The inbox: what residents and staff are told as deeds move (to review, on publicity,
//! objected, rejected, appealed, credited), newest first.

use super::Notification;
use crate::evaluation::Evaluation;
use crate::Result;
use sqlx::Row;

impl Evaluation<'_> {
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
}
