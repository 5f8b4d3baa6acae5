//! The JSON API under `/api/v1`, described by `openapi.json` (OpenAPI 3.1) which is served at
//! `/api/v1/openapi.json` and rendered at `/api/docs`. Errors are problem details.

use crate::auth::ApiCaller;
use crate::authz::{require, Action};
use crate::error::{ApiJson, AppError};
use crate::flows::{self, SearchParams};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::{OtpCode, Phone};
use minijinja::context;
use moralbank_store::NewRegion;
use serde::Deserialize;
use serde_json::json;

pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every API route as (method, path pattern); the OpenAPI test checks each is documented.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/enrolments"),
    ("post", "/auth/otp"),
    ("post", "/auth/otp/verify"),
    ("post", "/auth/staff"),
    ("get", "/me"),
    ("get", "/me/access-log"),
    ("get", "/me/export"),
    ("post", "/me/withdraw"),
    ("get", "/regions"),
    ("post", "/regions"),
    ("post", "/citizens/search"),
    ("get", "/citizens/{id}"),
    ("post", "/staff"),
    ("post", "/partners"),
    ("post", "/partners/{id}/api-keys"),
    ("get", "/partner"),
    ("post", "/ledger/entries"),
    ("get", "/ledger/totals"),
    ("get", "/ledger/reversals"),
    ("post", "/ledger/reversals"),
    ("post", "/ledger/reversals/{id}/approve"),
    ("post", "/ledger/reversals/{id}/decline"),
    ("get", "/me/points"),
    ("get", "/me/entries"),
    ("get", "/me/entries/{index}/receipt"),
    ("get", "/citizens/{id}/entries"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/enrolments", post(enrol))
        .route("/auth/otp", post(otp_request))
        .route("/auth/otp/verify", post(otp_verify))
        .route("/auth/staff", post(staff_login))
        .route("/me", get(me))
        .route("/me/access-log", get(me_access_log))
        .route("/me/export", get(me_export))
        .route("/me/withdraw", post(me_withdraw))
        .route("/regions", get(regions).post(region_create))
        .route("/citizens/search", post(citizens))
        .route("/citizens/{id}", get(citizen))
        .route("/staff", post(staff_create))
        .route("/partners", post(partner_create))
        .route("/partners/{id}/api-keys", post(api_key_create))
        .route("/partner", get(partner_self))
        .merge(crate::ledger_api::router())
        .merge(crate::evaluation::router())
        .merge(crate::green_cards::api_router())
        .merge(crate::benefits::api_router())
        .fallback(|| async { AppError::NotFound("API route") })
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// `/api/docs`: the OpenAPI document rendered as a page, server-side (nothing to download).
pub async fn docs_page(State(state): State<AppState>, ctx: crate::auth::PageCtx) -> Response {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            // Paths with their own server (the public log) live at the site root.
            let prefix = if item.get("servers").is_some() {
                ""
            } else {
                "/api/v1"
            };
            for (method, op) in item.as_object().into_iter().flatten() {
                if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    continue;
                }
                ops.push(context! {
                    method => method.to_uppercase(), path => format!("{prefix}{path}"),
                    summary => op["summary"].as_str().unwrap_or_default(),
                    security => op.get("security").map(|s| s.to_string()).unwrap_or_else(|| "public".into()),
                    body => op["requestBody"]["content"]["application/json"]["schema"].as_object().map(|_| serde_json::to_string_pretty(&op["requestBody"]["content"]["application/json"]["schema"]).unwrap_or_default()),
                    responses => op["responses"].as_object().map(|r| r.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                });
            }
        }
    }
    let schemas = serde_json::to_string_pretty(&doc["components"]["schemas"]).unwrap_or_default();
    match crate::views::render(
        &state,
        &ctx,
        "api_docs.html",
        context! { ops => ops, schemas => schemas, title => doc["info"]["title"].as_str() },
    ) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrolBody {
    name: String,
    resident_id: String,
    phone: String,
    village_id: String,
    #[serde(default)]
    household_invite: Option<String>,
    consent_version: String,
}

async fn enrol(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<EnrolBody>,
) -> Result<Response, AppError> {
    let (household, invite) = match &b.household_invite {
        Some(code) => ("join", code.as_str()),
        None => ("new", ""),
    };
    let new = flows::parse_enrolment(
        &b.name,
        &b.resident_id,
        &b.phone,
        &b.village_id,
        household,
        invite,
        &b.consent_version,
    )?;
    let enrolled = flows::enrol(&state, &caller.client, &new).await?;
    Ok((StatusCode::CREATED, Json(enrolled)).into_response())
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
    flows::request_code(&state, &caller.client, &phone).await?;
    // The same answer whether or not the phone is enrolled.
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "sent_if_enrolled" })),
    )
        .into_response())
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

