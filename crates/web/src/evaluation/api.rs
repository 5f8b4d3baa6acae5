//! Evaluation over the API: the public catalogue and publicity boards, residents reporting,
//! objecting and appealing, partners submitting (idempotent), committee members voting, town
//! reviewers deciding appeals, the admin editing standards, everyone's inbox.

use super::flows::*;
use crate::auth::{ApiCaller, Principal};
use crate::authz::{require, Action};
use crate::error::{ApiQuery, AppError, Path, UnreadBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use moralbank_store::evaluation::{NewDeed, NewStandard, Reporter, BOARD_PAGE_ROWS};
use serde::Deserialize;
use serde_json::json;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/standards"),
    ("post", "/standards"),
    ("post", "/deeds"),
    ("post", "/partner/deeds"),
    ("get", "/me/deeds"),
    ("get", "/deeds/{id}"),
    ("post", "/deeds/{id}/votes"),
    ("post", "/deeds/{id}/objections"),
    ("post", "/deeds/{id}/appeal"),
    ("post", "/deeds/{id}/appeal-decision"),
    ("get", "/committee/queue"),
    ("get", "/town/appeals"),
    ("get", "/villages/{id}/publicity"),
    ("get", "/inbox"),
    ("post", "/inbox/read"),
    ("post", "/staff/{id}/resident"),
];

/// The API routes that take uploads, with their full paths: `lib.rs` gives them the uploads'
/// body limit. Reports and partner submissions may carry photos (multipart; see
/// `deed_request`). Partners' files of deeds (`/partner/deeds/bulk`) are city data's imports.
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deeds", post(report))
        .route("/api/v1/partner/deeds", post(partner_submit))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/standards", get(standards).post(standard_save))
        .route("/me/deeds", get(my_deeds))
        .route("/deeds/{id}", get(deed))
        .route("/deeds/{id}/votes", post(vote))
        .route("/deeds/{id}/objections", post(object))
        .route("/deeds/{id}/appeal", post(appeal))
        .route("/deeds/{id}/appeal-decision", post(appeal_decision))
        .route("/committee/queue", get(queue))
        .route("/town/appeals", get(appeals))
        .route("/villages/{id}/publicity", get(board))
        .route("/inbox", get(inbox))
        .route("/inbox/read", post(inbox_read))
        .route("/staff/{id}/resident", post(link_resident))
}

async fn standards(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "items": state.store.evaluation().standards().await? })).into_response())
}

async fn standard_save(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageStandards)?;
    let b: NewStandard = body.json().await?;
    let s = state
        .store
        .evaluation()
        .save_standard(&b, &staff_ref(&caller.principal)?)
        .await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

pub(crate) async fn report(
    State(state): State<AppState>,
    caller: ApiCaller,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReportDeeds)?;
    let (b, evidence) = deed_request::<ReportBody>(&state, req).await?;
    let d = report_flow(&state, &caller.principal, &b, evidence).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerBody {
    citizen_id: String,
    standard: String,
    deed_date: String,
    place: String,
    description: String,
    #[serde(default)]
    points: Option<i64>,
}

pub(crate) async fn partner_submit(
    State(state): State<AppState>,
    caller: ApiCaller,
    key: crate::idempotency::IdempotencyHeader,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::SubmitDeeds)?;
    let Principal::Partner(p) = &caller.principal else {
        return Err(AppError::Forbidden);
    };
    let key = key.require("unique per deed, and reuse it when retrying")?;
    let (b, evidence) = deed_request::<PartnerBody>(&state, req).await?;
    let new = NewDeed {
        citizen_id: domain::parse_id("citizen_id", &b.citizen_id)?,
        reporter: Reporter::Partner {
            partner_id: p.partner.id.clone(),
            key,
        },
        standard_code: b.standard,
        deed_date: b.deed_date,
        place: b.place,
        description: b.description,
        evidence,
        points: b.points,
    };
    let d = state
        .store
        .evaluation()
        .report_deed(&new, &state.rules, state.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

async fn my_deeds(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::OwnRecord)?;
    let me = caller.principal.citizen_id().ok_or(AppError::Forbidden)?;
    Ok(
        Json(json!({ "items": state.store.evaluation().citizen_deeds(me, 200).await? }))
            .into_response(),
    )
}

async fn deed(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    Ok(Json(deed_for(&state, &caller.principal, &id).await?).into_response())
}

async fn vote(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::VoteDeeds)?;
    let b: VoteBody = body.json().await?;
    let status = vote_flow(&state, &caller.principal, &id, &b).await?;
    Ok(Json(json!({ "status": status })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    pub reason: String,
}

async fn object(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReportDeeds)?;
    let b: ReasonBody = body.json().await?;
    object_flow(&state, &caller.principal, &id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn appeal(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReportDeeds)?;
    let b: ReasonBody = body.json().await?;
    appeal_flow(&state, &caller.principal, &id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn appeal_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::DecideAppeals)?;
    let b: DecisionBody = body.json().await?;
    let status = decide_flow(&state, &caller.principal, &id, &b).await?;
    Ok(Json(json!({ "status": status })).into_response())
}

async fn queue(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::VoteDeeds)?;
    let village = caller
        .principal
        .staff()
        .and_then(|s| s.region_id.clone())
        .ok_or(AppError::Forbidden)?;
    let items: Vec<_> = state
        .store
        .evaluation()
        .committee_queue(&village, 500)
        .await?
        .into_iter()
        .map(|d| json!({ "overdue": overdue(&state, &d), "deed": d }))
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

async fn appeals(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::DecideAppeals)?;
    let town = caller
        .principal
        .staff()
        .and_then(|s| s.region_id.clone())
        .ok_or(AppError::Forbidden)?;
    let items: Vec<_> = state
        .store
        .evaluation()
        .appeal_queue(&town, 500)
        .await?
        .into_iter()
        .map(|d| json!({ "overdue": overdue(&state, &d), "deed": d }))
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
struct BoardQuery {
    cursor: Option<String>,
}

async fn board(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: ApiQuery<BoardQuery>,
) -> Result<Response, AppError> {
    let q = q.read()?;
    let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("village"))?;
    let after = board_cursor(q.cursor.as_deref())?;
    let page = state
        .store
        .evaluation()
        .publicity_board(&id, after.as_ref(), BOARD_PAGE_ROWS)
        .await?;
    Ok(Json(page).into_response())
}

async fn inbox(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let (kind, id) = inbox_owner(&caller.principal)?;
    Ok(
        Json(json!({ "items": state.store.evaluation().inbox(kind, &id, 200).await? }))
            .into_response(),
    )
}

async fn inbox_read(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, AppError> {
    let (kind, id) = inbox_owner(&caller.principal)?;
    let n = state
        .store
        .evaluation()
        .mark_read(kind, &id, state.clock.now_ms())
        .await?;
    Ok(Json(json!({ "marked": n })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidentLink {
    /// The member's full resident ID number; empty to unlink.
    resident_id: String,
    #[serde(default)]
    chair: bool,
}

async fn link_resident(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageStaff)?;
    let b: ResidentLink = body.json().await?;
    let link = link_flow(&state, &caller.principal, &id, &b.resident_id, b.chair).await?;
    Ok(Json(json!({
        "staff_id": link.staff_id, "linked": link.citizen_id.is_some(), "chair": link.is_chair
    }))
    .into_response())
}
