//! The ledger's API routes (nested under `/api/v1` by `crate::app`).

use super::flows as ledger;
use crate::auth::ApiCaller;
use crate::authz::{require, Action};
use crate::error::{ApiQuery, AppError, Path, UnreadBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ledger/totals", get(totals))
        .route("/ledger/reversals", get(reversals).post(reversal_request))
        .route("/ledger/reversals/{id}/approve", post(reversal_approve))
        .route("/ledger/reversals/{id}/decline", post(reversal_decline))
        .route("/me/points", get(my_points))
        .route("/me/entries", get(my_entries))
        .route("/me/entries/{index}/receipt", get(my_receipt))
        .route("/citizens/{id}/entries", get(citizen_entries))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    cursor: Option<String>,
    limit: Option<u32>,
}

fn parse_cursor(raw: Option<&str>) -> Result<Option<u64>, AppError> {
    raw.map(|c| {
        c.parse::<u64>().map_err(|_| {
            AppError::invalid(
                "cursor",
                "cursor_format",
                "use the next_cursor of the previous page unchanged",
            )
        })
    })
    .transpose()
}

fn own_id(caller: &ApiCaller) -> Result<&str, AppError> {
    require(&caller.principal, Action::OwnRecord)?;
    caller.principal.citizen_id().ok_or(AppError::Forbidden)
}

async fn my_points(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let (mine, household) = ledger::points(&state, id).await?;
    Ok(Json(json!({
        "balance": mine.balance, "credit": mine.credit,
        "household": { "balance": household.balance, "credit": household.credit },
    }))
    .into_response())
}

async fn my_entries(
    State(state): State<AppState>,
    caller: ApiCaller,
    p: ApiQuery<Page>,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let p = p.read()?;
    let limit = ledger::check_limit(p.limit)?;
    let items = state
        .store
        .ledger()
        .citizen_entries(id, parse_cursor(p.cursor.as_deref())?, limit)
        .await?;
    let next = ledger::next_cursor(&items, limit).map(|c| c.to_string());
    Ok(Json(json!({ "items": items, "next_cursor": next })).into_response())
}

async fn my_receipt(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(index): Path<String>,
    q: ApiQuery<ledger::ReceiptQuery>,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let q = q.read()?;
    let index = index
        .parse::<u64>()
        .map_err(|_| AppError::NotFound("entry"))?;
    let receipt = ledger::own_receipt(&state, id, index).await?;
    if q.format == ledger::ReceiptFormat::Json {
        return Ok(Json(receipt).into_response());
    }
    let (body, content_type, _) = ledger::receipt_body(&receipt, index, q.format)?;
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn citizen_entries(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    p: ApiQuery<Page>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadCitizenLedger)?;
    let p = p.read()?;
    let limit = ledger::check_limit(p.limit)?;
    let before = parse_cursor(p.cursor.as_deref())?;
    let items = ledger::entries_for_staff(&state, &caller.principal, &id, before, limit).await?;
    let next = ledger::next_cursor(&items, limit).map(|c| c.to_string());
    Ok(Json(json!({ "items": items, "next_cursor": next })).into_response())
}

async fn totals(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::ViewLedger)?;
    let totals = state.store.ledger().ledger_totals().await?;
    let head = state.store.ledger().log_head().await?;
    Ok(Json(json!({ "totals": totals, "log": head })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReversalsQuery {
    #[serde(default)]
    pending: bool,
}

async fn reversals(
    State(state): State<AppState>,
    caller: ApiCaller,
    q: ApiQuery<ReversalsQuery>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ViewLedger)?;
    let q = q.read()?;
    let items = state
        .store
        .ledger()
        .reversal_requests(q.pending, 200)
        .await?;
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReversalBody {
    entry_index: u64,
    reason: String,
}

async fn reversal_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageLedger)?;
    let b: ReversalBody = body.json().await?;
    let id = ledger::request_reversal(&state, &caller.principal, b.entry_index, &b.reason).await?;
    let req = state.store.ledger().reversal_request(&id).await?;
    Ok((StatusCode::CREATED, Json(req)).into_response())
}

async fn reversal_approve(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    Ok(Json(ledger::decide_reversal(&state, &caller.principal, &id, true).await?).into_response())
}

async fn reversal_decline(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    Ok(Json(ledger::decide_reversal(&state, &caller.principal, &id, false).await?).into_response())
}
