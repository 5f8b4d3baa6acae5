//! The staff dashboard (统计看板): the city's figures as charts, each with its table beside it and
//! a CSV download, filtered by period and town. Each role sees its own scope: the admin and the
//! auditor the city (or one town of it), a town reviewer their town, a village evaluator their
//! village. The figures are the roll-ups (`store::citydata::stats`), so a page costs the same
//! for a city of a million residents as for a village.

mod charts;

use crate::auth::{PageCtx, Principal};
use crate::authz::{require, Action};
use crate::error::{ApiQuery, AppError, Path};
use crate::frame::views::render;
use crate::frame::{field_messages, region_name, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use charts::charts;
use domain::{FieldError, Role};
use minijinja::context;
use moralbank_store::{Region, Scope};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/statistics", get(page))
        .route("/console/statistics/{file}", get(csv))
}

/// How many months a period may span, and how many days the daily chart shows.
const MONTHS_MAX: i64 = 60;
const DAYS_SHOWN: i64 = 31;

/// The dashboard's scope for a staff member; `None` for roles without one.
pub fn scope_of(principal: &Principal) -> Option<Scope> {
    let s = principal.staff()?;
    match (s.role, &s.region_id) {
        (Role::Admin | Role::Auditor, _) => Some(Scope::City),
        (Role::TownReviewer, Some(t)) => Some(Scope::Town(t.clone())),
        (Role::Evaluator, Some(v)) => Some(Scope::Village(v.clone())),
        _ => None,
    }
}

#[derive(Debug, Deserialize, Default, Serialize, Clone)]
#[serde(default)]
pub struct Filter {
    /// First month, `yyyy-mm`.
    from: Option<String>,
    /// Last month, `yyyy-mm`.
    to: Option<String>,
    /// A town's code (city scope only).
    town: Option<String>,
}

/// A month as (year, month).
fn parse_month(s: &str) -> Option<(i64, i64)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
    ((2000..=2100).contains(&y) && (1..=12).contains(&m)).then_some((y, m))
}

fn month_str((y, m): (i64, i64)) -> String {
    format!("{y:04}-{m:02}")
}

fn add_months((y, m): (i64, i64), k: i64) -> (i64, i64) {
    let i = y * 12 + (m - 1) + k;
    (i.div_euclid(12), i.rem_euclid(12) + 1)
}

fn months_between(a: (i64, i64), b: (i64, i64)) -> i64 {
    (b.0 * 12 + b.1) - (a.0 * 12 + a.1)
}

/// What a request asks for, checked.
struct Period {
    from: (i64, i64),
    to: (i64, i64),
    /// The scope after the town filter.
    scope: Scope,
    town_code: String,
}

fn check(
    f: &Filter,
    own: &Scope,
    towns: &[Region],
    today: &str,
) -> Result<Period, Vec<FieldError>> {
    let this = parse_month(&today[..7]).unwrap_or((2026, 1));
    let mut errs = Vec::new();
    let mut month = |field: &'static str, v: &Option<String>, default: (i64, i64)| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => default,
        Some(s) => parse_month(s).unwrap_or_else(|| {
            errs.push(FieldError::new(
                field,
                "month_format",
                "a month as yyyy-mm, e.g. 2026-03",
            ));
            default
        }),
    };
    let to = month("to", &f.to, this);
    let from = month("from", &f.from, add_months(to, -11));
    if errs.is_empty() && from > to {
        errs.push(FieldError::new(
            "from",
            "period_order",
            "the first month must not be after the last",
        ));
    } else if errs.is_empty() && months_between(from, to) >= MONTHS_MAX {
        errs.push(FieldError::new(
            "from",
            "period_too_long",
            "at most 60 months at once",
        ));
    }
    let town_code = f.town.as_deref().map(str::trim).unwrap_or("").to_string();
    let mut scope = own.clone();
    if !town_code.is_empty() {
        match (own, towns.iter().find(|t| t.code == town_code)) {
            (Scope::City, Some(t)) => scope = Scope::Town(t.id.clone()),
            (Scope::City, None) => errs.push(FieldError::new(
                "town",
                "unknown_town",
                "no town has this code",
            )),
            _ => errs.push(FieldError::new(
                "town",
                "outside_scope",
                "you see only your own area",
            )),
        }
    }
    if errs.is_empty() {
        Ok(Period {
            from,
            to,
            scope,
            town_code,
        })
    } else {
        Err(errs)
    }
}

async fn towns(state: &AppState) -> Result<Vec<Region>, AppError> {
    Ok(match state.store.registry().city().await? {
        Some(c) => state.store.registry().region_children(&c.id).await?,
        None => vec![],
    })
}

