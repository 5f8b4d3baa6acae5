//! Reading deeds: the committee's and the town's queues, a village's public board (masked
//! names, paged), a resident's own deeds, and everything behind one deed.

use super::{
    deed_row, deed_select, Appeal, Deed, DeedDetail, DeedEvent, Evidence, Objection, Vote,
};
use crate::evaluation::Evaluation;
use crate::Result;
use serde::Serialize;
use sqlx::Row;

/// Deeds on one page of a village's publicity board (page and API). A phone renders a page
/// of this size quickly; the rest of the board is one `next_cursor` away.
pub const BOARD_PAGE_ROWS: i64 = 100;

/// A deed as the public board shows it: masked name, standard, points, what and where, and
/// when publicity ends. Nothing that names a person, so it serializes as the API's item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicDeed {
    pub id: String,
    pub name_masked: String,
    pub standard: String,
    pub standard_name_zh: String,
    pub standard_name_en: String,
    pub deed_date: String,
    pub place: String,
    pub description: String,
    pub points: Option<i64>,
    pub publicity_ends_at: Option<i64>,
}

/// Where a board page starts: after the deed whose publicity ends at `ends_at` with this `id`
/// (the board's order). Its text form `<ends_at>_<id>` is the API's `next_cursor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCursor {
    pub ends_at: i64,
    pub id: String,
}

impl BoardCursor {
    pub fn parse(raw: &str) -> Option<BoardCursor> {
        let (at, id) = raw.split_once('_')?;
        Some(BoardCursor {
            ends_at: at.parse().ok()?,
            id: domain::parse_id("cursor", id).ok()?,
        })
    }
}

impl std::fmt::Display for BoardCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}_{}", self.ends_at, self.id)
    }
}

/// One page of a board and where the next one starts (`None`: this is the last page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardPage {
    pub items: Vec<PublicDeed>,
    #[serde(serialize_with = "cursor_text")]
    pub next_cursor: Option<BoardCursor>,
}

fn cursor_text<S: serde::Serializer>(
    c: &Option<BoardCursor>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(&c.to_string()),
        None => s.serialize_none(),
    }
}

fn public_deed_row(r: &sqlx::any::AnyRow) -> Result<PublicDeed> {
    Ok(PublicDeed {
        id: r.try_get("id")?,
        name_masked: r
            .try_get::<Option<String>, _>("name_masked")?
            .unwrap_or_else(|| "（已注销）".into()),
        standard: r.try_get("code")?,
        standard_name_zh: r.try_get("name_zh")?,
        standard_name_en: r.try_get("name_en")?,
        deed_date: r.try_get("deed_date")?,
        place: r.try_get("place")?,
        description: r.try_get("description")?,
        points: r.try_get("points")?,
        publicity_ends_at: r.try_get("publicity_ends_at")?,
    })
}

