//! The catalogue of point standards (积分标准). Editing a standard writes a new version; deeds
//! and ledger entries keep the version they were judged under.

use crate::evaluation::Evaluation;
use crate::{now_ms, Result, StoreError};
use domain::{FieldError, FieldErrors};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standard {
    pub id: String,
    pub code: String,
    pub version: i64,
    pub name_zh: String,
    pub name_en: String,
    pub points_min: i64,
    pub points_max: i64,
    pub cap_points: Option<i64>,
    pub cap_period: String,
    pub evidence_zh: String,
    pub evidence_en: String,
    /// `committee`, or `partner` (a trusted partner's submission skips the vote).
    pub awarder: String,
    pub active: bool,
    pub created_at: i64,
    /// Partner ids this version trusts to submit deeds that skip the committee (a `partner`
    /// awarder only). Filled by the catalogue reads; a deed's copy of its standard leaves it empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_partners: Vec<String>,
}

impl Standard {
    /// How the ledger names the rule: `standard:<code>@<version>`.
    pub fn rule(&self) -> String {
        format!("standard:{}@{}", self.code, self.version)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStandard {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub points_min: i64,
    pub points_max: i64,
    #[serde(default)]
    pub cap_points: Option<i64>,
    pub cap_period: String,
    pub evidence_zh: String,
    pub evidence_en: String,
    pub awarder: String,
    pub active: bool,
    /// Partner ids trusted for automatic submission; only for the `partner` awarder.
    #[serde(default)]
    pub trusted_partners: Vec<String>,
}

pub const POINTS_MAX: i64 = 1_000;
/// Partners one standard may trust.
pub const TRUSTED_PARTNERS_MAX: usize = 50;

impl NewStandard {
    pub fn check(&self) -> std::result::Result<(), FieldErrors> {
        let mut e = FieldErrors::default();
        let c = &self.code;
        if c.is_empty()
            || c.len() > 40
            || !c
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            e.push(FieldError::new(
                "code",
                "invalid_format",
                "1 to 40 of a-z, 0-9 and '-'",
            ));
        }
        for (field, v) in [
            ("name_zh", &self.name_zh),
            ("name_en", &self.name_en),
            ("evidence_zh", &self.evidence_zh),
            ("evidence_en", &self.evidence_en),
        ] {
            if let Err(err) = domain::deed::text(field, v, 200) {
                e.push(err);
            }
        }
        if !(1..=POINTS_MAX).contains(&self.points_min) {
            e.push(FieldError::new(
                "points_min",
                "out_of_range",
                format!("1 to {POINTS_MAX}"),
            ));
        }
        if self.points_max < self.points_min || self.points_max > POINTS_MAX {
            e.push(FieldError::new(
                "points_max",
                "out_of_range",
                format!("from points_min to {POINTS_MAX}"),
            ));
        }
        if !["none", "month", "year"].contains(&self.cap_period.as_str()) {
            e.push(FieldError::new(
                "cap_period",
                "invalid_choice",
                "none, month or year",
            ));
        }
        match (self.cap_period.as_str(), self.cap_points) {
            ("none", Some(_)) => e.push(FieldError::new(
                "cap_points",
                "not_allowed",
                "a cap needs a period (month or year)",
            )),
            ("month" | "year", None) => e.push(FieldError::new(
                "cap_points",
                "missing",
                "how many points per period at most",
            )),
            (_, Some(cap)) if cap < self.points_max => e.push(FieldError::new(
                "cap_points",
                "out_of_range",
                "at least points_max, or no deed could ever be awarded",
            )),
            _ => {}
        }
        if !["committee", "partner"].contains(&self.awarder.as_str()) {
            e.push(FieldError::new(
                "awarder",
                "invalid_choice",
                "committee or partner",
            ));
        }
        if self.awarder == "committee" && !self.trusted_partners.is_empty() {
            e.push(FieldError::new(
                "trusted_partners",
                "not_allowed",
                "only a standard awarded by partners trusts partners",
            ));
        } else if self.trusted_partners.len() > TRUSTED_PARTNERS_MAX {
            e.push(FieldError::new(
                "trusted_partners",
                "too_many",
                format!("at most {TRUSTED_PARTNERS_MAX}"),
            ));
        } else if self
            .trusted_partners
            .iter()
            .any(|p| domain::parse_id("trusted_partners", p).is_err())
        {
            e.push(FieldError::new(
                "trusted_partners",
                "unknown_partner",
                "partner ids, please",
            ));
        }
        e.into_result()
    }
}

pub(crate) const STANDARD_COLUMNS: &str =
    "s.id, s.code, s.version, s.name_zh, s.name_en, s.points_min, s.points_max, \
    s.cap_points, s.cap_period, s.evidence_zh, s.evidence_en, s.awarder, s.active, s.created_at";

pub(crate) fn standard(r: &sqlx::any::AnyRow) -> Result<Standard> {
    Ok(Standard {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        version: r.try_get("version")?,
        name_zh: r.try_get("name_zh")?,
        name_en: r.try_get("name_en")?,
        points_min: r.try_get("points_min")?,
        points_max: r.try_get("points_max")?,
        cap_points: r.try_get("cap_points")?,
        cap_period: r.try_get("cap_period")?,
        evidence_zh: r.try_get("evidence_zh")?,
        evidence_en: r.try_get("evidence_en")?,
        awarder: r.try_get("awarder")?,
        active: r.try_get::<i64, _>("active")? != 0,
        created_at: r.try_get("created_at")?,
        trusted_partners: Vec::new(),
    })
}

/// The default catalogue: the kinds of deeds the original report names.
#[allow(clippy::too_many_lines)] // the default catalogue is data: one standard after the other
pub fn default_catalogue() -> Vec<NewStandard> {
    let s = |code: &str,
             zh: &str,
             en: &str,
             min,
             max,
             cap: Option<i64>,
             period: &str,
             ev_zh: &str,
             ev_en: &str,
             awarder: &str| NewStandard {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        points_min: min,
        points_max: max,
        cap_points: cap,
        cap_period: period.into(),
        evidence_zh: ev_zh.into(),
        evidence_en: ev_en.into(),
        awarder: awarder.into(),
        active: true,
        trusted_partners: Vec::new(),
    };
    vec![
        s(
            "volunteer-hour",
            "志愿服务（每小时）",
            "Volunteer service (per hour)",
            2,
            2,
            Some(200),
            "year",
            "志愿者联合会签到记录",
            "Check-in record of the volunteer alliance",
            "partner",
        ),
        s(
            "blood-donation",
            "无偿献血",
            "Blood donation",
            20,
            20,
            Some(60),
            "year",
            "献血证",
            "Blood donation certificate",
            "partner",
        ),
        s(
            "brave-deed",
            "见义勇为",
            "Brave deed (见义勇为)",
            50,
            200,
            None,
            "none",
            "公安机关或证人证明、现场照片",
            "Police or witness statement, photos",
            "committee",
        ),
        s(
            "filial-piety",
            "孝老爱亲",
            "Filial piety and family care",
            10,
            50,
            Some(100),
            "year",
            "邻里或村（社区）证明",
            "Statement by neighbours or the village",
            "committee",
        ),
        s(
            "neighbourly-help",
            "邻里互助",
            "Neighbourly help",
            5,
            20,
            Some(60),
            "year",
            "受助人说明或照片",
            "Statement of the person helped, or photos",
            "committee",
        ),
        s(
            "charity",
            "慈善捐赠",
            "Charitable donation",
            5,
            50,
            Some(100),
            "year",
            "捐赠凭证",
            "Donation receipt",
            "committee",
        ),
        s(
            "environment",
            "环境保护",
            "Environmental care",
            3,
            10,
            Some(60),
            "year",
            "活动照片",
            "Photos of the activity",
            "committee",
        ),
        s(
            "honour-good-person",
            "余姚好人 / 宁波好人",
            "Honoured good person (余姚好人 / 宁波好人)",
            100,
            300,
            None,
            "none",
            "荣誉证书",
            "Honour certificate",
            "committee",
        ),
        s(
            "honour-moral-model",
            "道德模范",
            "Moral model (道德模范)",
            300,
            500,
            None,
            "none",
            "荣誉证书",
            "Honour certificate",
            "committee",
        ),
    ]
}

impl Evaluation<'_> {
    /// The current version of every standard, by code.
    pub async fn standards(&self) -> Result<Vec<Standard>> {
        let sql = format!(
            "SELECT {STANDARD_COLUMNS} FROM standards s WHERE s.version = \
             (SELECT MAX(v.version) FROM standards v WHERE v.code = s.code) ORDER BY s.code"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        let list = rows.iter().map(standard).collect::<Result<Vec<_>>>()?;
        self.with_trust(list).await
    }

    /// Fill each version's trusted partners (one query for the lot).
    async fn with_trust(&self, mut list: Vec<Standard>) -> Result<Vec<Standard>> {
        let mut trust: std::collections::HashMap<String, Vec<String>> = Default::default();
        for r in
            sqlx::query("SELECT standard_id, partner_id FROM standard_partners ORDER BY partner_id")
                .fetch_all(&self.read)
                .await?
        {
            trust
                .entry(r.try_get("standard_id")?)
                .or_default()
                .push(r.try_get("partner_id")?);
        }
        for s in &mut list {
            s.trusted_partners = trust.remove(&s.id).unwrap_or_default();
        }
        Ok(list)
    }

    /// Does this version of a standard trust the partner to submit deeds that skip the vote?
    pub async fn standard_trusts(&self, standard_id: &str, partner_id: &str) -> Result<bool> {
        Ok(sqlx::query(
            "SELECT 1 AS one FROM standard_partners WHERE standard_id = $1 AND partner_id = $2",
        )
        .bind(standard_id)
        .bind(partner_id)
        .fetch_optional(&self.read)
        .await?
        .is_some())
    }

    /// Every version of one standard, newest first.
    pub async fn standard_versions(&self, code: &str) -> Result<Vec<Standard>> {
        let sql = format!(
            "SELECT {STANDARD_COLUMNS} FROM standards s WHERE s.code = $1 ORDER BY s.version DESC"
        );
        let rows = sqlx::query(&sql).bind(code).fetch_all(&self.read).await?;
        let list = rows.iter().map(standard).collect::<Result<Vec<_>>>()?;
        self.with_trust(list).await
    }

    pub async fn standard_current(&self, code: &str) -> Result<Option<Standard>> {
        Ok(self.standard_versions(code).await?.into_iter().next())
    }

    /// Add a standard, or a new version of an existing one (same code).
    pub async fn save_standard(&self, new: &NewStandard, by: &str) -> Result<Standard> {
        new.check().map_err(StoreError::Invalid)?;
        let mut tx = self.write.begin().await?;
        let version: i64 = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS v FROM standards WHERE code = $1",
        )
        .bind(&new.code)
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
        let id = domain::new_id();
        let res = sqlx::query(
            "INSERT INTO standards (id, code, version, name_zh, name_en, points_min, points_max, cap_points, cap_period, \
             evidence_zh, evidence_en, awarder, active, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(&id)
        .bind(&new.code)
        .bind(version + 1)
        .bind(new.name_zh.trim())
        .bind(new.name_en.trim())
        .bind(new.points_min)
        .bind(new.points_max)
        .bind(new.cap_points)
        .bind(&new.cap_period)
        .bind(new.evidence_zh.trim())
        .bind(new.evidence_en.trim())
        .bind(&new.awarder)
        .bind(i64::from(new.active))
        .bind(by)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match res {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::conflict(
                    "code",
                    "edited_meanwhile",
                    "someone saved this standard at the same moment; reload and try again",
                ))
            }
            other => other?,
        };
        let mut trusted = new.trusted_partners.clone();
        trusted.sort();
        trusted.dedup();
        for p in &trusted {
            let known = sqlx::query("SELECT id FROM partners WHERE id = $1")
                .bind(p)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            if !known {
                return Err(StoreError::invalid(
                    "trusted_partners",
                    "unknown_partner",
                    &format!("no partner has the id {p}"),
                ));
            }
            sqlx::query("INSERT INTO standard_partners (standard_id, partner_id) VALUES ($1, $2)")
                .bind(&id)
                .bind(p)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.standard_versions(&new.code)
            .await?
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound { what: "standard" })
    }

    /// Save a new version of a standard, identical but for the partners it trusts (the demo's
    /// set-up; the console and API save whole standards).
    pub async fn trust_partners(
        &self,
        code: &str,
        partners: &[String],
        by: &str,
    ) -> Result<Standard> {
        let s = self
            .standard_current(code)
            .await?
            .ok_or(StoreError::NotFound { what: "standard" })?;
        let new = NewStandard {
            code: s.code,
            name_zh: s.name_zh,
            name_en: s.name_en,
            points_min: s.points_min,
            points_max: s.points_max,
            cap_points: s.cap_points,
            cap_period: s.cap_period,
            evidence_zh: s.evidence_zh,
            evidence_en: s.evidence_en,
            awarder: s.awarder,
            active: s.active,
            trusted_partners: partners.to_vec(),
        };
        self.save_standard(&new, by).await
    }

    /// Seed the default catalogue into an empty one (demo and first start).
    pub async fn ensure_default_standards(&self, by: &str) -> Result<usize> {
        if !self.standards().await?.is_empty() {
            return Ok(0);
        }
        let all = default_catalogue();
        for s in &all {
            self.save_standard(s, by).await?;
        }
        Ok(all.len())
    }
}
