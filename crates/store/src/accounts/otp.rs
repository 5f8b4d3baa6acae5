//! One-time codes that prove a phone: for signing in or for enrolling. Codes are issued to any
//! well-formed phone, enrolled or not (the caller must not learn which), within per-phone limits
//! that hold under concurrent requests on any number of servers; a right code proves the phone
//! for its purpose once (a [`PhoneProof`], which enrolment takes).

use crate::accounts::Accounts;
use crate::registry::PhoneProof;
use crate::vault::ct_eq;
use crate::{now_ms, Result, StoreError};
use domain::time::HOUR_MS;
use domain::{OtpCode, OtpPurpose, Phone};
use rand::Rng;
use sqlx::Row;

/// A code lives this long.
pub const OTP_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong guesses allowed on one code before it is dead.
pub const OTP_ATTEMPTS_MAX: i64 = 5;
/// Codes one phone may be sent per hour (whatever their purpose), and the gap between two sends.
pub const OTP_PER_HOUR_MAX: i64 = 5;
pub const OTP_RESEND_GAP_MS: i64 = 60 * 1000;

/// A freshly issued code, to hand to the sender. Never logged.
pub struct OtpIssued {
    pub code: OtpCode,
    pub expires_at: i64,
}

impl Accounts<'_> {
    fn otp_hash(&self, phone: &Phone, code: &OtpCode) -> Vec<u8> {
        self.vault
            .lookup_hash("otp", &format!("{}:{}", phone.as_str(), code.as_str()))
    }

    /// Issue a code for a phone, within the send limits. Every phone is treated alike, enrolled
    /// or not: the same statements run, and the caller sends every code it is given.
    ///
    /// The limits are counted in one transaction that first upserts the phone's row in
    /// `otp_phones`: that row's lock (on SQLite, the one writer) makes concurrent requests for one
    /// phone take turns, so each sees the codes the others issued (PostgreSQL reads them with a
    /// fresh snapshot per statement once the lock is its own).
    pub async fn issue_otp(&self, phone: &Phone, purpose: OtpPurpose) -> Result<OtpIssued> {
        let code = OtpCode::parse(&format!(
            "{:06}",
            rand::thread_rng().gen_range(0..1_000_000)
        ))
        .map_err(|_| StoreError::Crypto("code generation"))?;
        let code_hash = self.otp_hash(phone, &code);
        let ph = self.vault.lookup_hash("phone", phone.as_str());
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO otp_phones (phone_hmac, last_request_at) VALUES ($1, $2) \
             ON CONFLICT (phone_hmac) DO UPDATE SET last_request_at = excluded.last_request_at",
        )
        .bind(ph.clone())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(created_at), 0) AS last FROM otp_codes WHERE phone_hmac = $1 AND created_at > $2")
            .bind(ph.clone())
            .bind(now - HOUR_MS)
            .fetch_one(&mut *tx)
            .await?;
        let (n, last): (i64, i64) = (row.try_get("n")?, row.try_get("last")?);
        if let Some(retry_after_s) = wait_before_next(n, last, now) {
            // Nothing is written: the rollback undoes the upsert too.
            return Err(StoreError::RateLimited { retry_after_s });
        }
        sqlx::query("INSERT INTO otp_codes (id, phone_hmac, code_hash, created_at, expires_at, purpose) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(domain::new_id())
            .bind(ph)
            .bind(code_hash)
            .bind(now)
            .bind(now + OTP_TTL_MS)
            .bind(purpose.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(OtpIssued {
            code,
            expires_at: now + OTP_TTL_MS,
        })
    }

    /// Check a code against the newest live code of `purpose` for the phone; a match uses it
    /// up and proves the phone, a miss counts an attempt. Errors name the field `code`.
    pub async fn verify_otp(
        &self,
        phone: &Phone,
        code: &OtpCode,
        purpose: OtpPurpose,
    ) -> Result<PhoneProof> {
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "SELECT id, code_hash, attempts FROM otp_codes WHERE phone_hmac = $1 AND purpose = $2 \
             AND used_at IS NULL AND expires_at > $3 ORDER BY created_at DESC LIMIT 1",
        )
        .bind(self.vault.lookup_hash("phone", phone.as_str()))
        .bind(purpose.as_str())
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
            sqlx::query("UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                .bind(now)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(PhoneProof::new(phone, purpose))
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
}

/// How long a phone that was sent `sent` codes in the last hour, the newest at `last`, must
/// wait before the next one; `None` when it may have one now.
fn wait_before_next(sent: i64, last: i64, now: i64) -> Option<u64> {
    let secs = |ms: i64| u64::try_from(ms / 1000 + 1).unwrap_or(1);
    if last + OTP_RESEND_GAP_MS > now {
        Some(secs(last + OTP_RESEND_GAP_MS - now))
    } else if sent >= OTP_PER_HOUR_MAX {
        Some(3600)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gap_comes_before_the_hourly_count() {
        assert_eq!(wait_before_next(0, 0, 1_000_000), None);
        assert_eq!(wait_before_next(1, 1_000_000, 1_000_000), Some(61));
        assert_eq!(wait_before_next(1, 1_000_000, 1_059_500), Some(1));
        assert_eq!(wait_before_next(4, 1_000_000, 1_060_000), None);
        assert_eq!(wait_before_next(5, 1_000_000, 1_060_000), Some(3600));
    }
}
