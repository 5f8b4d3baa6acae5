//! The resident's own pages: the home screen (the code one tap away, the tier as stars with
//! the way to the next one, points earned per month, what is new), the settings page (profile,
//! household, consents, export, withdrawal) and the access log, a page at a time.

use crate::auth::{self, PageCtx, Principal};
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::frame::chart;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, page, region_name, CsrfOnly, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use domain::FieldError;
use minijinja::context;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(home))
        .route("/me/settings", get(settings))
        .route("/me/access", get(access_page))
        .route("/me/invite", post(invite))
        .route("/me/export", get(export))
        .route("/me/export/view", get(export_view))
        .route("/me/withdraw", post(withdraw))
}

fn own_id(ctx: &PageCtx) -> Result<&str, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    ctx.principal.citizen_id().ok_or(AppError::Unauthorized)
}

/// Months shown on the home screen's chart of points earned.
const CHART_MONTHS: usize = 12;
/// The access log's page size on its own page; the home screen shows the latest few.
const ACCESS_PAGE: i64 = 30;
const ACCESS_ON_HOME: i64 = 5;

/// The stars: `tier` of `of` reached, and the way to the next one (points still needed and
/// the share of the step already made, in percent), none at the top.
pub(crate) fn stars(credit: i64, thresholds: &[i64]) -> minijinja::Value {
    let tier = domain::tier::tier(credit, thresholds);
    let of = thresholds.len();
    let next = thresholds.get(usize::from(tier)).copied();
    let from = thresholds
        .get(usize::from(tier).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    let progress = next.map(|n| ((credit - from) * 100 / (n - from).max(1)).clamp(0, 100));
    context! {
        tier, of, filled => usize::from(tier).min(of), empty => of.saturating_sub(usize::from(tier)),
        to_next => next.map(|n| n - credit), next_tier => next.map(|_| tier + 1), progress,
    }
}

/// The `yyyy-mm` (China time) of a moment.
fn month_of(ms: i64) -> String {
    moralbank_store::day_of(ms)[..7].to_string()
}

/// The last [`CHART_MONTHS`] months, oldest first, ending with `now`'s.
fn last_months(now: i64) -> Vec<String> {
    let current = month_of(now);
    let (y, m) = (
        current[..4].parse::<i32>().unwrap_or(2000),
        current[5..].parse::<i32>().unwrap_or(1),
    );
    let count = i32::try_from(CHART_MONTHS).unwrap_or(12);
    (0..count)
        .rev()
        .map(|back| {
            let total = y * 12 + (m - 1) - back;
            format!(
                "{:04}-{:02}",
                total.div_euclid(12),
                total.rem_euclid(12) + 1
            )
        })
        .collect()
}

/// The home screen's chart: points credited per month over the last year (reversals count
/// against the month they happened in), as a server-rendered SVG.
async fn points_chart(state: &AppState, ctx: &PageCtx, id: &str) -> Result<String, AppError> {
    let months = last_months(state.clock.now_ms());
    let mut earned = vec![0i64; months.len()];
    // A resident has a few entries a month: the latest 500 cover the year.
    for e in state.store.ledger().citizen_entries(id, None, 500).await? {
        if e.kind == "redemption" {
            continue;
        }
        if let Some(i) = months.iter().position(|m| *m == month_of(e.at_ms)) {
            earned[i] += e.amount;
        }
    }
    let labels: Vec<String> = months.iter().map(|m| m[2..].replace('-', "/")).collect();
    let series = [chart::Series {
        name: state.catalog.get(ctx.lang, "home.earned"),
        values: earned,
    }];
    Ok(chart::columns(
        "points-chart",
        &state.catalog.get(ctx.lang, "home.chart_title"),
        &labels,
        &series,
        &state.catalog.get(ctx.lang, "home.chart_empty"),
    ))
}

async fn home(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let id = own_id(&ctx)?;
    let c = state
        .store
        .registry()
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (mine, household) = crate::ledger::flows::points(&state, id).await?;
    let tiers = state.codes.as_ref().map(|c| c.tiers.clone());
    let inbox = state.store.evaluation().inbox("citizen", id, 100).await?;
    let deeds = state.store.evaluation().citizen_deeds(id, 3).await?;
    let view = context! {
        name => c.name.as_str(), identity => c.identity, village_id => c.village_id.as_str(),
        mine, household,
        stars => tiers.as_ref().map(|t| stars(mine.credit, t)),
        household_stars => tiers.as_ref().map(|t| stars(household.credit, t)),
        chart => points_chart(&state, &ctx, id).await?,
        unread => inbox.iter().filter(|n| !n.read).count(),
        latest => inbox.into_iter().take(3).collect::<Vec<_>>(),
        deeds,
        access => state.store.registry().access_log(id, None, ACCESS_ON_HOME).await?,
    };
    Ok(render(&state, &ctx, "me.html", view)?.into_response())
}

/// The settings page; `invite_code` and `errors` come from the forms on it.
async fn settings_page(
    state: &AppState,
    ctx: &PageCtx,
    invite_code: Option<String>,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let id = own_id(ctx)?;
    let c = state
        .store
        .registry()
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (village, town) = state
        .store
        .registry()
        .village_and_town(&c.village_id)
        .await?;
    let view = context! {
        identity => c.identity,
        citizen => context! {
            name => c.name.as_str(), resident_id => c.resident_id.masked(), phone => c.phone.masked(),
            village => region_name(ctx, &village), village_id => c.village_id.as_str(), town => region_name(ctx, &town), enrolled_at => c.enrolled_at, is_head => c.is_head,
        },
        members => state.store.registry().household_members(&c.household_id).await?,
        consents => state.store.registry().consents(id).await?,
        invite_code,
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "settings.html", view)?).into_response())
}

