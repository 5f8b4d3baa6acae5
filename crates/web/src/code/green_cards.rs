//! Green cards (道德绿卡) for the admin: issue, revoke with a reason, list with the figures the
//! reports use (issued, active) — over the API and on the console.

use crate::auth::{ApiCaller, PageCtx, Principal};
use crate::authz::{require, Action};
use crate::error::Path;
use crate::error::{AppError, UnreadBody};
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, Page, PageResult};
use crate::registry::flows::{self, SearchParams};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::FieldError;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/green-cards"),
    ("post", "/green-cards"),
    ("post", "/green-cards/{id}/revoke"),
];

pub fn api_router() -> Router<AppState> {
    Router::new()
        .route("/green-cards", get(list).post(issue))
        .route("/green-cards/{id}/revoke", post(revoke))
}

pub fn page_router() -> Router<AppState> {
    Router::new()
        .route("/console/green-cards", get(console).post(console_issue))
        .route("/console/green-cards/{id}/revoke", post(console_revoke))
}

/// `yyyy-mm-dd` (China Standard Time) → the first millisecond after that day.
fn end_of_day(raw: &str) -> Result<i64, FieldError> {
    let bad = || FieldError::new("valid_until", "invalid_date", "a date as yyyy-mm-dd");
    let parts: Vec<&str> = raw.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i32, u8, u8) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).map_err(|_| bad())?, d)
        .map_err(|_| bad())?;
    Ok(domain::time::end_of_cst_day(date))
}

fn admin_ref(p: &Principal) -> Result<String, AppError> {
    Ok(format!(
        "staff:{}",
        p.staff().ok_or(AppError::Unauthorized)?.id
    ))
}

async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::ViewGreenCards)?;
    let now = state.clock.now_ms();
    Ok(Json(json!({ "items": state.store.code().green_cards(1000).await?, "stats": state.store.code().green_card_stats(now).await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueBody {
    citizen_id: String,
    honour: String,
    citation: String,
    valid_until: String,
}

async fn issue(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageGreenCards)?;
    let b: IssueBody = body.json().await?;
    let id = domain::parse_id("citizen_id", &b.citizen_id)?;
    let until = end_of_day(&b.valid_until)?;
    let card = state
        .store
        .code()
        .issue_green_card(
            &id,
            &b.honour,
            &b.citation,
            until,
            &admin_ref(&caller.principal)?,
            state.clock.now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(card)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: String,
}

async fn revoke(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageGreenCards)?;
    let b: RevokeBody = body.json().await?;
    let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("green card"))?;
    let card = state
        .store
        .code()
        .revoke_green_card(
            &id,
            &b.reason,
            &admin_ref(&caller.principal)?,
            state.clock.now_ms(),
        )
        .await?;
    Ok(Json(card).into_response())
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct IssueForm {
    csrf: String,
    resident_id: String,
    /// A resident picked from a search (`/console/citizens?pick=green-card`).
    citizen_id: String,
    honour: String,
    citation: String,
    valid_until: String,
}

async fn console_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &IssueForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ManageGreenCards)?;
    let now = state.clock.now_ms();
    let cards: Vec<_> = state
        .store
        .code()
        .green_cards(500)
        .await?
        .into_iter()
        .map(|c| context! { active => c.is_active(now), card => c })
        .collect();
    // The resident picked from a search, by masked name and village: a read of their record,
    // in their access log like the search that found them.
    let picked = match domain::parse_id("citizen_id", &form.citizen_id) {
        Ok(id) => state.store.registry().citizen_summary(&id).await?,
        Err(_) => None,
    };
    if let Some(c) = &picked {
        crate::registry::flows::record_view(state, &ctx.principal, &c.id).await?;
    }
    let view = context! { cards, stats => state.store.code().green_card_stats(now).await?, form, picked,
    honours => moralbank_store::code::green_cards::honours(), errors => field_messages(state, ctx, errors) };
    Ok((status, render(state, ctx, "green_cards.html", view)?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PickedQuery {
    citizen: String,
}

async fn console(
    State(state): State<AppState>,
    ctx: PageCtx,
    axum::extract::Query(q): axum::extract::Query<PickedQuery>,
) -> PageResult {
    let form = IssueForm {
        citizen_id: q.citizen,
        ..IssueForm::default()
    };
    Ok(console_page(&state, &ctx, &form, &[], StatusCode::OK).await?)
}

async fn console_issue(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<IssueForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageGreenCards)?;
        ctx.check_csrf(&f.csrf)?;
        // The resident picked from a search (already logged in their access log by it), or
        // found by the full ID number, as any admin search (and logged the same way).
        let citizen_id = if f.citizen_id.is_empty() {
            let params = SearchParams {
                resident_id: f.resident_id.clone(),
                ..SearchParams::default()
            };
            let q = flows::parse_search(&params)?;
            let found = flows::search_citizens(&state, &ctx.principal, &q).await?;
            found
                .first()
                .ok_or_else(|| {
                    AppError::invalid(
                        "resident_id",
                        "not_enrolled",
                        "no enrolled resident has this ID number",
                    )
                })?
                .id
                .clone()
        } else {
            domain::parse_id("citizen_id", &f.citizen_id)?
        };
        let until = end_of_day(&f.valid_until)?;
        state
            .store
            .code()
            .issue_green_card(
                &citizen_id,
                &f.honour,
                &f.citation,
                until,
                &admin_ref(&ctx.principal)?,
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to("/console/green-cards").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_page(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeForm {
    csrf: String,
    reason: String,
    /// `yes`: the admin ticked that the holder loses the card's benefits.
    confirm: String,
}

async fn console_revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageGreenCards)?;
        ctx.check_csrf(&f.csrf)?;
        let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("green card"))?;
        if f.confirm != "yes" {
            return Err(AppError::invalid(
                "reason",
                "revoke_unconfirmed",
                "tick the box to confirm that the holder loses the card and its benefits",
            ));
        }
        state
            .store
            .code()
            .revoke_green_card(
                &id,
                &f.reason,
                &admin_ref(&ctx.principal)?,
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to("/console/green-cards").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_page(&state, &ctx, &IssueForm::default(), &errors, status).await
    })
    .await?)
}
