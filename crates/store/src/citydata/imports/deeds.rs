//! Partner deeds: each row becomes a deed exactly as a single submission over the API would
//! (`evaluation`'s checks, the trust of the standard, its range and caps, the partner's key,
//! the access-log row), all in the import's one transaction, many rows per statement
//! (`evaluation`'s batch of partner submissions).

use super::feed::CHUNK_ROWS;
use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::evaluation::{NewDeed, Reporter, Rules, Written};
use crate::{Result, StoreError};
use domain::citydata::rows::Row;
use domain::citydata::{HeaderMap, Problem};
use domain::{FieldError, IdempotencyKey, ResidentId};
use sqlx::Row as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Apply every row in `tx` through the evaluation's batch of partner submissions (each row
/// meets the checks of one submission); a refused row writes nothing and its problems are kept.
#[allow(clippy::too_many_arguments)] // one import's parts
pub(super) async fn apply(
    data: &CityData<'_>,
    tx: &mut sqlx::AnyConnection,
    up: &Upload<'_>,
    map: &HeaderMap,
    rows: &[Row],
    rules: &Rules,
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let mut out = Applied::default();
    let mut villages: HashMap<String, Option<String>> = HashMap::new();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let places: Vec<Place<'_>> = chunk.iter().map(|row| Place { up, map, row }).collect();
        // The residents, by ID number, many at once.
        let mut rids = Vec::new();
        for at in &places {
            if let Some(rid) = at.value("resident_id_number") {
                rids.push(ResidentId::parse(rid).map_err(StoreError::Conflict)?);
            }
        }
        let found = data
            .registry()
            .citizen_ids_by_resident_ids(tx, &rids.iter().collect::<Vec<_>>())
            .await?;
        let mut news = Vec::with_capacity(places.len());
        let mut named = Vec::with_capacity(places.len());
        for at in &places {
            match deed_of(data, at, &found, &mut villages).await? {
                Ok(new) => {
                    news.push(new);
                    named.push(at);
                }
                Err(p) => out.problems.extend(p),
            }
        }
        let outcomes = data
            .evaluation()
            .report_batch(tx, &news, rules, now)
            .await?;
        for (at, outcome) in named.into_iter().zip(outcomes) {
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
        progress.fetch_add(chunk.len(), Ordering::Relaxed);
    }
    Ok(out)
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
    found: &HashMap<String, String>,
    villages: &mut HashMap<String, Option<String>>,
) -> Result<std::result::Result<NewDeed, Vec<Problem>>> {
    let mut problems = Vec::new();
    let citizen_id = if let Some(rid) = at.value("resident_id_number") {
        found.get(rid).cloned()
    } else {
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
                let lives = data.registry().citizen_summary(&citizen_id).await?;
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