async fn settings(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(settings_page(&state, &ctx, None, &[], StatusCode::OK).await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AccessQuery {
    /// The last row of the previous page, `<at>.<id>` as the page's link gives it.
    after: String,
}

/// The access log, newest first, [`ACCESS_PAGE`] rows a page.
async fn access_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<AccessQuery>,
) -> PageResult {
    let id = own_id(&ctx)?;
    let after = q
        .after
        .split_once('.')
        .and_then(|(at, row)| Some((at.parse::<i64>().ok()?, row)))
        .filter(|(_, row)| domain::parse_id("after", row).is_ok());
    let rows = state
        .store
        .registry()
        .access_log(id, after, ACCESS_PAGE + 1)
        .await?;
    let more = rows.len() > usize::try_from(ACCESS_PAGE).unwrap_or(30);
    let rows: Vec<_> = rows
        .into_iter()
        .take(usize::try_from(ACCESS_PAGE).unwrap_or(30))
        .collect();
    let next = rows
        .last()
        .filter(|_| more)
        .map(|a| format!("{}.{}", a.at, a.id));
    let view = context! { access => rows, next, first_page => after.is_none() };
    Ok(render(&state, &ctx, "access.html", view)?.into_response())
}

async fn invite(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    let result: Page = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let code = state.store.registry().create_household_invite(id).await?;
        settings_page(&state, &ctx, Some(code), &[], StatusCode::OK).await
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        settings_page(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

async fn export(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let doc = super::flows::full_export(&state, own_id(&ctx)?).await?;
    let body = serde_json::to_string_pretty(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
    let headers = [
        (header::CONTENT_TYPE, "application/json; charset=utf-8"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"moralbank-export.json\"",
        ),
        (header::CACHE_CONTROL, "no-store"),
    ];
    Ok((headers, body).into_response())
}

/// The export as a page to read (and print): the same document as the download.
async fn export_view(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let id = own_id(&ctx)?;
    let doc = super::flows::full_export(&state, id).await?;
    let labels = crate::ledger::labels::Labels::load(&state, ctx.lang).await?;
    let rules = labels.of(doc["points_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["rule"].as_str()));
    let view = context! { doc => minijinja::Value::from_serialize(&doc), rules };
    let mut res = render(&state, &ctx, "export.html", view)?.into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[derive(Deserialize, Default)]
struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<WithdrawForm>,
) -> PageResult {
    let result: Page = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        if f.confirm != "yes" {
            return Err(AppError::invalid(
                "confirm",
                "withdraw_unconfirmed",
                "tick the box to confirm that your data will be deleted",
            ));
        }
        state.withdraw(id).await?;
        tracing::info!(citizen = %id, "resident withdrew");
        // From here on the visitor is anonymous again.
        let anon = PageCtx {
            principal: Principal::Anonymous,
            session_token: None,
            csrf: String::new(),
            ..ctx.clone()
        };
        let done = state.catalog.get(ctx.lang, "withdraw.done");
        let r = page(
            &state,
            &anon,
            "error.html",
            context! { status => 200, message => done, detail => "" },
            StatusCode::OK,
        )?;
        Ok((ctx.jar.clone().add(auth::removal(auth::SESSION_COOKIE)), r).into_response())
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        settings_page(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_count_the_tier_and_the_way_to_the_next() {
        let s = stars(30, &[0, 20, 50, 100, 200]);
        assert_eq!(s.get_attr("tier").unwrap().as_i64(), Some(2));
        assert_eq!(s.get_attr("filled").unwrap().as_i64(), Some(2));
        assert_eq!(s.get_attr("empty").unwrap().as_i64(), Some(3));
        assert_eq!(s.get_attr("to_next").unwrap().as_i64(), Some(20));
        assert_eq!(s.get_attr("next_tier").unwrap().as_i64(), Some(3));
        assert_eq!(s.get_attr("progress").unwrap().as_i64(), Some(33));
        let top = stars(250, &[0, 20, 50, 100, 200]);
        assert_eq!(top.get_attr("empty").unwrap().as_i64(), Some(0));
        assert!(top.get_attr("to_next").unwrap().is_none());
        assert!(top.get_attr("progress").unwrap().is_none());
    }

    #[test]
    fn the_chart_covers_the_last_twelve_months_across_a_new_year() {
        // 2026-02-10 in China.
        let m = last_months(1_770_700_000_000);
        assert_eq!(m.len(), 12);
        assert_eq!(m.first().map(String::as_str), Some("2025-03"));
        assert_eq!(m.last().map(String::as_str), Some("2026-02"));
    }
}
