//! Achievements (科技成果): what a university, an institute or an enterprise offers, with its
//! readiness, its intellectual property and how it is licensed. The office records them; the
//! owner (an expert of the pool, or a registered organisation) answers introductions to them.

use super::{lines, log, Market};
use crate::{Result, StoreError};
use domain::market::search::AchievementDoc;
use domain::FieldErrors;
use serde::Serialize;
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Achievement {
    pub id: String,
    pub code: String,
    pub title: String,
    pub summary: String,
    pub keywords: Vec<String>,
    pub industry: String,
    pub discipline: String,
    pub trl: i64,
    pub ip_kind: String,
    pub ip_number: String,
    pub licensing: String,
    pub price_band: String,
    pub owner_expert_id: Option<String>,
    pub owner_partner_id: Option<String>,
    /// The owner's name: the expert's, or the organisation's.
    pub owner_name: String,
}

/// What the broker types.
#[derive(Debug, Clone, Default)]
pub struct NewAchievement {
    pub title: String,
    pub summary: String,
    pub keywords: String,
    pub industry: String,
    pub discipline: String,
    pub trl: String,
    pub ip_kind: String,
    pub ip_number: String,
    pub licensing: String,
    pub price_band: String,
    /// An expert's number (E000123), or empty for an organisation.
    pub owner_expert_code: String,
    /// A registered enterprise's partner id, when no expert is named.
    pub owner_partner_id: String,
}

const COLS: &str =
    "a.id, a.code, a.title, a.summary, a.keywords, a.industry, a.discipline, a.trl, \
    a.ip_kind, a.ip_number, a.licensing, a.price_band, a.owner_expert_id, a.owner_partner_id, \
    COALESCE(x.name, p.name) AS owner_name";
const FROM: &str = "market_achievements a LEFT JOIN market_experts x ON x.id = a.owner_expert_id \
    LEFT JOIN partners p ON p.id = a.owner_partner_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Achievement> {
    Ok(Achievement {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        keywords: lines(&r.try_get::<String, _>("keywords")?),
        industry: r.try_get("industry")?,
        discipline: r.try_get("discipline")?,
        trl: r.try_get("trl")?,
        ip_kind: r.try_get("ip_kind")?,
        ip_number: r.try_get("ip_number")?,
        licensing: r.try_get("licensing")?,
        price_band: r.try_get("price_band")?,
        owner_expert_id: r.try_get("owner_expert_id")?,
        owner_partner_id: r.try_get("owner_partner_id")?,
        owner_name: r
            .try_get::<Option<String>, _>("owner_name")?
            .unwrap_or_default(),
    })
}

impl Market<'_> {
    /// Record an achievement; every bad field named.
    pub async fn add_achievement(
        &self,
        new: &NewAchievement,
        broker_id: &str,
        now: i64,
    ) -> Result<Achievement> {
        use domain::market::{codes, keywords, one_of, text, trl, BANDS, IP_KINDS, LICENSING};
        let mut e = FieldErrors::default();
        let title = e.take(text("title", &new.title, 4, 60));
        let summary = e.take(text("summary", &new.summary, 10, 800));
        let kw = e.take(keywords("keywords", &new.keywords));
        let industry = e.take(codes::parse_industry("industry", &new.industry).map(|c| c.code));
        let discipline =
            e.take(codes::parse_discipline("discipline", &new.discipline).map(|c| c.code));
        let level = e.take(trl("trl", &new.trl));
        let ip_kind = e.take(one_of("ip_kind", &new.ip_kind, &IP_KINDS));
        let ip_number = e.take(text("ip_number", &new.ip_number, 1, 40));
        let licensing = e.take(one_of("licensing", &new.licensing, &LICENSING));
        let band = e.take(one_of("price_band", &new.price_band, &BANDS));
        let owner = self.owner_of(new, &mut e).await?;
        let (
            Some(title),
            Some(summary),
            Some(kw),
            Some(industry),
            Some(discipline),
            Some(level),
            Some(ip_kind),
            Some(ip_number),
            Some(licensing),
            Some(band),
            Some((ox, op)),
        ) = (
            title, summary, kw, industry, discipline, level, ip_kind, ip_number, licensing, band,
            owner,
        )
        else {
            return Err(StoreError::Invalid(e));
        };
        let id = domain::new_id();
        let mut tx = self.write.begin().await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM market_achievements")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        let code = format!("A{:04}", n + 1);
        sqlx::query("INSERT INTO market_achievements (id, code, title, summary, keywords, industry, discipline, trl, ip_kind, ip_number, licensing, price_band, owner_expert_id, owner_partner_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
            .bind(&id)
            .bind(&code)
            .bind(&title)
            .bind(&summary)
            .bind(kw.join("\n"))
            .bind(industry)
            .bind(discipline)
            .bind(i64::from(level))
            .bind(ip_kind)
            .bind(&ip_number)
            .bind(licensing)
            .bind(band)
            .bind(&ox)
            .bind(&op)
            .bind(broker_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        log(
            &mut tx,
            &id,
            &format!("staff:{broker_id}"),
            "achievement_added",
            &code,
            now,
        )
        .await?;
        tx.commit().await?;
        self.achievement(&id).await?.ok_or(StoreError::NotFound {
            what: "achievement",
        })
    }

    /// The owner the form names: an expert by number, or a registered enterprise.
    async fn owner_of(
        &self,
        new: &NewAchievement,
        e: &mut FieldErrors,
    ) -> Result<Option<(Option<String>, Option<String>)>> {
        let code = new.owner_expert_code.trim();
        let partner = new.owner_partner_id.trim();
        if !code.is_empty() {
            let found = sqlx::query("SELECT id FROM market_experts WHERE code = $1")
                .bind(code.to_ascii_uppercase())
                .fetch_optional(&self.read)
                .await?;
            return Ok(match found {
                Some(r) => Some((Some(r.try_get("id")?), None)),
                None => {
                    e.push(domain::FieldError::new(
                        "owner_expert_code",
                        "unknown_expert",
                        "no expert in the pool has this number",
                    ));
                    None
                }
            });
        }
        if !partner.is_empty() && self.enterprise(partner).await?.is_some() {
            return Ok(Some((None, Some(partner.to_string()))));
        }
        e.push(domain::FieldError::new(
            "owner_expert_code",
            "owner_required",
            "name the owning expert's number or choose an organisation",
        ));
        Ok(None)
    }

    pub async fn achievement(&self, id: &str) -> Result<Option<Achievement>> {
        let row = sqlx::query(&format!("SELECT {COLS} FROM {FROM} WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn achievements(&self) -> Result<Vec<Achievement>> {
        let rows = sqlx::query(&format!("SELECT {COLS} FROM {FROM} ORDER BY a.code"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every achievement as the matching index takes it (region: its owner's area, or the
    /// organisation's city).
    pub async fn achievement_docs(&self) -> Result<Vec<AchievementDoc>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS}, x.region AS region FROM {FROM} ORDER BY a.code"
        ))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let a = from_row(r)?;
                Ok(AchievementDoc {
                    id: a.id,
                    title: a.title,
                    summary: a.summary,
                    keywords: a.keywords,
                    industry: a.industry,
                    discipline: a.discipline,
                    region: r
                        .try_get::<Option<String>, _>("region")?
                        .unwrap_or_else(|| domain::market::LOCAL_AREA.to_string()),
                })
            })
            .collect()
    }

    pub async fn achievements_by_ids(&self, ids: &[String]) -> Result<Vec<Achievement>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {COLS} FROM {FROM} WHERE a.id IN ({})",
            crate::sql::in_list(1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}
