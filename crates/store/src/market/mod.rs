//! The technology supermarket (科技超市): enterprises verified by the office
//! ([`enterprises`]), the expert pool with sealed contacts and profiles residents claim
//! ([`experts`]), achievements ([`achievements`]), demands and brokers' pins ([`demands`]),
//! introductions with double opt-in and every reveal of contacts ([`introductions`]),
//! matchmaking events ([`events`]), contracts ([`contracts`]), free consultations that earn
//! points through a standard ([`consultations`]) and the figures ([`figures`]). Enterprises
//! are partners of kind `enterprise`; the office's staff have the role `broker`.

pub mod achievements;
pub mod consultations;
pub mod contracts;
pub mod demands;
pub mod enterprises;
pub mod events;
pub mod experts;
pub mod figures;
pub mod introductions;

use crate::Result;
use sqlx::AnyConnection;

crate::facet!(Market, market, "The technology supermarket (`store.market()`): enterprises, experts, achievements, demands, introductions, events, contracts, consultations, figures.");

/// The standard a confirmed free consultation to a village cooperative earns points under
/// (per hour; the office sets its points as any standard's).
pub const CONSULTATION_STANDARD: &str = "tech-consultation";

/// Who acts in the market, as its log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    /// An operator of an enterprise (a partner of kind `enterprise`).
    Enterprise {
        partner_id: String,
        staff_id: String,
        label: String,
    },
    /// A resident who claimed an expert profile.
    Expert { citizen_id: String },
    /// The office's broker.
    Broker { staff_id: String, label: String },
}

impl Party {
    pub(crate) fn actor(&self) -> String {
        match self {
            Party::Enterprise { staff_id, .. } | Party::Broker { staff_id, .. } => {
                format!("staff:{staff_id}")
            }
            Party::Expert { citizen_id } => format!("citizen:{citizen_id}"),
        }
    }
}

/// One line of the market's log, in the caller's transaction.
pub(crate) async fn log(
    tx: &mut AnyConnection,
    subject_id: &str,
    actor: &str,
    action: &str,
    detail: &str,
    at: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO market_log (id, subject_id, actor, action, detail, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(domain::new_id())
        .bind(subject_id)
        .bind(actor)
        .bind(action)
        .bind(detail)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Lines of text, one per keyword, as stored.
pub(crate) fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// One step of a record's history, as the office sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogLine {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl Market<'_> {
    /// A record's history, oldest first.
    pub async fn history(&self, subject_id: &str) -> Result<Vec<LogLine>> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT at, actor, action, detail FROM market_log WHERE subject_id = $1 ORDER BY at, id")
            .bind(subject_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LogLine {
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    action: r.try_get("action")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
