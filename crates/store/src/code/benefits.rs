//! Service scenes and benefits: what a tier or a badge opens, with which partner, and on which
//! terms (eligibility only, a quota per period, or a points cost).

use crate::code::Code;
use crate::{now_ms, Result, StoreError};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// The five scenes of the original programme.
pub const DEFAULT_SCENES: [(&str, &str, &str); 5] = [
    ("medical", "道德医", "Moral medical care"),
    ("rental", "道德租", "Moral rental"),
    ("reading", "道德阅", "Moral reading"),
    ("tourism", "道德游", "Moral tourism"),
    ("transport", "道德行", "Moral transport"),
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scene {
    pub id: String,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBenefit {
    pub scene: String,
    pub partner_id: String,
    pub name_zh: String,
    pub name_en: String,
    pub description_zh: String,
    pub description_en: String,
    pub min_tier: i64,
    #[serde(default)]
    pub badge: Option<String>,
    pub kind: String,
    #[serde(default)]
    pub quota: Option<i64>,
    #[serde(default)]
    pub quota_period: Option<String>,
    #[serde(default)]
    pub points_cost: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Benefit {
    pub id: String,
    pub scene: Scene,
    pub partner_id: String,
    pub partner_name: String,
    pub name_zh: String,
    pub name_en: String,
    pub description_zh: String,
    pub description_en: String,
    pub min_tier: i64,
    pub badge: Option<String>,
    pub kind: String,
    pub quota: Option<i64>,
    pub quota_period: Option<String>,
    pub points_cost: Option<i64>,
    pub active: bool,
}

impl Benefit {
    /// Does a holder of `tier` with `badges` meet the condition?
    pub fn open_to(&self, tier: i64, badges: &[String]) -> bool {
        tier >= self.min_tier && self.badge.as_ref().is_none_or(|b| badges.contains(b))
    }
}

impl NewBenefit {
    fn check(&self) -> std::result::Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        for (field, v, max) in [
            ("name_zh", &self.name_zh, 60),
            ("name_en", &self.name_en, 60),
            ("description_zh", &self.description_zh, 500),
            ("description_en", &self.description_en, 500),
        ] {
            if let Err(err) = domain::deed::text(field, v, max) {
                e.push(err);
            }
        }
        if !(1..=10).contains(&self.min_tier) {
            e.push(FieldError::new("min_tier", "out_of_range", "1 to 10"));
        }
        if self.badge.as_deref().is_some_and(|b| {
            b.is_empty() || b.len() > 24 || !b.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
        }) {
            e.push(FieldError::new(
                "badge",
                "invalid_format",
                "a badge id such as green-card",
            ));
        }
        match self.kind.as_str() {
            "eligibility" => {
                if self.quota.is_some() || self.quota_period.is_some() || self.points_cost.is_some()
                {
                    e.push(FieldError::new(
                        "kind",
                        "inconsistent",
                        "an eligibility benefit has no quota and no points cost",
                    ));
                }
            }
            "quota" => {
                if !self.quota.is_some_and(|q| (1..=365).contains(&q)) {
                    e.push(FieldError::new(
                        "quota",
                        "out_of_range",
                        "1 to 365 per period",
                    ));
                }
                if !matches!(self.quota_period.as_deref(), Some("month" | "year")) {
                    e.push(FieldError::new(
                        "quota_period",
                        "invalid_choice",
                        "month or year",
                    ));
                }
                if self.points_cost.is_some() {
                    e.push(FieldError::new(
                        "points_cost",
                        "not_allowed",
                        "a quota benefit costs no points",
                    ));
                }
            }
            "points" => {
                if !self.points_cost.is_some_and(|p| (1..=10_000).contains(&p)) {
                    e.push(FieldError::new(
                        "points_cost",
                        "out_of_range",
                        "1 to 10000 points",
                    ));
                }
                if self.quota.is_some() || self.quota_period.is_some() {
                    e.push(FieldError::new(
                        "quota",
                        "not_allowed",
                        "a points benefit has no quota",
                    ));
                }
            }
            _ => e.push(FieldError::new(
                "kind",
                "invalid_choice",
                "eligibility, quota or points",
            )),
        }
        e.into_result()
    }
}

const BENEFIT_COLUMNS: &str = "b.id, b.partner_id, p.name AS partner_name, b.name_zh, b.name_en, b.description_zh, \
    b.description_en, b.min_tier, b.badge, b.kind, b.quota, b.quota_period, b.points_cost, b.active, \
    s.id AS scene_id, s.code AS scene_code, s.name_zh AS scene_zh, s.name_en AS scene_en";

fn benefit(r: &sqlx::any::AnyRow) -> Result<Benefit> {
    Ok(Benefit {
        id: r.try_get("id")?,
        scene: Scene {
            id: r.try_get("scene_id")?,
            code: r.try_get("scene_code")?,
            name_zh: r.try_get("scene_zh")?,
            name_en: r.try_get("scene_en")?,
        },
        partner_id: r.try_get("partner_id")?,
        partner_name: r.try_get("partner_name")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        description_zh: r.try_get("description_zh")?,
        description_en: r.try_get("description_en")?,
        min_tier: r.try_get("min_tier")?,
        badge: r.try_get("badge")?,
        kind: r.try_get("kind")?,
        quota: r.try_get("quota")?,
        quota_period: r.try_get("quota_period")?,
        points_cost: r.try_get("points_cost")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

impl Code<'_> {
    pub async fn scenes(&self) -> Result<Vec<Scene>> {
        sqlx::query("SELECT id, code, name_zh, name_en FROM scenes ORDER BY created_at, code")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(Scene {
                    id: r.try_get("id")?,
                    code: r.try_get("code")?,
                    name_zh: r.try_get("name_zh")?,
                    name_en: r.try_get("name_en")?,
                })
            })
            .collect()
    }

    /// Add a scene; its code is its stable name (a-z and '-').
    pub async fn create_scene(&self, code: &str, name_zh: &str, name_en: &str) -> Result<Scene> {
        let mut e = FieldErrors::default();
        if code.is_empty()
            || code.len() > 30
            || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        {
            e.push(FieldError::new(
                "code",
                "invalid_format",
                "1 to 30 of a-z and '-'",
            ));
        }
        let zh = e.take(domain::deed::text("name_zh", name_zh, 30));
        let en = e.take(domain::deed::text("name_en", name_en, 60));
        e.into_result().map_err(StoreError::Invalid)?;
        let id = domain::new_id();
        let res = sqlx::query("INSERT INTO scenes (id, code, name_zh, name_en, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(code)
            .bind(zh.unwrap_or_default())
            .bind(en.unwrap_or_default())
            .bind(now_ms())
            .execute(&self.write)
            .await;
        match res {
            Err(err) if StoreError::is_unique_violation(&err) => Err(StoreError::conflict(
                "code",
                "scene_exists",
                "a scene with this code exists",
            )),
            Err(err) => Err(err.into()),
            Ok(_) => Ok(self
                .scenes()
                .await?
                .into_iter()
                .find(|s| s.id == id)
                .ok_or(StoreError::NotFound { what: "scene" })?),
        }
    }

    /// Seed the five scenes of the programme when there are none.
    pub async fn ensure_default_scenes(&self) -> Result<usize> {
        if !self.scenes().await?.is_empty() {
            return Ok(0);
        }
        for (code, zh, en) in DEFAULT_SCENES {
            self.create_scene(code, zh, en).await?;
        }
        Ok(DEFAULT_SCENES.len())
    }

    pub async fn create_benefit(&self, new: &NewBenefit) -> Result<Benefit> {
        new.check().map_err(StoreError::Invalid)?;
        let scene = self
            .scenes()
            .await?
            .into_iter()
            .find(|s| s.code == new.scene)
            .ok_or_else(|| {
                StoreError::invalid("scene", "unknown_scene", "no scene has this code")
            })?;
        if self.accounts().partner(&new.partner_id).await?.is_none() {
            return Err(StoreError::invalid(
                "partner_id",
                "unknown_partner",
                "no partner has this id",
            ));
        }
        let id = domain::new_id();
        sqlx::query(
            "INSERT INTO benefits (id, scene_id, partner_id, name_zh, name_en, description_zh, description_en, min_tier, badge, kind, \
             quota, quota_period, points_cost, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14)",
        )
        .bind(&id)
        .bind(&scene.id)
        .bind(&new.partner_id)
        .bind(new.name_zh.trim())
        .bind(new.name_en.trim())
        .bind(new.description_zh.trim())
        .bind(new.description_en.trim())
        .bind(new.min_tier)
        .bind(new.badge.as_deref())
        .bind(&new.kind)
        .bind(new.quota)
        .bind(new.quota_period.as_deref())
        .bind(new.points_cost)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        self.benefit(&id)
            .await?
            .ok_or(StoreError::NotFound { what: "benefit" })
    }

    pub async fn benefit(&self, id: &str) -> Result<Option<Benefit>> {
        let sql = format!("SELECT {BENEFIT_COLUMNS} FROM benefits b JOIN scenes s ON s.id = b.scene_id JOIN partners p ON p.id = b.partner_id WHERE b.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(benefit).transpose()
    }

    /// What a redemption reads, in one statement (one round trip to the database on the hot
    /// path): the benefit, whose code `code_id` is (while the server remembers), and whether
    /// redemption idempotency key `idem` was already used. `None` when there is no such benefit.
    pub(crate) async fn benefit_for_redemption(
        &self,
        id: &str,
        code_id: &str,
        idem: &str,
    ) -> Result<Option<(Benefit, Option<String>, bool)>> {
        let sql = format!(
            "SELECT {BENEFIT_COLUMNS}, \
             (SELECT citizen_id FROM issued_codes WHERE code_id = $2) AS holder, \
             (SELECT COUNT(*) FROM redemptions WHERE idem_key = $3) AS key_used \
             FROM benefits b JOIN scenes s ON s.id = b.scene_id JOIN partners p ON p.id = b.partner_id WHERE b.id = $1"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id)
            .bind(code_id)
            .bind(idem)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some((
            benefit(&row)?,
            row.try_get("holder")?,
            row.try_get::<i64, _>("key_used")? > 0,
        )))
    }

    /// Active benefits by scene, then by the tier they need.
    pub async fn benefits(&self) -> Result<Vec<Benefit>> {
        let sql = format!("SELECT {BENEFIT_COLUMNS} FROM benefits b JOIN scenes s ON s.id = b.scene_id JOIN partners p ON p.id = b.partner_id \
            WHERE b.active = 1 ORDER BY s.created_at, s.code, b.min_tier, b.name_zh");
        sqlx::query(&sql)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(benefit)
            .collect()
    }
}
