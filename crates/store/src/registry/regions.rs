//! The region tree: city → town/street → village/community.

use crate::registry::Registry;
use crate::{now_ms, opt_str, Result, StoreError};
use domain::RegionLevel;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Region {
    pub id: String,
    pub parent_id: Option<String>,
    pub level: RegionLevel,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone)]
pub struct NewRegion {
    pub parent_id: Option<String>,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

const COLS: &str = "id, parent_id, level, code, name_zh, name_en";

const VILLAGE_AND_TOWN: &str = "SELECT v.id, v.parent_id, v.level, v.code, v.name_zh, v.name_en, \
     t.id AS t_id, t.parent_id AS t_parent_id, t.level AS t_level, t.code AS t_code, \
     t.name_zh AS t_name_zh, t.name_en AS t_name_en \
     FROM regions v JOIN regions t ON t.id = v.parent_id";

fn region(row: &AnyRow) -> Result<Region> {
    region_at(row, "")
}

/// A region from columns named `{prefix}id`, `{prefix}level`, … (for joins that read two).
fn region_at(row: &AnyRow, prefix: &str) -> Result<Region> {
    let col = |c: &str| format!("{prefix}{c}");
    let level: String = row.try_get(col("level").as_str())?;
    Ok(Region {
        id: row.try_get(col("id").as_str())?,
        parent_id: opt_str(row, &col("parent_id"))?,
        level: RegionLevel::parse(&level)
            .ok_or(StoreError::Crypto("unknown region level in database"))?,
        code: row.try_get(col("code").as_str())?,
        name_zh: row.try_get(col("name_zh").as_str())?,
        name_en: row.try_get(col("name_en").as_str())?,
    })
}

pub const REGION_NAME_CHARS_MAX: usize = 64;

impl Registry<'_> {
    /// Add a region under `parent_id` (a city when there is no parent). The level follows from
    /// the parent; a village cannot have children and there is only one city.
    pub async fn create_region(&self, new: &NewRegion) -> Result<Region> {
        let mut errors = domain::FieldErrors::default();
        let code = new.code.trim();
        if code.is_empty() || code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(domain::FieldError::new(
                "code",
                "region_code_format",
                "must be 1 to 16 digits",
            ));
        }
        for (field, name) in [("name_zh", &new.name_zh), ("name_en", &new.name_en)] {
            let n = name.trim().chars().count();
            if n == 0 || n > REGION_NAME_CHARS_MAX {
                errors.push(domain::FieldError::new(
                    field,
                    "region_name_length",
                    "must be 1 to 64 characters",
                ));
            }
        }
        let level = match &new.parent_id {
            None => {
                let n: i64 =
                    sqlx::query("SELECT COUNT(*) AS n FROM regions WHERE parent_id IS NULL")
                        .fetch_one(&self.read)
                        .await?
                        .try_get("n")?;
                if n > 0 {
                    errors.push(domain::FieldError::new(
                        "parent_id",
                        "region_parent_missing",
                        "a town or village needs a parent region",
                    ));
                }
                RegionLevel::City
            }
            Some(pid) => match self.region(pid).await? {
                None => {
                    errors.push(domain::FieldError::new(
                        "parent_id",
                        "region_parent_unknown",
                        "no such region",
                    ));
                    RegionLevel::Village
                }
                Some(parent) => match parent.level.child() {
                    Some(level) => level,
                    None => {
                        errors.push(domain::FieldError::new(
                            "parent_id",
                            "region_parent_village",
                            "a village cannot contain regions",
                        ));
                        RegionLevel::Village
                    }
                },
            },
        };
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let r = Region {
            id: domain::new_id(),
            parent_id: new.parent_id.clone(),
            level,
            code: code.to_string(),
            name_zh: new.name_zh.trim().to_string(),
            name_en: new.name_en.trim().to_string(),
        };
        let res = sqlx::query(
            "INSERT INTO regions (id, parent_id, level, code, name_zh, name_en, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&r.id)
        .bind(&r.parent_id)
        .bind(r.level.as_str())
        .bind(&r.code)
        .bind(&r.name_zh)
        .bind(&r.name_en)
        .bind(now_ms())
        .execute(&self.write)
        .await;
        match res {
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::conflict(
                "code",
                "region_code_taken",
                "another region already has this code",
            )),
            other => other.map(|_| r).map_err(Into::into),
        }
    }

    pub async fn region(&self, id: &str) -> Result<Option<Region>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM regions WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(region).transpose()
    }

    pub async fn city(&self) -> Result<Option<Region>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM regions WHERE parent_id IS NULL"
        ))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(region).transpose()
    }

    /// Children of a region ordered by code; the city's towns when `parent` is the city.
    pub async fn region_children(&self, parent_id: &str) -> Result<Vec<Region>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM regions WHERE parent_id = $1 ORDER BY code"
        ))
        .bind(parent_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(region).collect()
    }

    /// Every village with its town, ordered by code: the enrolment form's choices.
    pub async fn villages(&self) -> Result<Vec<(Region, Region)>> {
        let rows = sqlx::query(&format!(
            "{VILLAGE_AND_TOWN} WHERE v.level = 'village' ORDER BY v.code"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((region(r)?, region_at(r, "t_")?)))
            .collect()
    }

    /// A village and the town it belongs to, in one query.
    pub async fn village_and_town(&self, village_id: &str) -> Result<(Region, Region)> {
        let row = sqlx::query(&format!(
            "{VILLAGE_AND_TOWN} WHERE v.id = $1 AND v.level = 'village'"
        ))
        .bind(village_id)
        .fetch_optional(&self.read)
        .await?
        .ok_or(StoreError::NotFound { what: "village" })?;
        Ok((region(&row)?, region_at(&row, "t_")?))
    }

    pub async fn region_counts(&self) -> Result<(i64, i64)> {
        let row = sqlx::query(
            "SELECT SUM(CASE WHEN level = 'town' THEN 1 ELSE 0 END) AS towns, \
                    SUM(CASE WHEN level = 'village' THEN 1 ELSE 0 END) AS villages FROM regions",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((
            row.try_get::<Option<i64>, _>("towns")?.unwrap_or(0),
            row.try_get::<Option<i64>, _>("villages")?.unwrap_or(0),
        ))
    }
}
