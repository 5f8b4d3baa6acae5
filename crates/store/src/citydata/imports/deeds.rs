//! Partner deeds: each row becomes a deed exactly as a single submission over the API would
//! (`evaluation`'s checks, the trust of the standard, its range and caps, the partner's key,
//! the access-log row), all in the import's one transaction, many rows per statement
//! (`evaluation`'s batch of partner submissions).

use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::evaluation::{NewDeed, Reporter, Rules, Written};
use crate::registry::CitizenSummary;
use crate::{Result, StoreError};
use domain::citydata::rows::Row;
use domain::citydata::{HeaderMap, Problem};
use domain::{FieldError, IdempotencyKey, ResidentId};
use sqlx::Row as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows decided per round of the pipeline: while one round is written, the next one's
/// residents are looked up.
const ROUND_ROWS: usize = 1_000;

/// Apply every row in `tx` through the evaluation's batch of partner submissions (each row
/// meets the checks of one submission); a refused row writes nothing and its problems are kept.
///
/// Rounds of [`ROUND_ROWS`] are pipelined: the residents of the next round are looked up on a
/// connection of their own (`look`, made with the first rows and kept for the whole file)
/// while this round is written in `tx`. The file's residents are only read; on SQLite no
/// other writer can commit while this transaction writes.
pub(super) async fn apply(
    data: &CityData<'_>,
    (tx, look): (&mut sqlx::AnyConnection, &mut Option<sqlx::AnyConnection>),
    up: &Upload<'_>,
    (map, rows): (&HeaderMap, &[Row]),
    rules: &Rules,
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let mut out = Applied::default();
    let mut villages: HashMap<String, Option<String>> = HashMap::new();
    let look = match look {
        Some(look) => look,
        None => look.insert(data.lookup_connection().await?),
    };
    let rounds: Vec<&[Row]> = rows.chunks(ROUND_ROWS).collect();
    let Some(first) = rounds.first() else {
        return Ok(out);
    };
    let mut residents = residents_of(data, look, up, first).await?;
    for (k, round) in rounds.iter().enumerate() {
        let places: Vec<Place<'_>> = round.iter().map(|row| Place { up, map, row }).collect();
        let mut news = Vec::with_capacity(places.len());
        let mut named = Vec::with_capacity(places.len());
        for at in &places {
            match deed_of(data, at, &residents, &mut villages).await? {
                Ok(new) => {
                    news.push(new);
                    named.push(at);
                }
                Err(p) => out.problems.extend(p),
            }
        }
        let citizens: HashMap<String, CitizenSummary> =
            residents.drain().map(|(_, c)| (c.id.clone(), c)).collect();
        let evaluation = data.evaluation();
        let write = evaluation.report_batch(tx, &news, &citizens, rules, now);
        let next = async {
            match rounds.get(k + 1) {
                Some(r) => residents_of(data, look, up, r).await.map(Some),
                None => Ok(None),
            }
        };
        let (outcomes, next) = tokio::join!(write, next);
        if let Some(next) = next? {
            residents = next;
        }
        for (at, outcome) in named.into_iter().zip(outcomes?) {
            match outcome {
                Ok((written, status)) => {
                    let (id, outcome) = match written {
                        Written::New(id) => (id, "new"),
                        Written::Replay(id) => (id, "unchanged"),
                    };
                    out.results.push(RowResult {
                        line: at.row.line,
                        key: at.value("key").unwrap_or_default().to_string(),
                        record_id: id,
                        outcome: outcome.into(),
                        status,
                    });
                }
                Err(e) => out.problems.extend(at.problems_of(e)?),
            }
        }
        progress.fetch_add(round.len(), Ordering::Relaxed);
    }
    Ok(out)
}

/// The residents a round's rows name, by ID number or by id (as the row gives it), many per
/// statement: their summaries by what the row wrote.
async fn residents_of(
    data: &CityData<'_>,
    look: &mut sqlx::AnyConnection,
    up: &Upload<'_>,
    round: &[Row],
) -> Result<HashMap<String, CitizenSummary>> {
    let mut rids = Vec::new();
    let mut ids = Vec::new();
    for row in round {
        if let Some(rid) = row.get(up.schema, "resident_id_number") {
            rids.push(ResidentId::parse(rid).map_err(StoreError::Conflict)?);
        } else if let Some(id) = row.get(up.schema, "citizen_id") {
            ids.push(id);
        }
    }
    let registry = data.registry();
    let mut found = registry
        .citizen_summaries_by_resident_ids(look, &rids.iter().collect::<Vec<_>>())
        .await?;
    if !ids.is_empty() {
        found.extend(registry.citizen_summaries(look, &ids).await?);
    }
    Ok(found)
}

