//! Staff accounts, partner organisations and their API keys.

use crate::accounts::Accounts;
use crate::vault::{ct_eq, hash_password, random_bytes, token_hash, verify_password};
use crate::{now_ms, opt_str, Result, StoreError};
use domain::{FieldError, FieldErrors, Password, RegionLevel, Role, Username};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// Scopes an API key can carry. Later capabilities add theirs here.
pub const API_SCOPES: &[&str] = &[
    "regions:read",
    "partner:read",
    "deeds:submit",
    "benefits:redeem",
    "credit:read",
    "loans:write",
];
/// Scopes only a partner of kind `bank` may hold.
pub const BANK_SCOPES: &[&str] = &["credit:read", "loans:write"];
/// The kinds the admin creates. An `enterprise` is registered, with its market record, only by
/// the technology supermarket's office (`market::enterprises`).
pub const PARTNER_KINDS: &[&str] = &[
    "hospital",
    "library",
    "transport",
    "scenic",
    "rental",
    "volunteer_alliance",
    "bank",
    "other",
];

#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub region_id: Option<String>,
    pub partner_id: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: Username,
    pub display_name: String,
    pub password: Password,
    pub role: Role,
    pub region_id: Option<String>,
    pub partner_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub partner_id: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Who an API key speaks for.
#[derive(Debug, Clone)]
pub struct ApiPrincipal {
    pub key_id: String,
    pub partner: Partner,
    pub scopes: Vec<String>,
}

