//! The accounts' API: residents' sign-in codes, staff sign-in, staff accounts, partners and
//! their API keys, and a partner's view of itself.

use super::flows;
use crate::auth::ApiCaller;
use crate::authz::{require, Action};
use crate::error::Path;
use crate::error::{ApiJson, AppError, UnreadBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{OtpCode, OtpPurpose, Phone};
use serde::Deserialize;
use serde_json::json;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/otp", post(otp_request))
        .route("/auth/otp/verify", post(otp_verify))
        .route("/auth/staff", post(staff_login))
        .route("/staff", post(staff_create))
        .route("/partners", post(partner_create))
        .route("/partners/{id}/api-keys", post(api_key_create))
        .route("/partner", get(partner_self))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OtpBody {
    phone: String,
}

async fn otp_request(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<OtpBody>,
) -> Result<Response, AppError> {
    let phone = Phone::parse(&b.phone)?;
    // Sent, and answered, the same whether or not the phone is enrolled.
    crate::otp::send_code(&state, &caller.client, &phone, OtpPurpose::SignIn).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "status": "code_sent" }))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OtpVerifyBody {
    phone: String,
    code: String,
}

async fn otp_verify(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<OtpVerifyBody>,
) -> Result<Response, AppError> {
    let phone = Phone::parse(&b.phone)?;
    let code = OtpCode::parse(&b.code)?;
    let (token, session) = flows::sign_in_citizen(&state, &caller.client, &phone, &code).await?;
    Ok(Json(json!({ "token": token, "expires_at": session.expires_at })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffLoginBody {
    username: String,
    password: String,
}

async fn staff_login(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<StaffLoginBody>,
) -> Result<Response, AppError> {
    let (token, session, staff) =
        flows::sign_in_staff(&state, &caller.client, &b.username, &b.password)
            .await?
            .ok_or(AppError::Unauthorized)?;
    Ok(
        Json(json!({ "token": token, "expires_at": session.expires_at, "role": staff.role }))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffBody {
    username: String,
    display_name: String,
    password: String,
    role: String,
    region_id: Option<String>,
    partner_id: Option<String>,
}

async fn staff_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageStaff)?;
    let b: StaffBody = body.json().await?;
    let new = flows::parse_new_staff(
        &b.username,
        &b.display_name,
        &b.password,
        &b.role,
        b.region_id.as_deref().unwrap_or(""),
        b.partner_id.as_deref().unwrap_or(""),
    )?;
    let s = state.store.accounts().create_staff(&new).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerBody {
    name: String,
    kind: String,
}

async fn partner_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManagePartners)?;
    let b: PartnerBody = body.json().await?;
    let p = state
        .store
        .accounts()
        .create_partner(&b.name, &b.kind)
        .await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApiKeyBody {
    scopes: Vec<String>,
    #[serde(default)]
    label: String,
}

async fn api_key_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManagePartners)?;
    let b: ApiKeyBody = body.json().await?;
    if b.scopes.len() > 16 {
        return Err(AppError::invalid(
            "scopes",
            "scopes_too_many",
            "at most 16 scopes",
        ));
    }
    let id = domain::parse_id("partner_id", &id).map_err(|_| AppError::NotFound("partner"))?;
    let (key, secret) = state
        .store
        .accounts()
        .create_api_key(&id, &b.scopes, &b.label)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "key": key, "secret": secret, "note": "shown once; store it now" })),
    )
        .into_response())
}

async fn partner_self(caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::PartnerSelf)?;
    match &caller.principal {
        crate::auth::Principal::Partner(p) => Ok(Json(
            json!({ "partner": p.partner, "scopes": p.scopes, "key_id": p.key_id }),
        )
        .into_response()),
        _ => Err(AppError::Forbidden),
    }
}
