//! Sessions and one-time sign-in codes.

use crate::accounts::Accounts;
use crate::vault::{ct_eq, random_token, token_hash};
use crate::{now_ms, Result, StoreError};
use domain::time::{DAY_MS, HOUR_MS};
use domain::{OtpCode, Phone};
use rand::Rng;
use sqlx::Row;

/// A code lives this long.
pub const OTP_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong guesses allowed on one code before it is dead.
pub const OTP_ATTEMPTS_MAX: i64 = 5;
/// Codes one phone may be sent per hour, and the gap between two sends.
pub const OTP_PER_HOUR_MAX: i64 = 5;
pub const OTP_RESEND_GAP_MS: i64 = 60 * 1000;

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

/// A freshly issued code, to hand to the sender. Never logged.
pub struct OtpIssued {
    pub code: OtpCode,
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

    fn otp_hash(&self, phone: &Phone, code: &OtpCode) -> Vec<u8> {
        self.vault
            .lookup_hash("otp", &format!("{}:{}", phone.as_str(), code.as_str()))
    }

    /// Issue a code for a phone, within the send limits. The caller decides whether to send it
    /// (only to enrolled phones) but the limits count every request, so probing is slow too.
    pub async fn issue_otp(&self, phone: &Phone) -> Result<OtpIssued> {
        let now = now_ms();
        let ph = self.vault.lookup_hash("phone", phone.as_str());
        let row = sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(created_at), 0) AS last FROM otp_codes WHERE phone_hmac = $1 AND created_at > $2")
            .bind(ph.clone())
            .bind(now - HOUR_MS)
            .fetch_one(&self.read)
            .await?;
        let (n, last): (i64, i64) = (row.try_get("n")?, row.try_get("last")?);
        if n >= OTP_PER_HOUR_MAX {
            return Err(StoreError::RateLimited {
                retry_after_s: 3600,
            });
        }
        if last + OTP_RESEND_GAP_MS > now {
            return Err(StoreError::RateLimited {
                retry_after_s: ((last + OTP_RESEND_GAP_MS - now) / 1000 + 1) as u64,
            });
        }
        let code = OtpCode::parse(&format!(
            "{:06}",
            rand::thread_rng().gen_range(0..1_000_000)
        ))
        .map_err(|_| StoreError::Crypto("code generation"))?;
        sqlx::query("INSERT INTO otp_codes (id, phone_hmac, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(domain::new_id())
            .bind(ph)
            .bind(self.otp_hash(phone, &code))
            .bind(now)
            .bind(now + OTP_TTL_MS)
            .execute(&self.write)
            .await?;
        Ok(OtpIssued {
            code,
            expires_at: now + OTP_TTL_MS,
        })
    }

    /// Check a code against the newest live code for the phone; a match uses it up, a miss
    /// counts an attempt. Errors name the field `code`.
    pub async fn verify_otp(&self, phone: &Phone, code: &OtpCode) -> Result<()> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "SELECT id, code_hash, attempts FROM otp_codes WHERE phone_hmac = $1 AND used_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC LIMIT 1",
        )
        .bind(self.vault.lookup_hash("phone", phone.as_str()))
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::invalid(
                "code",
                "otp_expired",
                "no valid code for this phone; request a new one",
            ));
        };
        let id: String = row.try_get("id")?;
        let attempts: i64 = row.try_get("attempts")?;
        if attempts >= OTP_ATTEMPTS_MAX {
            return Err(StoreError::invalid(
                "code",
                "otp_attempts",
                "too many wrong codes; request a new one",
            ));
        }
        let stored: Vec<u8> = row.try_get("code_hash")?;
        if ct_eq(&stored, &self.otp_hash(phone, code)) {
            sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        } else {
            sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Err(StoreError::invalid(
                "code",
                "otp_wrong",
                "this code is not right; check the message and try again",
            ))
        }
    }

    /// Delete what has expired and can never be used again: sessions, one-time codes older
    /// than a day (kept that long so the hourly send limit still sees them) and household
    /// invites. Returns how many rows went. Safe to run from several servers at once.
    pub async fn purge_expired(&self) -> Result<u64> {
        let now = now_ms();
        let mut purged = 0;
        for (sql, before) in [
            ("DELETE FROM sessions WHERE expires_at < $1", now),
            ("DELETE FROM otp_codes WHERE created_at < $1", now - DAY_MS),
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
