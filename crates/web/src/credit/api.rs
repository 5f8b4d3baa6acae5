//! The bank's API, under `/api/v1/credit`: pull a report under a live consent (`credit:read`),
//! verify a presented one and record its read (`credit:read`), record a decision
//! (`loans:write`; one per report, so a retry is answered with the decision recorded), send
//! the monthly loan book (`loans:write`, through the city-data import pipeline); and the
//! published tables, for anyone.

use crate::auth::ApiCaller;
use crate::authz::{require, Action};
use crate::citydata::flows::{respond, run};
use crate::credit::{bank_actor, issuer, signer, verify_text};
use crate::error::{ApiQuery, AppError, Path, UnreadBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::credit::{Decision, DecisionInput};
use moralbank_store::citydata::imports::ImportOwner;
use serde::Deserialize;
use serde_json::json;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/credit/tables"),
    ("get", "/credit/consents/{id}/report"),
    ("post", "/credit/reports/verify"),
    ("post", "/credit/reports/{id}/decision"),
    ("post", "/credit/loan-book"),
];

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/credit/tables", get(tables))
        .route("/credit/consents/{id}/report", get(pull))
        .route("/credit/reports/{id}/decision", post(decide))
}

/// The loan book takes a file, and a presented report's text may be written with JSON escapes
/// several times its length: their full paths, for the uploads' limit (`lib.rs`).
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/credit/loan-book", post(loan_book))
        .route("/api/v1/credit/reports/verify", post(verify))
}

async fn tables(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "items": state.store.credit().current_tables().await? })).into_response())
}

fn report_json(
    stored: &moralbank_store::credit::reports::StoredReport,
    report: &moralbank_code::CreditReport,
) -> serde_json::Value {
    json!({ "report_id": stored.id, "consent_id": stored.consent_id, "text": stored.body, "report": report })
}

/// `GET /credit/consents/{id}/report`: the report under a live consent of the household to
/// this bank, issued now if need be; the consent is then used.
async fn pull(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadCreditReports)?;
    let bank = bank_actor(&state, &caller.principal).await?;
    let c = issuer(&state)?;
    let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("consent"))?;
    let now = state.clock.now_ms();
    let stored = state
        .store
        .credit()
        .bank_pull(&bank, &id, &signer(c), now)
        .await?;
    let report = verify_text(c, &stored.body, &bank.id, now)?;
    Ok(Json(report_json(&stored, &report)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    text: String,
}

/// `POST /credit/reports/verify`: a report the household presented, verified offline against
/// the published keys for this bank; its read is recorded (refused once the household revoked).
async fn verify(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadCreditReports)?;
    let bank = bank_actor(&state, &caller.principal).await?;
    let c = issuer(&state)?;
    let b: VerifyBody = body.json().await?;
    let now = state.clock.now_ms();
    let report = verify_text(c, &b.text, &bank.id, now)?;
    let stored = state
        .store
        .credit()
        .bank_read_presented(&bank, &report.id_hex(), &report.consent_id, now)
        .await?;
    let mut out = report_json(&stored, &report);
    out["decision"] = json!(state.store.credit().decision_of_report(&stored.id).await?);
    Ok(Json(out).into_response())
}

/// `POST /credit/reports/{id}/decision`: 201 with the decision recorded, 200 with the same
/// decision when it is a retry, 409 when a different one is recorded.
async fn decide(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::RecordLoans)?;
    let bank = bank_actor(&state, &caller.principal).await?;
    let input: DecisionInput = body.json().await?;
    let d = Decision::parse(&input)?;
    if !(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(AppError::NotFound("credit report"));
    }
    let (recorded, created) = state
        .store
        .credit()
        .record_decision(
            &bank,
            &super::decider(&caller.principal),
            &id,
            &d,
            state.clock.now_ms(),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(recorded)).into_response())
}

#[derive(Deserialize)]
struct BookQuery {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// `POST /credit/loan-book`: the monthly loan book (CSV or a spreadsheet, kind `bank-loans`),
/// committed whole or refused whole with a problem per bad cell; `?mode=preview` checks only.
async fn loan_book(
    State(state): State<AppState>,
    caller: ApiCaller,
    q: ApiQuery<BookQuery>,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::RecordLoans)?;
    let bank = bank_actor(&state, &caller.principal).await?;
    let q = q.read()?;
    let mode = crate::citydata::api::import_mode(q.mode.as_deref())?;
    let bytes = crate::citydata::api::body_bytes(req).await?;
    let name = q.file_name.unwrap_or_else(|| "loan-book.csv".into());
    let owner = ImportOwner::Partner(bank.id.clone());
    let schema = &domain::citydata::kinds::BANK_LOANS;
    let i = run(&state, schema, &owner, &bank.id, &name, &bytes, mode).await?;
    Ok(respond(&i))
}