fn staff(row: &AnyRow) -> Result<Staff> {
    let role: String = row.try_get("role")?;
    Ok(Staff {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::parse(&role).map_err(|_| StoreError::Crypto("unknown role in database"))?,
        region_id: opt_str(row, "region_id")?,
        partner_id: opt_str(row, "partner_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

fn partner(row: &AnyRow) -> Result<Partner> {
    Ok(Partner {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
    })
}

const STAFF_COLS: &str = "id, username, display_name, role, region_id, partner_id, active";

/// Argon2id of a random password: compared against when a username is unknown, so that
/// "no such user" and "wrong password" take the same time.
static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

impl Accounts<'_> {
    pub async fn create_staff(&self, new: &NewStaff) -> Result<Staff> {
        let mut errors = FieldErrors::default();
        let display = new.display_name.trim();
        if display.is_empty() || display.chars().count() > 64 {
            errors.push(FieldError::new(
                "display_name",
                "display_name_length",
                "must be 1 to 64 characters",
            ));
        }
        match (new.role.scope_level(), &new.region_id) {
            (Some(level), Some(rid)) => match self.registry().region(rid).await? {
                Some(r) if r.level == level => {}
                _ => errors.push(FieldError::new(
                    "region_id",
                    "staff_region_level",
                    if level == RegionLevel::Village {
                        "an evaluator belongs to a village committee: choose a village"
                    } else {
                        "a town reviewer belongs to a town committee: choose a town"
                    },
                )),
            },
            (Some(_), None) => errors.push(FieldError::new(
                "region_id",
                "staff_region_missing",
                "this role needs a region",
            )),
            (None, Some(_)) => errors.push(FieldError::new(
                "region_id",
                "staff_region_unexpected",
                "this role is city-wide and takes no region",
            )),
            (None, None) => {}
        }
        match (new.role.needs_partner(), &new.partner_id) {
            (true, Some(pid)) if self.partner(pid).await?.is_none() => {
                errors.push(FieldError::new(
                    "partner_id",
                    "partner_unknown",
                    "no such partner organisation",
                ))
            }
            (true, None) => errors.push(FieldError::new(
                "partner_id",
                "staff_partner_missing",
                "a partner operator belongs to a partner organisation",
            )),
            (false, Some(_)) => errors.push(FieldError::new(
                "partner_id",
                "staff_partner_unexpected",
                "only partner operators belong to a partner",
            )),
            _ => {}
        }
        errors.clone().into_result().map_err(StoreError::Invalid)?;
        let password = new.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(password.expose()))
            .await
            .map_err(|_| StoreError::Crypto("password hashing task failed"))??;
        let s = Staff {
            id: domain::new_id(),
            username: new.username.as_str().to_string(),
            display_name: display.to_string(),
            role: new.role,
            region_id: new.region_id.clone(),
            partner_id: new.partner_id.clone(),
            active: true,
        };
        let res = sqlx::query("INSERT INTO staff (id, username, display_name, password_hash, role, region_id, partner_id, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)")
            .bind(&s.id)
            .bind(&s.username)
            .bind(&s.display_name)
            .bind(hash)
            .bind(s.role.as_str())
            .bind(&s.region_id)
            .bind(&s.partner_id)
            .bind(now_ms())
            .execute(&self.write)
            .await;
        match res {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::conflict(
                "username",
                "username_taken",
                "another account already has this username",
            )),
            other => other.map(|_| s).map_err(Into::into),
        }
    }

    pub async fn staff(&self, id: &str) -> Result<Option<Staff>> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(staff).transpose()
    }

    pub async fn staff_by_username(&self, username: &str) -> Result<Option<Staff>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLS} FROM staff WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(staff).transpose()
    }

    pub async fn list_staff(&self) -> Result<Vec<Staff>> {
        let rows = sqlx::query(&format!(
            "SELECT {STAFF_COLS} FROM staff ORDER BY role, username LIMIT 1000"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(staff).collect()
    }

    /// The account when the password matches an active account; `None` otherwise, after the
    /// same amount of hashing work either way.
    pub async fn staff_login(&self, username: &str, password: &str) -> Result<Option<Staff>> {
        let row = sqlx::query(&format!(
            "SELECT {STAFF_COLS}, password_hash FROM staff WHERE username = $1"
        ))
        .bind(username.trim().to_ascii_lowercase())
        .fetch_optional(&self.read)
        .await?;
        let (found, hash) = match &row {
            Some(r) => (Some(staff(r)?), r.try_get::<String, _>("password_hash")?),
            None => (
                None,
                DUMMY_HASH
                    .get_or_init(|| {
                        hash_password(&hex::encode(random_bytes(16))).unwrap_or_default()
                    })
                    .clone(),
            ),
        };
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        Ok(found.filter(|s| ok && s.active))
    }

    pub async fn set_staff_password(&self, username: &Username, password: &Password) -> Result<()> {
        let pw = password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(pw.expose()))
            .await
            .map_err(|_| StoreError::Crypto("password hashing task failed"))??;
        let n = sqlx::query("UPDATE staff SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username.as_str())
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "staff account",
            });
        }
        // A reset ends every session of that account.
        sqlx::query("DELETE FROM sessions WHERE subject_kind = 'staff' AND subject_id IN (SELECT id FROM staff WHERE username = $1)")
            .bind(username.as_str())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn create_partner(&self, name: &str, kind: &str) -> Result<Partner> {
        let mut errors = FieldErrors::default();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            errors.push(FieldError::new(
                "name",
                "partner_name_length",
                "must be 1 to 80 characters",
            ));
        }
        if !PARTNER_KINDS.contains(&kind) {
            errors.push(FieldError::new("kind", "partner_kind_unknown", "must be one of hospital, library, transport, scenic, rental, volunteer_alliance, bank, other"));
        }
        errors.into_result().map_err(StoreError::Invalid)?;
        let p = Partner {
            id: domain::new_id(),
            name: name.to_string(),
            kind: kind.to_string(),
        };
        let res = sqlx::query(
            "INSERT INTO partners (id, name, kind, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&p.id)
        .bind(&p.name)
        .bind(&p.kind)
        .bind(now_ms())
        .execute(&self.write)
        .await;
        match res {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::conflict(
                "name",
                "partner_name_taken",
                "another partner already has this name",
            )),
            other => other.map(|_| p).map_err(Into::into),
        }
    }

    pub async fn partner(&self, id: &str) -> Result<Option<Partner>> {
        let row = sqlx::query("SELECT id, name, kind FROM partners WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(partner).transpose()
    }

    pub async fn list_partners(&self) -> Result<Vec<Partner>> {
        let rows =
            sqlx::query("SELECT id, name, kind FROM partners ORDER BY kind, name LIMIT 1000")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(partner).collect()
    }

    /// Create a key; the returned secret is shown once and only its hash is kept.
    /// Format: `mbk_<prefix>_<secret>`: the prefix finds the row, the secret proves possession.
    pub async fn create_api_key(
        &self,
        partner_id: &str,
        scopes: &[String],
        label: &str,
    ) -> Result<(ApiKey, String)> {
        let mut errors = FieldErrors::default();
        let partner = self.partner(partner_id).await?;
        if partner.is_none() {
            errors.push(FieldError::new(
                "partner_id",
                "partner_unknown",
                "no such partner organisation",
            ));
        }
        let is_bank = partner.as_ref().is_some_and(|p| p.kind == "bank");
        if !is_bank && scopes.iter().any(|s| BANK_SCOPES.contains(&s.as_str())) {
            errors.push(FieldError::new(
                "scopes",
                "scope_for_banks",
                "credit:read and loans:write are for a partner bank's keys only",
            ));
        }
        if scopes.is_empty() {
            errors.push(FieldError::new(
                "scopes",
                "scopes_missing",
                "choose at least one scope",
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| !API_SCOPES.contains(&s.as_str())) {
            errors.push(FieldError::new(
                "scopes",
                "scope_unknown",
                format!(
                    "unknown scope '{}'",
                    bad.chars().take(40).collect::<String>()
                ),
            ));
        }
        let label = label.trim();
        if label.chars().count() > 80 {
            errors.push(FieldError::new(
                "label",
                "label_too_long",
                "must be at most 80 characters",
            ));
        }
        errors.into_result().map_err(StoreError::Invalid)?;
        let prefix = hex::encode(random_bytes(6));
        let secret = hex::encode(random_bytes(24));
        let key = ApiKey {
            id: domain::new_id(),
            partner_id: partner_id.to_string(),
            prefix: prefix.clone(),
            scopes: scopes.to_vec(),
            label: label.to_string(),
            created_at: now_ms(),
            revoked_at: None,
        };
        sqlx::query("INSERT INTO api_keys (id, partner_id, prefix, secret_hash, scopes, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&key.id)
            .bind(&key.partner_id)
            .bind(&prefix)
            .bind(token_hash(&secret))
            .bind(scopes.join(" "))
            .bind(&key.label)
            .bind(key.created_at)
            .execute(&self.write)
            .await?;
        Ok((key, format!("mbk_{prefix}_{secret}")))
    }

    pub async fn list_api_keys(&self, partner_id: &str) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query("SELECT id, partner_id, prefix, scopes, label, created_at, revoked_at FROM api_keys WHERE partner_id = $1 ORDER BY created_at")
            .bind(partner_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let scopes: String = r.try_get("scopes")?;
                Ok(ApiKey {
                    id: r.try_get("id")?,
                    partner_id: r.try_get("partner_id")?,
                    prefix: r.try_get("prefix")?,
                    scopes: scopes.split_whitespace().map(String::from).collect(),
                    label: r.try_get("label")?,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    pub async fn revoke_api_key(&self, partner_id: &str, key_id: &str) -> Result<()> {
        let n = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND partner_id = $3 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(key_id)
            .bind(partner_id)
            .execute(&self.write)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "active API key",
            });
        }
        Ok(())
    }

    /// The principal behind a presented key, if the key is well-formed, known, unrevoked and
    /// its secret matches (compared in constant time).
    pub async fn authenticate_api_key(&self, presented: &str) -> Result<Option<ApiPrincipal>> {
        let mut parts = presented.splitn(3, '_');
        let (Some("mbk"), Some(prefix), Some(secret)) = (parts.next(), parts.next(), parts.next())
        else {
            return Ok(None);
        };
        if prefix.len() != 12 || secret.len() > 128 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT k.id AS key_id, k.secret_hash, k.scopes, p.id, p.name, p.kind FROM api_keys k JOIN partners p ON p.id = k.partner_id \
             WHERE k.prefix = $1 AND k.revoked_at IS NULL",
        )
        .bind(prefix)
        .fetch_optional(&self.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: Vec<u8> = row.try_get("secret_hash")?;
        if !ct_eq(&stored, &token_hash(secret)) {
            return Ok(None);
        }
        let scopes: String = row.try_get("scopes")?;
        Ok(Some(ApiPrincipal {
            key_id: row.try_get("key_id")?,
            partner: partner(&row)?,
            scopes: scopes.split_whitespace().map(String::from).collect(),
        }))
    }
}
