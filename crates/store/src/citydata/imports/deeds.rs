//! Partner deeds: each row becomes a deed exactly as a single submission over the API would
//! (`evaluation`'s checks, the trust of the standard, its range and caps, the partner's key,
//! the access-log row), all in the import's one transaction, many rows per statement
//! (`evaluation`'s batch of partner submissions).

use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::evaluation::{
    let_writes_go_on, NewDeed, Plan, Planned, Prepared, Reporter, RowOutcome, Rules, Touched,
    Written,
};
use crate::registry::CitizenSummary;
use crate::{Result, StoreError};
use domain::citydata::rows::Row;
use domain::citydata::{HeaderMap, Problem};
use domain::{FieldError, IdempotencyKey, ResidentId};
use sqlx::Row as _;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows decided per round of the pipeline: while one round is written, the next one's
/// residents are looked up and, where it can be, the round decided.
const ROUND_ROWS: usize = 1_000;

/// What the rules read beside the import's transaction, for the whole file: the connection
/// (made with the first rows), the file's rows so far as fingerprints, and the last round of
/// the rows so far when it was decided beside and is not yet written (it is written while the
/// next rows' first round is decided, or by [`Beside::finish`]).
pub(super) struct Beside {
    look: sqlx::AnyConnection,
    touched: Touched,
    pending: Option<Decided>,
}

impl Beside {
    /// Write the round still pending, if any, and close the connection.
    pub(super) async fn finish(
        self,
        data: &CityData<'_>,
        tx: &mut sqlx::AnyConnection,
        progress: &AtomicUsize,
    ) -> Result<Applied> {
        let mut out = Applied::default();
        if let Some(Decided {
            planned,
            applied,
            rows,
        }) = self.pending
        {
            data.evaluation().write_planned(tx, planned).await?;
            written(&mut out, applied, rows, progress);
        }
        sqlx::Connection::close(self.look).await?;
        Ok(out)
    }
}

/// A round decided beside the transaction: what it writes, and what each row came to, kept
/// until it is written.
struct Decided {
    planned: Planned,
    applied: Applied,
    rows: usize,
}

/// A written round's results and problems in `out` (counted with the chunk's), its `rows` in
/// `progress`.
fn written(out: &mut Applied, applied: Applied, rows: usize, progress: &AtomicUsize) {
    out.results.extend(applied.results);
    out.problems.extend(applied.problems);
    progress.fetch_add(rows, Ordering::Relaxed);
}

/// A round of rows, ready to be written.
enum Round<'p> {
    Decided(Decided),
    /// To be decided and written in the transaction, in its turn: the rows that became
    /// submissions, their checks, and the others' problems.
    InTurn {
        named: Vec<Place<'p>>,
        news: Vec<NewDeed>,
        prepared: Vec<Result<Prepared>>,
        problems: Vec<Problem>,
        rows: usize,
    },
}