fn own_id(caller: &ApiCaller) -> Result<&str, AppError> {
    require(&caller.principal, Action::OwnRecord)?;
    caller.principal.citizen_id().ok_or(AppError::Forbidden)
}

async fn me(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let c = state
        .store
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Json(json!({
        "id": c.id, "name": c.name.as_str(), "resident_id_masked": c.resident_id.masked(), "phone_masked": c.phone.masked(),
        "village_id": c.village_id, "household_id": c.household_id, "household_head": c.is_head, "enrolled_at": c.enrolled_at,
        "household_members": state.store.household_members(&c.household_id).await?,
        "consents": state.store.consents(id).await?,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct LogPage {
    cursor: Option<String>,
    limit: Option<i64>,
}

const ACCESS_PAGE_MAX: i64 = 200;

async fn me_access_log(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(p): Query<LogPage>,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=ACCESS_PAGE_MAX).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit_range",
            "must be between 1 and 200",
        ));
    }
    let after = p.cursor.as_deref().map(parse_cursor).transpose()?;
    let items = state.store.access_log(id, after, limit).await?;
    let next = match items.last() {
        Some(e) if items.len() as i64 == limit => Some(format!("{}_{}", e.at, e.id)),
        _ => None,
    };
    Ok(Json(json!({ "items": items, "next_cursor": next })).into_response())
}

/// `<at>_<id>` of the last entry of the previous page.
fn parse_cursor(raw: &str) -> Result<(i64, &str), AppError> {
    let bad = || {
        AppError::invalid(
            "cursor",
            "cursor_format",
            "use the next_cursor of the previous page unchanged",
        )
    };
    let (at, id) = raw.split_once('_').ok_or_else(bad)?;
    let at = at.parse::<i64>().map_err(|_| bad())?;
    domain::parse_id("cursor", id).map_err(|_| bad())?;
    Ok((at, id))
}

async fn me_export(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    Ok(Json(state.store.export_citizen(id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    confirm: bool,
}

async fn me_withdraw(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<WithdrawBody>,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?.to_string();
    if !b.confirm {
        return Err(AppError::invalid(
            "confirm",
            "withdraw_unconfirmed",
            "set confirm to true: your personal data will be deleted",
        ));
    }
    state.withdraw(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct RegionsQuery {
    parent_id: Option<String>,
}

async fn regions(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(q): Query<RegionsQuery>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadRegionsApi)?;
    let items = match q.parent_id {
        Some(p) => {
            state
                .store
                .region_children(&domain::parse_id("parent_id", &p)?)
                .await?
        }
        None => state.store.city().await?.into_iter().collect(),
    };
    Ok(Json(json!({ "items": items })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionBody {
    parent_id: Option<String>,
    code: String,
    name_zh: String,
    name_en: String,
}

async fn region_create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<RegionBody>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageRegions)?;
    let parent_id = b
        .parent_id
        .map(|p| domain::parse_id("parent_id", &p))
        .transpose()?;
    let r = state
        .store
        .create_region(&NewRegion {
            parent_id,
            code: b.code,
            name_zh: b.name_zh,
            name_en: b.name_en,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Search criteria in the body, never in the URL, where proxies and logs would keep them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
}

async fn citizens(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<SearchBody>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadCitizens)?;
    let params = SearchParams {
        resident_id: b.resident_id,
        phone: b.phone,
        name: b.name,
    };
    let found =
        flows::search_citizens(&state, &caller.principal, &flows::parse_search(&params)?).await?;
    Ok(Json(json!({ "items": found })).into_response())
}

async fn citizen(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let v = flows::view_citizen(&state, &caller.principal, &id).await?;
    let mut body =
        serde_json::to_value(&v.summary).map_err(|e| AppError::Internal(e.to_string()))?;
    body["name"] = json!(v.full_name);
    Ok(Json(body).into_response())
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
    ApiJson(b): ApiJson<StaffBody>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageStaff)?;
    let new = flows::parse_new_staff(
        &b.username,
        &b.display_name,
        &b.password,
        &b.role,
        b.region_id.as_deref().unwrap_or(""),
        b.partner_id.as_deref().unwrap_or(""),
    )?;
    let s = state.store.create_staff(&new).await?;
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
    ApiJson(b): ApiJson<PartnerBody>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManagePartners)?;
    let p = state.store.create_partner(&b.name, &b.kind).await?;
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
    ApiJson(b): ApiJson<ApiKeyBody>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManagePartners)?;
    if b.scopes.len() > 16 {
        return Err(AppError::invalid(
            "scopes",
            "scopes_too_many",
            "at most 16 scopes",
        ));
    }
    let id = domain::parse_id("partner_id", &id).map_err(|_| AppError::NotFound("partner"))?;
    let (key, secret) = state.store.create_api_key(&id, &b.scopes, &b.label).await?;
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