impl Evaluation<'_> {
    /// Up to `limit` deeds matching `filter` (`WHERE …` with `$1` bound to `key` and the
    /// `LIMIT $2`), with their standards and masked names.
    async fn deeds_where(&self, filter: &str, key: &str, limit: i64) -> Result<Vec<Deed>> {
        sqlx::query(&format!("{} {filter}", deed_select("")))
            .bind(key)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(deed_row)
            .collect()
    }

    /// The committee's queue: deeds of a village waiting for votes, oldest first.
    pub async fn committee_queue(&self, village_id: &str, limit: i64) -> Result<Vec<Deed>> {
        self.deeds_where(
            "WHERE d.village_id = $1 AND d.status IN ('review', 'paused') ORDER BY d.created_at, d.id LIMIT $2",
            village_id,
            limit,
        )
        .await
    }

    /// Appeals waiting for a town, oldest first.
    pub async fn appeal_queue(&self, town_id: &str, limit: i64) -> Result<Vec<Deed>> {
        self.deeds_where(
            "WHERE d.status = 'appealed' AND d.village_id IN (SELECT id FROM regions WHERE parent_id = $1) \
             ORDER BY d.updated_at, d.id LIMIT $2",
            town_id,
            limit,
        )
        .await
    }

    /// One page of a village's public board: deeds on publicity, the soonest to end first,
    /// masked names only; `after` is the previous page's `next_cursor`.
    ///
    /// Only the columns the board shows: on SQLite they all come from `deeds_board_live` and
    /// `citizens_masked` (migration 0010), so a page reads no row of the wide tables.
    pub async fn publicity_board(
        &self,
        village_id: &str,
        after: Option<&BoardCursor>,
        limit: i64,
    ) -> Result<BoardPage> {
        let limit = limit.max(1);
        let (ends_at, id) = after.map_or((i64::MIN, ""), |c| (c.ends_at, c.id.as_str()));
        // One row more than the page tells whether there is a next page.
        let citizens = self.backend.board_citizens();
        let sql = format!(
            "SELECT d.id, d.deed_date, d.place, d.description, d.points, d.publicity_ends_at, \
             c.name_masked, s.code, s.name_zh, s.name_en \
             FROM deeds d JOIN standards s ON s.id = d.standard_id LEFT JOIN {citizens} ON c.id = d.citizen_id \
             WHERE d.village_id = $1 AND d.status = 'publicity' AND (d.publicity_ends_at, d.id) > ($2, $3) \
             ORDER BY d.publicity_ends_at, d.id LIMIT $4"
        );
        let mut items = sqlx::query(&sql)
            .bind(village_id)
            .bind(ends_at)
            .bind(id)
            .bind(limit + 1)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(public_deed_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|d| BoardCursor {
                ends_at: d.publicity_ends_at.unwrap_or(i64::MIN),
                id: d.id.clone(),
            })
        } else {
            None
        };
        Ok(BoardPage { items, next_cursor })
    }

    /// A resident's deeds (done by them or reported by them), newest first.
    pub async fn citizen_deeds(&self, citizen_id: &str, limit: i64) -> Result<Vec<Deed>> {
        self.deeds_where(
            "WHERE d.citizen_id = $1 OR (d.reporter_id = $1 AND d.source = 'nomination') ORDER BY d.created_at DESC, d.id LIMIT $2",
            citizen_id,
            limit,
        )
        .await
    }

    /// Everything behind a deed, in order.
    pub async fn deed_detail(&self, id: &str) -> Result<Option<DeedDetail>> {
        let Some(deed) = self.deed(id).await? else {
            return Ok(None);
        };
        let evidence = sqlx::query("SELECT sha256, content_type, bytes FROM deed_evidence WHERE deed_id = $1 ORDER BY sha256")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(Evidence { sha256: r.try_get("sha256")?, content_type: r.try_get("content_type")?, bytes: r.try_get("bytes")? }))
            .collect::<Result<_>>()?;
        let votes = sqlx::query(
            "SELECT v.round, v.staff_id, s.display_name, v.approve, v.points, v.comment, v.at FROM deed_votes v \
             JOIN staff s ON s.id = v.staff_id WHERE v.deed_id = $1 ORDER BY v.round, v.at, v.staff_id",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            Ok(Vote {
                round: r.try_get("round")?,
                staff_id: r.try_get("staff_id")?,
                staff_name: r.try_get("display_name")?,
                approve: r.try_get::<i64, _>("approve")? != 0,
                points: r.try_get("points")?,
                comment: r.try_get("comment")?,
                at: r.try_get("at")?,
            })
        })
        .collect::<Result<_>>()?;
        let objections = sqlx::query("SELECT id, round, citizen_id, reason, at, outcome FROM deed_objections WHERE deed_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(Objection { id: r.try_get("id")?, round: r.try_get("round")?, citizen_id: r.try_get("citizen_id")?, reason: r.try_get("reason")?, at: r.try_get("at")?, outcome: r.try_get("outcome")? }))
            .collect::<Result<_>>()?;
        let appeal = sqlx::query("SELECT citizen_id, reason, at, outcome, decided_by, decided_at, comment FROM deed_appeals WHERE deed_id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| -> Result<Appeal> {
                Ok(Appeal { citizen_id: r.try_get("citizen_id")?, reason: r.try_get("reason")?, at: r.try_get("at")?, outcome: r.try_get("outcome")?, decided_by: r.try_get("decided_by")?, decided_at: r.try_get("decided_at")?, comment: r.try_get("comment")? })
            })
            .transpose()?;
        let events = sqlx::query("SELECT at, actor_kind, actor_id, action, detail FROM deed_events WHERE deed_id = $1 ORDER BY at, id")
            .bind(id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(DeedEvent { at: r.try_get("at")?, actor_kind: r.try_get("actor_kind")?, actor_id: r.try_get("actor_id")?, action: r.try_get("action")?, detail: r.try_get("detail")? }))
            .collect::<Result<_>>()?;
        Ok(Some(DeedDetail {
            deed,
            evidence,
            votes,
            objections,
            appeal,
            events,
        }))
    }
}
