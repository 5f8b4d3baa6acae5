//! The expert pool: profiles the office loads from its spreadsheet (city data's
//! `market-experts` kind), contacts sealed; an enrolled resident whose phone is a profile's
//! claims it with the expert consent and then answers introductions and keeps it current.

use super::{lines, log, Market};
use crate::{Result, StoreError};
use domain::market::search::{Availability, ExpertDoc};
use serde::Serialize;
use sqlx::Row;

/// A profile as the pool shows it: no contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expert {
    pub id: String,
    pub code: String,
    pub name: String,
    pub title: String,
    pub institution: String,
    pub discipline: String,
    pub industries: Vec<String>,
    pub keywords: Vec<String>,
    pub summary: String,
    pub region: String,
    pub availability: String,
    pub claimed: bool,
    pub updated_at: i64,
}

/// An expert's contacts, unsealed for an accepted introduction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpertContact {
    pub phone: String,
    pub email: String,
}

pub(crate) const EXPERT_COLS: &str = "x.id, x.code, x.name, x.title, x.institution, x.discipline, \
    x.industries, x.keywords, x.summary, x.region, x.availability, x.citizen_id, x.updated_at";

pub(crate) fn expert_from_row(r: &sqlx::any::AnyRow) -> Result<Expert> {
    let industries: String = r.try_get("industries")?;
    Ok(Expert {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        title: r.try_get("title")?,
        institution: r.try_get("institution")?,
        discipline: r.try_get("discipline")?,
        industries: industries.split_whitespace().map(str::to_string).collect(),
        keywords: lines(&r.try_get::<String, _>("keywords")?),
        summary: r.try_get("summary")?,
        region: r.try_get("region")?,
        availability: r.try_get("availability")?,
        claimed: r.try_get::<Option<String>, _>("citizen_id")?.is_some(),
        updated_at: r.try_get("updated_at")?,
    })
}

/// What an expert may change in their own profile.
#[derive(Debug, Clone)]
pub struct ProfileEdit {
    pub title: String,
    pub institution: String,
    pub keywords: String,
    pub summary: String,
    pub availability: String,
}

