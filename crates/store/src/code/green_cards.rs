//! Moral green cards (道德绿卡): the admin issues one to a recognised good person, with an
//! honour, a citation, a card number and a validity; revoking needs a reason and is recorded.

use crate::code::Code;
use crate::{Result, StoreError};
use domain::{FieldError, FieldErrors};
use serde::Serialize;
use sqlx::Row;

/// The honours' codes, in the order of `domain::citydata::kinds::HONOURS` (which names them).
pub fn honours() -> Vec<&'static str> {
    domain::citydata::kinds::HONOURS
        .iter()
        .map(|(code, _)| *code)
        .collect()
}

/// The badge an active card puts on the resident's code.
pub const BADGE: &str = "green-card";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GreenCard {
    pub id: String,
    pub citizen_id: String,
    pub citizen_name_masked: String,
    pub card_no: String,
    pub honour: String,
    pub citation: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
}

impl GreenCard {
    pub fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.valid_from <= now && now < self.valid_until
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GreenCardStats {
    pub issued: i64,
    pub active: i64,
    pub revoked: i64,
}

const COLUMNS: &str =
    "g.id, g.citizen_id, c.name_masked, g.card_no, g.honour, g.citation, g.valid_from, \
    g.valid_until, g.issued_at, g.revoked_at, g.revoke_reason";

fn card(r: &sqlx::any::AnyRow) -> Result<GreenCard> {
    Ok(GreenCard {
        id: r.try_get("id")?,
        citizen_id: r.try_get("citizen_id")?,
        citizen_name_masked: r
            .try_get::<Option<String>, _>("name_masked")?
            .unwrap_or_default(),
        card_no: r.try_get("card_no")?,
        honour: r.try_get("honour")?,
        citation: r.try_get("citation")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        issued_at: r.try_get("issued_at")?,
        revoked_at: r.try_get("revoked_at")?,
        revoke_reason: r.try_get("revoke_reason")?,
    })
}

impl Code<'_> {
    /// Issue a card valid from `now` until `valid_until`; the number is `GC<year>-<serial>`.
    pub async fn issue_green_card(
        &self,
        citizen_id: &str,
        honour: &str,
        citation: &str,
        valid_until: i64,
        by: &str,
        now: i64,
    ) -> Result<GreenCard> {
        let mut errs = FieldErrors::default();
        let honours = honours();
        if !honours.contains(&honour) {
            errs.push(FieldError::new(
                "honour",
                "invalid_choice",
                honours.join(", "),
            ));
        }
        let citation = errs.take(domain::deed::text("citation", citation, 500));
        if valid_until <= now {
            errs.push(FieldError::new(
                "valid_until",
                "in_past",
                "must be after today",
            ));
        }
        if self.registry().citizen_summary(citizen_id).await?.is_none() {
            errs.push(FieldError::new(
                "citizen_id",
                "unknown_citizen",
                "no enrolled resident has this id",
            ));
        }
        errs.into_result().map_err(StoreError::Invalid)?;
        let citation = citation.unwrap_or_default();
        let mut tx = self.write.begin().await?;
        let id =
            insert_green_card(&mut tx, citizen_id, honour, &citation, valid_until, by, now).await?;
        tx.commit().await?;
        self.green_card(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "green card" })
    }

    pub async fn green_card(&self, id: &str) -> Result<Option<GreenCard>> {
        let sql = format!("SELECT {COLUMNS} FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id WHERE g.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(card).transpose()
    }

    /// Revoke a card, with the reason; a card is revoked once.
    pub async fn revoke_green_card(
        &self,
        id: &str,
        reason: &str,
        by: &str,
        now: i64,
    ) -> Result<GreenCard> {
        let reason =
            domain::deed::text("reason", reason, 500).map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query(
            "UPDATE green_cards SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(by)
        .bind(&reason)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            // The holder is told, in the same transaction as the revocation.
            let holder: String = sqlx::query("SELECT citizen_id FROM green_cards WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get("citizen_id")?;
            crate::notices::notify_citizen(&mut tx, &holder, "green_card_revoked", now).await?;
        }
        tx.commit().await?;
        let card = self
            .green_card(id)
            .await?
            .ok_or(StoreError::NotFound { what: "green card" })?;
        if n == 0 {
            return Err(StoreError::conflict(
                "id",
                "already_revoked",
                "this card was already revoked",
            ));
        }
        Ok(card)
    }

    /// A resident's own cards, newest first (their code page shows them, revoked ones with
    /// the reason).
    pub async fn citizen_green_cards(&self, citizen_id: &str) -> Result<Vec<GreenCard>> {
        let sql = format!("SELECT {COLUMNS} FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id WHERE g.citizen_id = $1 ORDER BY g.issued_at DESC, g.id LIMIT 20");
        sqlx::query(&sql)
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(card)
            .collect()
    }

    /// Cards, newest first.
    pub async fn green_cards(&self, limit: i64) -> Result<Vec<GreenCard>> {
        let sql = format!("SELECT {COLUMNS} FROM green_cards g LEFT JOIN citizens c ON c.id = g.citizen_id ORDER BY g.issued_at DESC, g.id LIMIT $1");
        sqlx::query(&sql)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(card)
            .collect()
    }

    /// What the reports count: cards issued, active now, revoked.
    pub async fn green_card_stats(&self, now: i64) -> Result<GreenCardStats> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS issued, \
               CAST(COALESCE(SUM(CASE WHEN revoked_at IS NULL AND valid_from <= $1 AND valid_until > $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS active, \
               CAST(COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS revoked FROM green_cards",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(GreenCardStats {
            issued: r.try_get("issued")?,
            active: r.try_get("active")?,
            revoked: r.try_get("revoked")?,
        })
    }

    /// The badges a resident's code carries now.
    pub async fn badges(&self, citizen_id: &str, now: i64) -> Result<Vec<String>> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM green_cards WHERE citizen_id = $1 AND revoked_at IS NULL AND valid_from <= $2 AND valid_until > $2",
        )
        .bind(citizen_id)
        .bind(now)
        .fetch_one(&self.read)
        .await?
        .try_get("n")?;
        Ok(if n > 0 {
            vec![BADGE.to_string()]
        } else {
            vec![]
        })
    }
}

