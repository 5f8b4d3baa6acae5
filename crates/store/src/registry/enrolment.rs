//! Enrolment: a resident whose phone a one-time code proved enrols, in one transaction with
//! their household and consent. The record starts unconfirmed (the real-name step is
//! [`super::identity`]), so an ID number another record already carries is no reason to refuse:
//! the answer never tells a caller who is enrolled, and the village office, seeing the ID card,
//! confirms the one record that is the person.

use crate::registry::citizens::{Enrolled, HouseholdChoice, NewCitizen, SealedCitizen};
use crate::registry::Registry;
use crate::vault::token_hash;
use crate::{now_ms, Result, StoreError};
use domain::{OtpPurpose, Phone};
use sqlx::Row;

/// Proof that whoever asked holds `phone`: they entered, for `purpose`, the code sent to it.
/// Only `Accounts::verify_otp` makes one (its constructor is the store's own), so
/// [`Registry::enrol`], which takes one, can only follow a right code.
#[derive(Debug, Clone)]
pub struct PhoneProof {
    phone: Phone,
    purpose: OtpPurpose,
}

impl PhoneProof {
    pub(crate) fn new(phone: &Phone, purpose: OtpPurpose) -> PhoneProof {
        PhoneProof {
            phone: phone.clone(),
            purpose,
        }
    }

    pub fn phone(&self) -> &Phone {
        &self.phone
    }

    pub fn purpose(&self) -> OtpPurpose {
        self.purpose
    }

    /// A proof without a code, for tests that set up records (never in a server).
    #[cfg(feature = "testing")]
    pub fn assumed_for_tests(phone: &Phone, purpose: OtpPurpose) -> PhoneProof {
        PhoneProof::new(phone, purpose)
    }
}

fn phone_in_use() -> StoreError {
    StoreError::conflict(
        "phone",
        "phone_in_use",
        "this phone is already enrolled: sign in with it, or ask your village office if it is no longer yours",
    )
}

impl Registry<'_> {
    /// What an enrolment needs of the database besides the person: the village exists and a
    /// household invite is valid for it. Reads only public data and the invite (never whether a
    /// phone or an ID number is enrolled), so it runs before a code is sent, the same for anyone.
    pub async fn check_enrolment(&self, new: &NewCitizen) -> Result<()> {
        let mut conn = self.read.acquire().await?;
        check_village(&mut conn, &new.village_id).await?;
        if let HouseholdChoice::Join { invite_code } = &new.household {
            invited_household(&mut conn, invite_code, &new.village_id, now_ms()).await?;
        }
        Ok(())
    }

    /// Enrol the resident whose phone `proof` proves (a code for enrolment, sent to
    /// `new.phone`): checks, household, citizen (unconfirmed) and consent in one transaction.
    /// Any refusal changes nothing. The phone is unique among records; the ID number is not
    /// (see the module's note), so the same work is done whether or not it is enrolled.
    pub async fn enrol(&self, new: &NewCitizen, proof: &PhoneProof) -> Result<Enrolled> {
        if proof.phone() != &new.phone || proof.purpose() != OtpPurpose::Enrol {
            return Err(StoreError::invalid(
                "code",
                "otp_expired",
                "no valid code for this phone; request a new one",
            ));
        }
        let id = domain::new_id();
        let sealed = self.seal_citizen(&id, &new.name, &new.resident_id, &new.phone)?;
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        check_village(&mut tx, &new.village_id).await?;
        let by_phone = sqlx::query("SELECT id FROM citizens WHERE phone_hmac = $1")
            .bind(sealed.phone_hmac.clone());
        if by_phone.fetch_optional(&mut *tx).await?.is_some() {
            // Told only to whoever proved they hold the phone.
            return Err(phone_in_use());
        }
        let household_id = match &new.household {
            HouseholdChoice::New => {
                let hid = domain::new_id();
                sqlx::query("INSERT INTO households (id, village_id, head_citizen_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&hid)
                    .bind(&new.village_id)
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                hid
            }
            HouseholdChoice::Join { invite_code } => {
                let hid = invited_household(&mut tx, invite_code, &new.village_id, now).await?;
                sqlx::query("UPDATE household_invites SET used_at = $1 WHERE code_hash = $2")
                    .bind(now)
                    .bind(token_hash(&invite_code.trim().to_ascii_uppercase()))
                    .execute(&mut *tx)
                    .await?;
                hid
            }
        };
        insert_citizen(&mut tx, &id, &new.village_id, &household_id, &sealed, now).await?;
        sqlx::query("INSERT INTO consents (id, citizen_id, purpose, version, granted_at) VALUES ($1, $2, 'enrolment', $3, $4)")
            .bind(domain::new_id())
            .bind(&id)
            .bind(new.consent.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Enrolled {
            citizen_id: id,
            household_id,
            consent_version: new.consent.as_str().to_string(),
            enrolled_at: now,
        })
    }
}

