//! Green-card honour lists: each row issues a card to an enrolled resident through the same
//! checks and writing as the admin's own card (`code::green_cards`), in the import's one
//! transaction. A resident who already holds an active card of the row's honour is unchanged
//! (a list sent again, or a list that repeats last year's names, issues nothing twice).

use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::code::green_cards::{active_card, insert_green_card};
use crate::Result;
use domain::citydata::rows::Row;
use domain::citydata::HeaderMap;
use domain::ResidentId;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) async fn apply(
    data: &CityData<'_>,
    tx: &mut sqlx::AnyConnection,
    up: &Upload<'_>,
    map: &HeaderMap,
    rows: &[Row],
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let mut out = Applied::default();
    let mut rids = Vec::new();
    for row in rows {
        if let Some(r) = row.get(up.schema, "resident_id_number") {
            if let Ok(r) = ResidentId::parse(r) {
                rids.push(r);
            }
        }
    }
    let found = data
        .registry()
        .citizen_ids_by_resident_ids(tx, &rids.iter().collect::<Vec<_>>())
        .await?;
    for row in rows {
        progress.fetch_add(1, Ordering::Relaxed);
        let at = Place { up, map, row };
        let rid = at.value("resident_id_number").unwrap_or_default();
        let Some(citizen) = found.get(rid) else {
            out.problems.push(at.problem(
                "resident_id_number",
                "unknown_resident",
                "no enrolled resident has this ID number",
            ));
            continue;
        };
        let honour = at.value("honour").unwrap_or_default();
        let until = at
            .value("valid_until")
            .and_then(calendar_date)
            .map(domain::time::end_of_cst_day);
        let Some(until) = until.filter(|u| *u > now) else {
            out.problems.push(at.problem(
                "valid_until",
                "in_past",
                "the card's last day must be after today",
            ));
            continue;
        };
        let (id, outcome) = match active_card(tx, citizen, honour, now).await? {
            Some(id) => (id, "unchanged"),
            None => {
                let citation = at.value("citation").unwrap_or_default();
                let id =
                    insert_green_card(tx, citizen, honour, citation, until, &up.by, now).await?;
                (id, "new")
            }
        };
        out.results.push(RowResult {
            line: row.line,
            key: String::new(),
            record_id: id,
            outcome: outcome.into(),
            status: "active".into(),
        });
    }
    Ok(out)
}

/// A checked date cell (`yyyy-mm-dd`) as a calendar date.
fn calendar_date(d: &str) -> Option<time::Date> {
    let mut parts = d.splitn(3, '-').map(str::parse::<i32>);
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(day))) = (parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    time::Date::from_calendar_date(y, month, u8::try_from(day).ok()?).ok()
}