/// Write a checked card in the caller's transaction, numbered `GC<year>-<serial>`; returns its
/// id. One implementation for the admin's card and an honour list's rows.
pub(crate) async fn insert_green_card(
    tx: &mut sqlx::AnyConnection,
    citizen_id: &str,
    honour: &str,
    citation: &str,
    valid_until: i64,
    by: &str,
    now: i64,
) -> Result<String> {
    let year = &crate::day_of(now)[..4];
    let serial: i64 = sqlx::query("SELECT COUNT(*) AS n FROM green_cards WHERE card_no LIKE $1")
        .bind(format!("GC{year}-%"))
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
    let id = domain::new_id();
    let res = sqlx::query(
        "INSERT INTO green_cards (id, citizen_id, card_no, honour, citation, valid_from, valid_until, issued_by, issued_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6)",
    )
    .bind(&id)
    .bind(citizen_id)
    .bind(format!("GC{year}-{:06}", serial + 1))
    .bind(honour)
    .bind(citation)
    .bind(now)
    .bind(valid_until)
    .bind(by)
    .execute(&mut *tx)
    .await;
    if let Err(e) = res {
        if StoreError::is_unique_violation(&e) {
            return Err(StoreError::conflict(
                "card_no",
                "issued_meanwhile",
                "another card was issued at the same moment; try again",
            ));
        }
        return Err(e.into());
    }
    // The holder is told, in the same transaction (the admin's card and an honour list's).
    crate::notices::notify_citizen(tx, citizen_id, "green_card_issued", now).await?;
    Ok(id)
}

/// The resident's active card of `honour`, if any.
pub(crate) async fn active_card(
    tx: &mut sqlx::AnyConnection,
    citizen_id: &str,
    honour: &str,
    now: i64,
) -> Result<Option<String>> {
    Ok(sqlx::query(
        "SELECT id FROM green_cards WHERE citizen_id = $1 AND honour = $2 AND revoked_at IS NULL AND valid_until > $3 \
         ORDER BY issued_at LIMIT 1",
    )
    .bind(citizen_id)
    .bind(honour)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.try_get("id"))
    .transpose()?)
}