impl Market<'_> {
    pub async fn expert(&self, id: &str) -> Result<Option<Expert>> {
        let row = sqlx::query(&format!(
            "SELECT {EXPERT_COLS} FROM market_experts x WHERE x.id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(expert_from_row).transpose()
    }

    /// Several profiles by id (a matching's candidates), in no order.
    pub async fn experts_by_ids(&self, ids: &[String]) -> Result<Vec<Expert>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {EXPERT_COLS} FROM market_experts x WHERE x.id IN ({})",
            crate::sql::in_list(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(expert_from_row)
            .collect()
    }

    /// The broker's list: by number or name (exact), else the newest.
    pub async fn find_experts(&self, query: &str, limit: i64) -> Result<Vec<Expert>> {
        let q = query.trim();
        let rows = if q.is_empty() {
            sqlx::query(&format!(
                "SELECT {EXPERT_COLS} FROM market_experts x ORDER BY x.code LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(&self.read)
            .await?
        } else {
            sqlx::query(&format!("SELECT {EXPERT_COLS} FROM market_experts x WHERE x.code = $1 OR x.name = $2 ORDER BY x.code LIMIT $3"))
                .bind(q.to_ascii_uppercase())
                .bind(q)
                .bind(limit)
                .fetch_all(&self.read)
                .await?
        };
        rows.iter().map(expert_from_row).collect()
    }

    pub async fn expert_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM market_experts")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?)
    }

    /// Every profile as the matching index takes it.
    pub async fn expert_docs(&self) -> Result<Vec<ExpertDoc>> {
        let rows = sqlx::query(&format!(
            "SELECT {EXPERT_COLS} FROM market_experts x ORDER BY x.code"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let x = expert_from_row(r)?;
                Ok(ExpertDoc {
                    availability: Availability::parse(&x.availability)
                        .unwrap_or(Availability::Unavailable),
                    id: x.id,
                    name: x.name,
                    discipline: x.discipline,
                    industries: x.industries,
                    institution: x.institution,
                    title: x.title,
                    keywords: x.keywords,
                    summary: x.summary,
                    region: x.region,
                })
            })
            .collect()
    }

    /// The profile a resident claimed, if any.
    pub async fn expert_of(&self, citizen_id: &str) -> Result<Option<Expert>> {
        let row = sqlx::query(&format!(
            "SELECT {EXPERT_COLS} FROM market_experts x WHERE x.citizen_id = $1"
        ))
        .bind(citizen_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(expert_from_row).transpose()
    }

    /// Unclaimed profiles under the resident's own phone number (only they see these).
    pub async fn claimable(&self, citizen_id: &str) -> Result<Vec<Expert>> {
        let rows = sqlx::query(&format!("SELECT {EXPERT_COLS} FROM market_experts x JOIN citizens c ON c.phone_hmac = x.phone_hmac WHERE c.id = $1 AND x.citizen_id IS NULL ORDER BY x.code"))
            .bind(citizen_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(expert_from_row).collect()
    }

    /// The resident claims a profile under their phone number, agreeing to the expert
    /// consent. A profile is claimed once; a resident holds at most one.
    pub async fn claim_expert(
        &self,
        citizen_id: &str,
        expert_id: &str,
        consent: &str,
        now: i64,
    ) -> Result<Expert> {
        if consent != domain::market::EXPERT_CONSENT_VERSION {
            return Err(StoreError::invalid(
                "consent",
                "consent_required",
                "agree to the expert consent first",
            ));
        }
        let mut tx = self.write.begin().await?;
        let n = sqlx::query("UPDATE market_experts SET citizen_id = $1, consent_version = $2, updated_at = $3 WHERE id = $4 AND citizen_id IS NULL AND phone_hmac = (SELECT phone_hmac FROM citizens WHERE id = $1) AND NOT EXISTS (SELECT 1 FROM market_experts o WHERE o.citizen_id = $1)")
            .bind(citizen_id)
            .bind(consent)
            .bind(now)
            .bind(expert_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "expert profile",
            });
        }
        log(
            &mut tx,
            expert_id,
            &format!("citizen:{citizen_id}"),
            "claimed",
            consent,
            now,
        )
        .await?;
        tx.commit().await?;
        self.expert(expert_id).await?.ok_or(StoreError::NotFound {
            what: "expert profile",
        })
    }

    /// The expert keeps their own profile current (the office's later files leave it be).
    pub async fn edit_profile(
        &self,
        citizen_id: &str,
        edit: &ProfileEdit,
        now: i64,
    ) -> Result<Expert> {
        use domain::market::{keywords, one_of, text};
        let mut e = domain::FieldErrors::default();
        let title = e.take(text("title", &edit.title, 1, 20));
        let institution = e.take(text("institution", &edit.institution, 2, 60));
        let kw = e.take(keywords("keywords", &edit.keywords));
        let summary = e.take(text("summary", &edit.summary, 10, 500));
        let availability = e.take(one_of(
            "availability",
            &edit.availability,
            &["available", "limited", "unavailable"],
        ));
        let (Some(title), Some(institution), Some(kw), Some(summary), Some(availability)) =
            (title, institution, kw, summary, availability)
        else {
            return Err(StoreError::Invalid(e));
        };
        let me = self
            .expert_of(citizen_id)
            .await?
            .ok_or(StoreError::NotFound {
                what: "expert profile",
            })?;
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE market_experts SET title = $1, institution = $2, keywords = $3, summary = $4, availability = $5, updated_at = $6 WHERE id = $7 AND citizen_id = $8")
            .bind(&title)
            .bind(&institution)
            .bind(kw.join("\n"))
            .bind(&summary)
            .bind(availability)
            .bind(now)
            .bind(&me.id)
            .bind(citizen_id)
            .execute(&mut *tx)
            .await?;
        log(
            &mut tx,
            &me.id,
            &format!("citizen:{citizen_id}"),
            "profile_edited",
            availability,
            now,
        )
        .await?;
        tx.commit().await?;
        self.expert(&me.id).await?.ok_or(StoreError::NotFound {
            what: "expert profile",
        })
    }

    pub(crate) fn expert_contact_of(
        &self,
        id: &str,
        key_id: &str,
        phone: &[u8],
        email: &[u8],
    ) -> Result<ExpertContact> {
        Ok(ExpertContact {
            phone: self
                .vault
                .open(key_id, &format!("expert-phone:{id}"), phone)?,
            email: self
                .vault
                .open(key_id, &format!("expert-email:{id}"), email)?,
        })
    }
}

/// One profile from the office's file, checked.
pub(crate) struct PoolRow<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub title: &'a str,
    pub institution: &'a str,
    pub discipline: &'a str,
    pub industries: String,
    pub keywords: Vec<String>,
    pub summary: &'a str,
    pub area: &'a str,
    pub availability: &'a str,
    pub phone: domain::Phone,
    pub email: &'a str,
    pub consent_on: &'a str,
}

/// Insert or update a profile from the office's file, in the import's transaction: `new`,
/// `updated`, `unchanged`, or `kept_claimed` (a claimed profile is its expert's).
pub(crate) async fn upsert_from_file(
    m: &Market<'_>,
    tx: &mut sqlx::AnyConnection,
    row: &PoolRow<'_>,
    import_id: &str,
    now: i64,
) -> Result<(String, &'static str)> {
    let existing = sqlx::query("SELECT id, citizen_id, name, title, institution, discipline, industries, keywords, summary, region, availability, consent_on, key_id, email_enc, phone_hmac FROM market_experts WHERE code = $1")
        .bind(row.code)
        .fetch_optional(&mut *tx)
        .await?;
    let keywords = row.keywords.join("\n");
    let v = &m.vault;
    let Some(ex) = existing else {
        let id = domain::new_id();
        sqlx::query("INSERT INTO market_experts (id, code, name, title, institution, discipline, industries, keywords, summary, region, availability, key_id, phone_enc, email_enc, phone_hmac, consent_source, consent_on, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)")
            .bind(&id)
            .bind(row.code)
            .bind(row.name)
            .bind(row.title)
            .bind(row.institution)
            .bind(row.discipline)
            .bind(&row.industries)
            .bind(&keywords)
            .bind(row.summary)
            .bind(row.area)
            .bind(row.availability)
            .bind(v.current_key_id())
            .bind(v.seal(&format!("expert-phone:{id}"), row.phone.as_str())?)
            .bind(v.seal(&format!("expert-email:{id}"), row.email)?)
            .bind(v.lookup_hash("phone", row.phone.as_str()))
            .bind(format!("import:{import_id}"))
            .bind(row.consent_on)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        return Ok((id, "new"));
    };
    let id: String = ex.try_get("id")?;
    if ex.try_get::<Option<String>, _>("citizen_id")?.is_some() {
        return Ok((id, "kept_claimed"));
    }
    let same_text = [
        ("name", row.name),
        ("title", row.title),
        ("institution", row.institution),
        ("discipline", row.discipline),
        ("industries", row.industries.as_str()),
        ("keywords", keywords.as_str()),
        ("summary", row.summary),
        ("region", row.area),
        ("availability", row.availability),
        ("consent_on", row.consent_on),
    ]
    .iter()
    .all(|(col, val)| ex.try_get::<String, _>(*col).is_ok_and(|s| s == *val));
    // The contacts compared without sealing anew: the phone by its keyed hash, the e-mail
    // opened. A file sent again writes nothing.
    let same = same_text
        && ex.try_get::<Vec<u8>, _>("phone_hmac")? == v.lookup_hash("phone", row.phone.as_str())
        && v.open(
            &ex.try_get::<String, _>("key_id")?,
            &format!("expert-email:{id}"),
            &ex.try_get::<Vec<u8>, _>("email_enc")?,
        )? == row.email;
    if same {
        return Ok((id, "unchanged"));
    }
    sqlx::query("UPDATE market_experts SET name = $1, title = $2, institution = $3, discipline = $4, industries = $5, keywords = $6, summary = $7, region = $8, availability = $9, key_id = $10, phone_enc = $11, email_enc = $12, phone_hmac = $13, consent_source = $14, consent_on = $15, updated_at = $16 WHERE id = $17")
        .bind(row.name)
        .bind(row.title)
        .bind(row.institution)
        .bind(row.discipline)
        .bind(&row.industries)
        .bind(&keywords)
        .bind(row.summary)
        .bind(row.area)
        .bind(row.availability)
        .bind(v.current_key_id())
        .bind(v.seal(&format!("expert-phone:{id}"), row.phone.as_str())?)
        .bind(v.seal(&format!("expert-email:{id}"), row.email)?)
        .bind(v.lookup_hash("phone", row.phone.as_str()))
        .bind(format!("import:{import_id}"))
        .bind(row.consent_on)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    Ok((id, "updated"))
}