impl Place<'_> {
    /// The column that named the resident in this row.
    fn resident_column(&self) -> &'static str {
        if self.value("resident_id_number").is_some() {
            "resident_id_number"
        } else {
            "citizen_id"
        }
    }

    fn field_problem(&self, e: &FieldError) -> Problem {
        let column = match e.field.as_str() {
            "Idempotency-Key" => "key",
            "citizen_id" => self.resident_column(),
            f => self
                .up
                .schema
                .columns
                .iter()
                .find(|c| c.name == f)
                .map_or("", |c| c.name),
        };
        self.problem(column, e.code, &e.detail)
    }

    /// The evaluation's refusal as problems of this row; a failure of the database itself ends
    /// the import (nothing is written).
    fn problems_of(&self, e: StoreError) -> Result<Vec<Problem>> {
        Ok(match e {
            StoreError::Invalid(errs) => errs.0.iter().map(|f| self.field_problem(f)).collect(),
            StoreError::Conflict(f) => vec![self.field_problem(&f)],
            StoreError::NotFound { what } => {
                vec![self.problem("", "not_found", &format!("{what} not found"))]
            }
            StoreError::Database(d) if StoreError::is_unique_violation(&d) => vec![self.problem(
                "key",
                "concurrent_submission",
                "submitted at this moment by another request: send the file again",
            )],
            other => return Err(other),
        })
    }
}

/// The row as a deed submission: the resident by ID number (`found`, looked up for the whole
/// chunk) or id, the village checked (villages by code, remembered across the file).
async fn deed_of(
    data: &CityData<'_>,
    at: &Place<'_>,
    found: &HashMap<String, CitizenSummary>,
    villages: &mut HashMap<String, Option<String>>,
) -> Result<std::result::Result<NewDeed, Vec<Problem>>> {
    let mut problems = Vec::new();
    // (`found` is keyed by what the row wrote: its ID number, or else its resident's id.)
    let lives = at
        .value("resident_id_number")
        .or_else(|| at.value("citizen_id"))
        .and_then(|n| found.get(n));
    let citizen_id = if at.value("resident_id_number").is_some() {
        lives.map(|c| c.id.clone())
    } else {
        // An unknown id goes on to the evaluation, which refuses it as a submission would.
        at.value("citizen_id").map(str::to_string)
    };
    let Some(citizen_id) = citizen_id else {
        problems.push(at.problem(
            at.resident_column(),
            "unknown_resident",
            "no enrolled resident has this ID number",
        ));
        return Ok(Err(problems));
    };
    if let Some(code) = at.value("village") {
        let village = match villages.get(code) {
            Some(v) => v.clone(),
            None => {
                let v: Option<String> =
                    sqlx::query("SELECT id FROM regions WHERE code = $1 AND level = 'village'")
                        .bind(code)
                        .fetch_optional(&data.read)
                        .await?
                        .map(|r| r.try_get("id"))
                        .transpose()?;
                villages.insert(code.to_string(), v.clone());
                v
            }
        };
        match village {
            None => {
                problems.push(at.problem("village", "unknown_region", "no village has this code"))
            }
            Some(v) => {
                if lives.is_some_and(|c| c.village_id != v) {
                    problems.push(at.problem(
                        "village",
                        "wrong_village",
                        "the resident's record names another village",
                    ));
                }
            }
        }
    }
    let key =
        IdempotencyKey::parse(at.value("key").unwrap_or_default()).map_err(StoreError::Conflict)?;
    let points = at.value("points").and_then(|p| p.parse::<i64>().ok());
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    Ok(Ok(NewDeed {
        citizen_id,
        reporter: Reporter::Partner {
            partner_id: at.up.owner.id().to_string(),
            key,
        },
        standard_code: at.value("standard").unwrap_or_default().to_string(),
        deed_date: at.value("deed_date").unwrap_or_default().to_string(),
        place: at.value("place").unwrap_or_default().to_string(),
        description: at.value("description").unwrap_or_default().to_string(),
        evidence: Vec::new(),
        points,
    }))
}