/// Apply every row in `tx` through the evaluation's batch of partner submissions (each row
/// meets the checks of one submission); a refused row writes nothing and its problems are kept.
///
/// Rounds of [`ROUND_ROWS`] are pipelined: while one round is written in `tx`, the next one's
/// residents are looked up on a connection of their own (`beside`, made with the first rows
/// and kept for the whole file), and on SQLite the round is decided there too
/// (`Evaluation::plan_batch`: the transaction takes the database's write lock first, so that
/// connection reads what the transaction does, less the file's own rows). A round that cannot
/// be decided so is decided and written in `tx` in its turn (`Evaluation::report_batch`).
/// The last round of `rows`, when decided beside, is left in `beside` to be written with the
/// next rows' first round (or by [`Beside::finish`]).
pub(super) async fn apply(
    data: &CityData<'_>,
    (tx, beside): (&mut sqlx::AnyConnection, &mut Option<Beside>),
    up: &Upload<'_>,
    (map, rows): (&HeaderMap, &[Row]),
    rules: &Rules,
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let mut out = Applied::default();
    let mut villages: HashMap<String, Option<String>> = HashMap::new();
    let evaluation = data.evaluation();
    let beside = match beside {
        Some(b) => b,
        None => {
            evaluation.hold_writes(tx).await?;
            beside.insert(Beside {
                look: data.lookup_connection().await?,
                touched: Touched::default(),
                pending: None,
            })
        }
    };
    let mut rounds = rows.chunks(ROUND_ROWS);
    let mut this = match beside.pending.take() {
        Some(d) => Round::Decided(d),
        None => match rounds.next() {
            Some(r) => round_of(data, beside, (up, map), r, &mut villages, (rules, now)).await?,
            None => return Ok(out),
        },
    };
    loop {
        let following = rounds.next();
        let write = async {
            match this {
                Round::Decided(Decided {
                    planned,
                    applied,
                    rows,
                }) => {
                    evaluation.write_planned(tx, planned).await?;
                    Ok::<_, StoreError>(Ok((applied, rows)))
                }
                Round::InTurn {
                    named,
                    news,
                    prepared,
                    problems,
                    rows,
                } => {
                    let outcomes = evaluation
                        .report_batch(tx, &news, prepared, rules, now)
                        .await?;
                    Ok(Err((named, outcomes, problems, rows)))
                }
            }
        };
        let next = async {
            match following {
                Some(r) => round_of(data, beside, (up, map), r, &mut villages, (rules, now))
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (done, next) = tokio::join!(write, next);
        match done? {
            Ok((applied, rows)) => written(&mut out, applied, rows, progress),
            Err((named, outcomes, problems, rows)) => {
                let mut applied = Applied {
                    problems,
                    ..Applied::default()
                };
                outcomes_into(&mut applied, &named, outcomes)?;
                written(&mut out, applied, rows, progress);
            }
        }
        match next? {
            Some(Round::Decided(d)) if rounds.len() == 0 => {
                beside.pending = Some(d);
                return Ok(out);
            }
            Some(n) => this = n,
            None => return Ok(out),
        }
    }
}

/// Each row's outcome as its result or its problems, in `out`.
fn outcomes_into(out: &mut Applied, named: &[Place<'_>], outcomes: Vec<RowOutcome>) -> Result<()> {
    for (at, outcome) in named.iter().zip(outcomes) {
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
    Ok(())
}

/// A round's residents (many per statement, on the connection beside), its rows as
/// submissions and their checks, and on SQLite the round decided there when it can be.
async fn round_of<'p>(
    data: &CityData<'_>,
    beside: &mut Beside,
    (up, map): (&'p Upload<'p>, &'p HeaderMap),
    rows: &'p [Row],
    villages: &mut HashMap<String, Option<String>>,
    (rules, now): (&Rules, i64),
) -> Result<Round<'p>> {
    let residents = residents_of(data, &mut beside.look, up, rows).await?;
    let mut named = Vec::with_capacity(rows.len());
    let mut news = Vec::with_capacity(rows.len());
    let mut problems = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let_writes_go_on(i).await;
        let at = Place { up, map, row };
        match deed_of(data, &at, &residents, villages).await? {
            Ok(new) => {
                news.push(new);
                named.push(at);
            }
            Err(p) => problems.extend(p),
        }
    }
    let citizens: HashMap<String, CitizenSummary> =
        residents.into_values().map(|c| (c.id.clone(), c)).collect();
    let evaluation = data.evaluation();
    let prepared = evaluation.prepare_batch(&news, &citizens, now).await?;
    let plan = evaluation
        .plan_batch(
            &mut beside.look,
            &news,
            prepared,
            (rules, now),
            &mut beside.touched,
        )
        .await?;
    Ok(match plan {
        Plan::Decided(planned, outcomes) => {
            let mut applied = Applied {
                problems,
                ..Applied::default()
            };
            outcomes_into(&mut applied, &named, outcomes)?;
            Round::Decided(Decided {
                planned,
                applied,
                rows: rows.len(),
            })
        }
        Plan::InTurn(prepared) => Round::InTurn {
            named,
            news,
            prepared,
            problems,
            rows: rows.len(),
        },
    })
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