async fn page(State(state): State<AppState>, ctx: PageCtx, q: ApiQuery<Filter>) -> PageResult {
    require(&ctx.principal, Action::ViewStatistics)?;
    let f = q.read()?;
    let own = scope_of(&ctx.principal).ok_or(AppError::Forbidden)?;
    let towns = towns(&state).await?;
    let today = moralbank_store::day_of(state.clock.now_ms());
    let fresh = state.store.citydata().statistics_freshness().await?;
    let scope_name = match &own {
        Scope::City => state.catalog.get(ctx.lang, "stats.scope_city"),
        Scope::Town(id) | Scope::Village(id) => match state.store.registry().region(id).await? {
            Some(r) => region_name(&ctx, &r),
            None => id.clone(),
        },
    };
    let town_options: Vec<_> = if matches!(own, Scope::City) {
        towns
            .iter()
            .map(|t| context! { code => t.code, name => region_name(&ctx, t) })
            .collect()
    } else {
        vec![]
    };
    let (charts, errors, status, query) = match check(&f, &own, &towns, &today) {
        Ok(p) => {
            let query = format!(
                "from={}&to={}&town={}",
                month_str(p.from),
                month_str(p.to),
                p.town_code
            );
            let form = Filter {
                from: Some(month_str(p.from)),
                to: Some(month_str(p.to)),
                town: Some(p.town_code.clone()),
            };
            (
                charts(&state, &ctx, &p).await?,
                HashMap::new(),
                StatusCode::OK,
                (query, form),
            )
        }
        Err(errs) => (
            vec![],
            field_messages(&state, &ctx, &errs),
            StatusCode::UNPROCESSABLE_ENTITY,
            (String::new(), f.clone()),
        ),
    };
    let view = context! {
        charts, errors, form => query.1, query => query.0, towns => town_options, scope_name,
        folded_at => fresh.folded_at, pending => fresh.pending,
    };
    let html = render(&state, &ctx, "statistics.html", view)?;
    Ok((status, html).into_response())
}

/// `/console/statistics/<chart>.csv`: one chart's table, UTF-8 with a byte-order mark (what
/// Excel needs to read Chinese), with the same filters as the page.
async fn csv(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(file): Path<String>,
    q: ApiQuery<Filter>,
) -> Result<Response, AppError> {
    require(&ctx.principal, Action::ViewStatistics)?;
    let f = q.read()?;
    let own = scope_of(&ctx.principal).ok_or(AppError::Forbidden)?;
    let id = file
        .strip_suffix(".csv")
        .ok_or(AppError::NotFound("chart"))?;
    let towns = towns(&state).await?;
    let p = check(
        &f,
        &own,
        &towns,
        &moralbank_store::day_of(state.clock.now_ms()),
    )
    .map_err(|e| AppError::Invalid(domain::FieldErrors(e)))?;
    let chart = charts(&state, &ctx, &p)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound("chart"))?;
    let mut w = csv::Writer::from_writer(vec![0xef, 0xbb, 0xbf]);
    let write = |w: &mut csv::Writer<Vec<u8>>, r: &[String]| {
        w.write_record(r.iter().map(|c| csv_safe(c)))
            .map_err(|e| AppError::Internal(e.to_string()))
    };
    write(&mut w, &chart.columns)?;
    for r in &chart.rows {
        write(&mut w, r)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let name = format!("{id}-{}-{}.csv", month_str(p.from), month_str(p.to));
    Ok(super::api::download(
        "text/csv; charset=utf-8",
        &name,
        bytes,
    ))
}

/// A cell Excel would run as a formula (a name an admin typed, starting with `=`, `+`, `-`, `@`)
/// is written with a leading apostrophe; numbers are written as they are.
fn csv_safe(c: &str) -> String {
    if c.parse::<i64>().is_err() && c.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_default_to_the_last_twelve_months_and_bad_ones_name_their_field() {
        let p = check(&Filter::default(), &Scope::City, &[], "2026-12-06").unwrap();
        assert_eq!(
            (month_str(p.from), month_str(p.to)),
            ("2026-01".into(), "2026-12".into())
        );
        let bad = |from: &str, to: &str| {
            check(
                &Filter {
                    from: Some(from.into()),
                    to: Some(to.into()),
                    town: None,
                },
                &Scope::City,
                &[],
                "2026-12-06",
            )
            .err()
            .unwrap()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            bad("2026-13", "2026-12"),
            [("from".to_string(), "month_format")]
        );
        assert_eq!(
            bad("2026-05", "2026-04"),
            [("from".to_string(), "period_order")]
        );
        assert_eq!(
            bad("2020-01", "2026-01"),
            [("from".to_string(), "period_too_long")]
        );
        let e = check(
            &Filter {
                town: Some("330281001".into()),
                ..Filter::default()
            },
            &Scope::Village("v".into()),
            &[],
            "2026-12-06",
        )
        .err()
        .unwrap();
        assert_eq!(e[0].code, "outside_scope");
    }

    #[test]
    fn the_daily_chart_ends_on_a_real_day() {
        let d = charts::last_days("2026-02-31", 3);
        assert_eq!(d, ["2026-02-26", "2026-02-27", "2026-02-28"]);
        assert_eq!(
            charts::last_days("2026-03-02", 3),
            ["2026-02-28", "2026-03-01", "2026-03-02"]
        );
    }
}
