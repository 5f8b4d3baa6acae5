//! Enterprises: partners of kind `enterprise` the office registers and verifies, each with
//! its first operator's login, in one transaction. The contact person's name and phone are
//! sealed; an expert sees them only through an accepted introduction.

use super::{log, Market};
use crate::vault::hash_password;
use crate::{Result, StoreError};
use domain::{FieldError, FieldErrors, Password, PersonName, Phone, Username};
use serde::Serialize;
use sqlx::Row;

/// An enterprise as the pages show it (no contacts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    pub partner_id: String,
    pub name: String,
    pub credit_code: String,
    pub kind: String,
    pub industry: String,
    pub town_id: String,
    pub town_name: String,
    pub status: String,
    pub verified_at: i64,
}

/// What the broker types to register an enterprise and its first operator.
#[derive(Debug, Clone)]
pub struct NewEnterprise {
    pub name: String,
    pub credit_code: String,
    pub kind: String,
    pub industry: String,
    pub town_id: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub username: String,
    pub password: String,
}

/// The contact person, unsealed for an accepted introduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnterpriseContact {
    pub name: String,
    pub phone: String,
}

const COLS: &str = "e.partner_id, e.name, e.credit_code, e.kind, e.industry, e.town_id, \
    r.name_zh AS town_name, e.status, e.verified_at";

pub(crate) fn enterprise_from_row(r: &sqlx::any::AnyRow) -> Result<Enterprise> {
    Ok(Enterprise {
        partner_id: r.try_get("partner_id")?,
        name: r.try_get("name")?,
        credit_code: r.try_get("credit_code")?,
        kind: r.try_get("kind")?,
        industry: r.try_get("industry")?,
        town_id: r.try_get("town_id")?,
        town_name: r.try_get("town_name")?,
        status: r.try_get("status")?,
        verified_at: r.try_get("verified_at")?,
    })
}

struct Checked {
    name: String,
    credit_code: String,
    kind: &'static str,
    industry: &'static str,
    contact_name: PersonName,
    contact_phone: Phone,
    username: Username,
    password: Password,
}

fn check(new: &NewEnterprise) -> std::result::Result<Checked, FieldErrors> {
    use domain::market::{credit_code, one_of, text, ENTERPRISE_KINDS};
    let mut e = FieldErrors::default();
    let name = e.take(text("name", &new.name, 4, 60));
    let code = e.take(credit_code("credit_code", &new.credit_code));
    let kind = e.take(one_of("kind", &new.kind, &ENTERPRISE_KINDS));
    let industry =
        e.take(domain::market::codes::parse_industry("industry", &new.industry).map(|c| c.code));
    let contact_name = e.take(
        PersonName::parse(&new.contact_name).map_err(|f| FieldError {
            field: "contact_name".into(),
            ..f
        }),
    );
    let contact_phone = e.take(Phone::parse(&new.contact_phone).map_err(|f| FieldError {
        field: "contact_phone".into(),
        ..f
    }));
    let username = e.take(Username::parse(&new.username));
    let password = e.take(Password::parse(&new.password));
    match (
        name,
        code,
        kind,
        industry,
        contact_name,
        contact_phone,
        username,
        password,
    ) {
        (
            Some(name),
            Some(credit_code),
            Some(kind),
            Some(industry),
            Some(contact_name),
            Some(contact_phone),
            Some(username),
            Some(password),
        ) if e.0.is_empty() => Ok(Checked {
            name,
            credit_code,
            kind,
            industry,
            contact_name,
            contact_phone,
            username,
            password,
        }),
        _ => Err(e),
    }
}