async fn check_village(conn: &mut sqlx::AnyConnection, village_id: &str) -> Result<()> {
    let level: Option<String> = sqlx::query("SELECT level FROM regions WHERE id = $1")
        .bind(village_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("level"))
        .transpose()?;
    if level.as_deref() == Some("village") {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "village_id",
            "unknown_village",
            "is not a village or community we know",
        ))
    }
}

/// The household a live invite code lets a new member of `village_id` join.
async fn invited_household(
    conn: &mut sqlx::AnyConnection,
    invite_code: &str,
    village_id: &str,
    now: i64,
) -> Result<String> {
    let code = invite_code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return Err(StoreError::invalid(
            "household_invite",
            "household_confirmation_missing",
            "joining a household needs the invite code its head created",
        ));
    }
    let row = sqlx::query(
        "SELECT i.household_id, i.expires_at, i.used_at, h.village_id FROM household_invites i \
         JOIN households h ON h.id = i.household_id WHERE i.code_hash = $1",
    )
    .bind(token_hash(&code))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Err(StoreError::invalid(
            "household_invite",
            "household_invite_unknown",
            "this invite code is not valid; ask the household head for a new one",
        ));
    };
    let used: Option<i64> = row.try_get("used_at")?;
    let expires: i64 = row.try_get("expires_at")?;
    if used.is_some() || expires < now {
        return Err(StoreError::invalid(
            "household_invite",
            "household_invite_expired",
            "this invite code has been used or has expired; ask the household head for a new one",
        ));
    }
    let hv: String = row.try_get("village_id")?;
    if hv != village_id {
        return Err(StoreError::invalid(
            "village_id",
            "household_other_village",
            "the household belongs to another village; choose the household's village",
        ));
    }
    Ok(row.try_get("household_id")?)
}

/// Insert the citizen, unconfirmed. A concurrent enrolment with the same phone that won the
/// race after the pre-check gets the pre-check's answer.
async fn insert_citizen(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    village_id: &str,
    household_id: &str,
    s: &SealedCitizen,
    now: i64,
) -> Result<()> {
    let res = sqlx::query(
        "INSERT INTO citizens (id, village_id, household_id, key_id, name_enc, name_hmac, name_masked, \
         resident_id_enc, resident_id_hmac, resident_id_masked, phone_enc, phone_hmac, phone_masked, enrolled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(id)
    .bind(village_id)
    .bind(household_id)
    .bind(&s.key_id)
    .bind(s.name_enc.clone())
    .bind(s.name_hmac.clone())
    .bind(&s.name_masked)
    .bind(s.resident_id_enc.clone())
    .bind(s.resident_id_hmac.clone())
    .bind(&s.resident_id_masked)
    .bind(s.phone_enc.clone())
    .bind(s.phone_hmac.clone())
    .bind(&s.phone_masked)
    .bind(now)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => Ok(()),
        Err(e) if StoreError::is_unique_violation(&e) => Err(phone_in_use()),
        Err(e) => Err(e.into()),
    }
}
