//! The technology supermarket's expert pool: each row inserts or updates one profile by the
//! office's number, through `market::experts`' own writing, in the import's one transaction.
//! A profile its expert has claimed is theirs: the office's row leaves it unchanged.

use super::{Applied, Place, RowResult, Upload};
use crate::citydata::CityData;
use crate::market::experts::{upsert_from_file, PoolRow};
use crate::Result;
use domain::citydata::rows::Row;
use domain::citydata::HeaderMap;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(super) async fn apply(
    data: &CityData<'_>,
    tx: &mut sqlx::AnyConnection,
    up: &Upload<'_>,
    import_id: &str,
    (map, rows): (&HeaderMap, &[Row]),
    now: i64,
    progress: &AtomicUsize,
) -> Result<Applied> {
    let mut out = Applied::default();
    let market = data.market();
    for row in rows {
        progress.fetch_add(1, Ordering::Relaxed);
        let at = Place { up, map, row };
        let Some(pool) = checked(&at, &mut out) else {
            continue;
        };
        let (id, outcome) = upsert_from_file(&market, tx, &pool, import_id, now).await?;
        out.results.push(RowResult {
            line: row.line,
            key: pool.code.to_string(),
            record_id: id,
            outcome: outcome.into(),
            status: pool.availability.into(),
        });
    }
    Ok(out)
}

/// The row's cells the schema cannot check alone (codes, keywords, phone, e-mail), or its
/// problems.
fn checked<'a>(at: &'a Place<'a>, out: &mut Applied) -> Option<PoolRow<'a>> {
    let v = |name: &str| at.value(name).unwrap_or_default();
    let before = out.problems.len();
    let code = v("code");
    let code_ok =
        code.len() >= 2 && code.starts_with('E') && code[1..].chars().all(|c| c.is_ascii_digit());
    if !code_ok {
        out.problems.push(at.problem(
            "code",
            "invalid_format",
            "E followed by digits, e.g. E000123",
        ));
    }
    let mut industries = Vec::new();
    for c in v("industries")
        .split([' ', '、', ',', '，', ';', '；'])
        .filter(|c| !c.trim().is_empty())
    {
        match domain::market::codes::industry(c) {
            Some(i) if !industries.contains(&i.code) => industries.push(i.code),
            Some(_) => {}
            None => {
                out.problems.push(at.problem(
                    "industries",
                    "industry_unknown",
                    "a code that is not a GB/T 4754-2017 division on the list",
                ));
                break;
            }
        }
    }
    if industries.is_empty() && out.problems.len() == before {
        out.problems.push(at.problem(
            "industries",
            "required",
            "at least one GB/T 4754-2017 division",
        ));
    }
    let keywords = domain::market::keywords("keywords", v("keywords"))
        .map_err(|e| out.problems.push(at.problem("keywords", e.code, &e.detail)))
        .ok();
    let phone = domain::Phone::parse(v("phone"))
        .map_err(|e| out.problems.push(at.problem("phone", e.code, &e.detail)))
        .ok();
    let email = v("email");
    let email_ok = email.split_once('@').is_some_and(|(a, b)| {
        !a.is_empty() && b.contains('.') && !email.contains(char::is_whitespace)
    });
    if !email_ok {
        out.problems
            .push(at.problem("email", "invalid_email", "an address like name@example.cn"));
    }
    if out.problems.len() != before {
        return None;
    }
    Some(PoolRow {
        code: at.value("code")?,
        name: at.value("name")?,
        title: at.value("title")?,
        institution: at.value("institution")?,
        discipline: at.value("discipline")?,
        industries: industries.join(" "),
        keywords: keywords?,
        summary: at.value("summary")?,
        area: at.value("area")?,
        availability: at.value("availability")?,
        phone: phone?,
        email: at.value("email")?,
        consent_on: at.value("consent_on")?,
    })
}
