//! The real-name step: a record is confirmed to be the person it names either in person, by a
//! clerk of the village office who saw the ID card (the number and name on the card are typed
//! in and must match the record's keyed hashes, so nothing is unmasked for the clerk), or by an
//! official real-name service the city plugs in. Each confirmation records when, by whom and
//! how, and goes into the resident's access log. At most one record per ID number is ever
//! confirmed (a partial unique index): a second enrolment of the same number stays unconfirmed
//! until the village office resolves it.

use crate::registry::access::{insert_access, Actor};
use crate::registry::Registry;
use crate::{now_ms, Result, StoreError};
use domain::{FieldError, FieldErrors, PersonName, ResidentId};
use serde::Serialize;
use sqlx::Row;

/// Whether and how a record was confirmed to be the person it names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub confirmed: bool,
    pub confirmed_at: Option<i64>,
    /// `in_person`, `verifier` or `existing` (enrolled before the real-name step existed).
    pub method: Option<String>,
}

impl Identity {
    pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Identity> {
        let at: Option<i64> = row.try_get("identity_confirmed_at")?;
        Ok(Identity {
            confirmed: at.is_some(),
            confirmed_at: at,
            method: row.try_get("identity_method")?,
        })
    }
}

/// The access-log action of a confirmation.
pub const IDENTITY_CONFIRMED: &str = "identity_confirmed";

fn confirmed_elsewhere() -> StoreError {
    StoreError::conflict(
        "resident_id",
        "confirmed_elsewhere",
        "another record with this ID number is confirmed already; the city office resolves the duplicate",
    )
}

fn already_confirmed() -> StoreError {
    StoreError::conflict(
        "identity",
        "already_confirmed",
        "this resident's identity is confirmed already",
    )
}

impl Registry<'_> {
    /// A clerk confirms in person that the resident holds the ID card whose name and number
    /// they typed in. Both must match the record; the record must still be unconfirmed and no
    /// other record with the number may be confirmed. Writes who and when on the record and an
    /// `identity_confirmed` line in the resident's access log, in one transaction.
    pub async fn confirm_identity_in_person(
        &self,
        citizen_id: &str,
        card_name: &PersonName,
        card_number: &ResidentId,
        clerk: &Actor,
    ) -> Result<Identity> {
        let mut tx = self.write.begin().await?;
        let row = sqlx::query(
            "SELECT name_hmac, resident_id_hmac, identity_confirmed_at FROM citizens WHERE id = $1",
        )
        .bind(citizen_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound { what: "citizen" })?;
        if row
            .try_get::<Option<i64>, _>("identity_confirmed_at")?
            .is_some()
        {
            return Err(already_confirmed());
        }
        let mut errors = FieldErrors::default();
        let name_hmac: Vec<u8> = row.try_get("name_hmac")?;
        if name_hmac != self.vault.lookup_hash("name", card_name.as_str()) {
            errors.push(FieldError::new(
                "name",
                "identity_mismatch",
                "the name on the ID card is not the name this resident enrolled with",
            ));
        }
        let rid_hmac: Vec<u8> = row.try_get("resident_id_hmac")?;
        if rid_hmac != self.vault.lookup_hash("resident_id", card_number.as_str()) {
            errors.push(FieldError::new(
                "resident_id",
                "identity_mismatch",
                "the number on the ID card is not the number this resident enrolled with",
            ));
        }
        errors.into_result().map_err(StoreError::Invalid)?;
        let now = now_ms();
        mark_confirmed(&mut tx, citizen_id, now, &clerk.id, "in_person").await?;
        insert_access(&mut tx, citizen_id, clerk, IDENTITY_CONFIRMED, now).await?;
        tx.commit().await?;
        Ok(Identity {
            confirmed: true,
            confirmed_at: Some(now),
            method: Some("in_person".into()),
        })
    }

    /// An official real-name service named `verifier` confirmed the record. `false` (and nothing
    /// written) when the record is gone, confirmed already, or another record with its ID
    /// number is confirmed: the village office resolves that one.
    pub async fn confirm_identity_by_verifier(
        &self,
        citizen_id: &str,
        verifier: &str,
    ) -> Result<bool> {
        let actor = Actor {
            kind: "system",
            id: format!("verifier:{verifier}"),
            label: format!("real-name service ({verifier})"),
        };
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        match mark_confirmed(&mut tx, citizen_id, now, &actor.id, "verifier").await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        insert_access(&mut tx, citizen_id, &actor, IDENTITY_CONFIRMED, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// How many other records carry this record's ID number, and how many of them are
    /// confirmed: what the clerk needs to know before confirming, and nothing about them.
    pub async fn same_number_records(&self, citizen_id: &str) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, COUNT(o.identity_confirmed_at) AS confirmed FROM citizens c \
             JOIN citizens o ON o.resident_id_hmac = c.resident_id_hmac AND o.id <> c.id WHERE c.id = $1",
        )
        .bind(citizen_id)
        .fetch_one(&self.read)
        .await?;
        Ok((row.try_get("n")?, row.try_get("confirmed")?))
    }
}

/// Mark an unconfirmed record confirmed; `already_confirmed` or `confirmed_elsewhere` (the
/// partial unique index on confirmed ID numbers) otherwise.
async fn mark_confirmed(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    citizen_id: &str,
    now: i64,
    by: &str,
    method: &str,
) -> Result<()> {
    let res = sqlx::query(
        "UPDATE citizens SET identity_confirmed_at = $1, identity_confirmed_by = $2, identity_method = $3 \
         WHERE id = $4 AND identity_confirmed_at IS NULL",
    )
    .bind(now)
    .bind(by)
    .bind(method)
    .bind(citizen_id)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(r) if r.rows_affected() == 1 => Ok(()),
        Ok(_) => Err(already_confirmed()),
        Err(e) if StoreError::is_unique_violation(&e) => Err(confirmed_elsewhere()),
        Err(e) => Err(e.into()),
    }
}