impl Market<'_> {
    /// Register and verify an enterprise with its first operator, all or nothing: the
    /// partner, its market record and the login are written in one transaction.
    pub async fn register_enterprise(
        &self,
        new: &NewEnterprise,
        broker_id: &str,
        now: i64,
    ) -> Result<Enterprise> {
        let c = check(new).map_err(StoreError::Invalid)?;
        let town = self.registry().region(&new.town_id).await?;
        if !town
            .as_ref()
            .is_some_and(|t| t.level == domain::RegionLevel::Town)
        {
            return Err(StoreError::invalid(
                "town_id",
                "unknown_town",
                "choose one of the city's towns",
            ));
        }
        let password = c.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(password.expose()))
            .await
            .map_err(|_| StoreError::Crypto("password hashing task failed"))??;
        let id = domain::new_id();
        let v = &self.vault;
        let mut tx = self.write.begin().await?;
        let wrote: Result<()> = async {
            sqlx::query("INSERT INTO partners (id, name, kind, created_at) VALUES ($1, $2, 'enterprise', $3)")
                .bind(&id)
                .bind(&c.name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO market_enterprises (partner_id, name, credit_code, kind, industry, town_id, key_id, contact_name_enc, contact_phone_enc, status, verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'verified', $10, $11)")
                .bind(&id)
                .bind(&c.name)
                .bind(&c.credit_code)
                .bind(c.kind)
                .bind(c.industry)
                .bind(&new.town_id)
                .bind(v.current_key_id())
                .bind(v.seal(&format!("enterprise-contact-name:{id}"), c.contact_name.as_str())?)
                .bind(v.seal(&format!("enterprise-contact-phone:{id}"), c.contact_phone.as_str())?)
                .bind(broker_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO staff (id, username, display_name, password_hash, role, region_id, partner_id, active, created_at) VALUES ($1, $2, $3, $4, 'partner_operator', NULL, $5, 1, $6)")
                .bind(domain::new_id())
                .bind(c.username.as_str())
                .bind(c.contact_name.as_str())
                .bind(&hash)
                .bind(&id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            log(&mut tx, &id, &format!("staff:{broker_id}"), "enterprise_verified", c.kind, now).await
        }
        .await;
        match wrote {
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                let msg = e.to_string();
                return Err(if msg.contains("credit_code") {
                    StoreError::conflict(
                        "credit_code",
                        "enterprise_registered",
                        "an enterprise with this credit code is registered",
                    )
                } else if msg.contains("username") {
                    StoreError::conflict(
                        "username",
                        "username_taken",
                        "another account already has this username",
                    )
                } else {
                    StoreError::conflict(
                        "name",
                        "partner_name_taken",
                        "another partner already has this name",
                    )
                });
            }
            r => r?,
        }
        tx.commit().await?;
        self.enterprise(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "enterprise" })
    }

    pub async fn enterprise(&self, partner_id: &str) -> Result<Option<Enterprise>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM market_enterprises e JOIN regions r ON r.id = e.town_id WHERE e.partner_id = $1"))
            .bind(partner_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(enterprise_from_row).transpose()
    }

    /// Every enterprise, by name.
    pub async fn enterprises(&self) -> Result<Vec<Enterprise>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM market_enterprises e JOIN regions r ON r.id = e.town_id ORDER BY e.name"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(enterprise_from_row).collect()
    }

    /// The verified cooperatives (the only recipients of a consultation that earns points).
    pub async fn cooperatives(&self) -> Result<Vec<Enterprise>> {
        Ok(self
            .enterprises()
            .await?
            .into_iter()
            .filter(|e| e.kind == "cooperative" && e.status == "verified")
            .collect())
    }

    /// Suspend or restore an enterprise (a suspended one cannot publish or ask).
    pub async fn set_enterprise_status(
        &self,
        partner_id: &str,
        status: &str,
        broker_id: &str,
        now: i64,
    ) -> Result<()> {
        let status = domain::market::one_of("status", status, &["verified", "suspended"])
            .map_err(|e| StoreError::Invalid(e.into()))?;
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE market_enterprises SET status = $1 WHERE partner_id = $2")
            .bind(status)
            .bind(partner_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound { what: "enterprise" });
        }
        log(
            &mut tx,
            partner_id,
            &format!("staff:{broker_id}"),
            &format!("enterprise_{status}"),
            "",
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A verified enterprise, or the refusal an operator of a missing or suspended one gets.
    pub(crate) async fn verified(&self, partner_id: &str) -> Result<Enterprise> {
        match self.enterprise(partner_id).await? {
            Some(e) if e.status == "verified" => Ok(e),
            Some(_) => Err(StoreError::conflict(
                "enterprise",
                "enterprise_suspended",
                "the office has suspended this enterprise",
            )),
            None => Err(StoreError::NotFound { what: "enterprise" }),
        }
    }

    pub(crate) fn enterprise_contact_of(
        &self,
        partner_id: &str,
        key_id: &str,
        name: &[u8],
        phone: &[u8],
    ) -> Result<EnterpriseContact> {
        Ok(EnterpriseContact {
            name: self.vault.open(
                key_id,
                &format!("enterprise-contact-name:{partner_id}"),
                name,
            )?,
            phone: self.vault.open(
                key_id,
                &format!("enterprise-contact-phone:{partner_id}"),
                phone,
            )?,
        })
    }
}
