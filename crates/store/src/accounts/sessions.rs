//! Sessions, and the housekeeping of sessions, one-time codes and invites.

use crate::accounts::Accounts;
use crate::vault::{random_token, token_hash};
use crate::{now_ms, Result};
use domain::time::DAY_MS;
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Staff,
    Citizen,
}

impl SubjectKind {
    fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Staff => "staff",
            SubjectKind::Citizen => "citizen",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub kind: SubjectKind,
    pub subject_id: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

impl Accounts<'_> {
    /// Returns the bearer token (for the cookie or `Authorization` header) and the session.
    pub async fn create_session(
        &self,
        kind: SubjectKind,
        subject_id: &str,
        ttl_ms: i64,
    ) -> Result<(String, Session)> {
        let token = random_token();
        let csrf = random_token();
        let now = now_ms();
        sqlx::query("INSERT INTO sessions (token_hash, subject_kind, subject_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(token_hash(&token))
            .bind(kind.as_str())
            .bind(subject_id)
            .bind(&csrf)
            .bind(now)
            .bind(now + ttl_ms)
            .execute(&self.write)
            .await?;
        Ok((
            token,
            Session {
                kind,
                subject_id: subject_id.to_string(),
                csrf_token: csrf,
                expires_at: now + ttl_ms,
            },
        ))
    }

    /// The live session for a token; expired and unknown tokens are `None`.
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT subject_kind, subject_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash(token))
            .bind(now_ms())
            .fetch_optional(&self.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let kind: String = row.try_get("subject_kind")?;
        Ok(Some(Session {
            kind: if kind == "staff" {
                SubjectKind::Staff
            } else {
                SubjectKind::Citizen
            },
            subject_id: row.try_get("subject_id")?,
            csrf_token: row.try_get("csrf_token")?,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    pub async fn delete_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash(token))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Delete what has expired and can never be used again: sessions, one-time codes older
    /// than a day (kept that long so the hourly send limit still sees them), the rows of phones
    /// that asked for no code for a day, and household invites. Returns how many rows went.
    /// Safe to run from several servers at once.
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = now_ms();
        let mut purged = 0;
        for (sql, before) in [
            ("DELETE FROM sessions WHERE expires_at < $1", now),
            ("DELETE FROM otp_codes WHERE created_at < $1", now - DAY_MS),
            (
                "DELETE FROM otp_phones WHERE last_request_at < $1",
                now - DAY_MS,
            ),
            ("DELETE FROM household_invites WHERE expires_at < $1", now),
        ] {
            purged += sqlx::query(sql)
                .bind(before)
                .execute(&self.write)
                .await?
                .rows_affected();
        }
        // Codes a day past expiry (a scanner reports offline scans up to a day late), in
        // slices so the writer is never held long.
        let codes_before = now / 1000 - crate::code::redemptions::ISSUED_CODE_GRACE_S;
        loop {
            let n = self.code().purge_issued_codes(codes_before, 10_000).await?;
            purged += n;
            if n < 10_000 {
                break;
            }
        }
        Ok(purged)
    }
}
