//! The registry's API: enrolment (a code proves the phone first), the resident's own record and
//! access log, export and withdrawal, regions, the staff's citizen search and reads (each
//! written to the access log) and the real-name step's confirmation in person.

use super::flows::{self, SearchParams};
use crate::auth::ApiCaller;
use crate::authz::{require, Action};
use crate::error::{ApiJson, ApiQuery, AppError, Path, UnreadBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::OtpCode;
use moralbank_store::NewRegion;
use serde::Deserialize;
use serde_json::json;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/enrolments", post(enrol))
        .route("/me", get(me))
        .route("/me/access-log", get(me_access_log))
        .route("/me/export", get(me_export))
        .route("/me/withdraw", post(me_withdraw))
        .route("/regions", get(regions).post(region_create))
        .route("/citizens/search", post(citizens))
        .route("/citizens/{id}", get(citizen))
        .route("/citizens/{id}/identity", post(confirm_identity))
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
    /// Absent: send a code to the phone. Present: the code, which enrols.
    #[serde(default)]
    code: Option<String>,
}

/// Two steps on one route: without `code`, check the enrolment and send a code to the phone
/// (`202`, the same for any phone and ID number); with it, enrol and sign in (`201`, with a
/// session token).
async fn enrol(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<EnrolBody>,
) -> Result<Response, AppError> {
    let (household, invite) = match &b.household_invite {
        Some(code) => ("join", code.as_str()),
        None => ("new", ""),
    };
    let parsed = flows::parse_enrolment(
        &b.name,
        &b.resident_id,
        &b.phone,
        &b.village_id,
        household,
        invite,
        &b.consent_version,
    );
    let code = b.code.as_deref().map(OtpCode::parse);
    let (new, code) = match (parsed, code) {
        (Ok(new), None) => {
            flows::send_enrolment_code(&state, &caller.client, &new).await?;
            return Ok(
                (StatusCode::ACCEPTED, Json(json!({ "status": "code_sent" }))).into_response(),
            );
        }
        (Ok(new), Some(Ok(code))) => (new, code),
        (Err(mut errors), Some(Err(e))) => {
            errors.push(e);
            return Err(errors.into());
        }
        (Err(errors), _) => return Err(errors.into()),
        (Ok(_), Some(Err(e))) => return Err(e.into()),
    };
    let enrolled = flows::enrol(&state, &caller.client, &new, &code).await?;
    // Signed in at once, as after `/auth/otp/verify`: the code proved the phone.
    let (token, session) = flows::session_for_new_resident(&state, &enrolled.citizen_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "citizen_id": enrolled.citizen_id, "household_id": enrolled.household_id,
            "consent_version": enrolled.consent_version, "enrolled_at": enrolled.enrolled_at,
            "token": token, "expires_at": session.expires_at,
        })),
    )
        .into_response())
}

fn own_id(caller: &ApiCaller) -> Result<&str, AppError> {
    require(&caller.principal, Action::OwnRecord)?;
    caller.principal.citizen_id().ok_or(AppError::Forbidden)
}

async fn me(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let c = state
        .store
        .registry()
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    Ok(Json(json!({
        "id": c.id, "name": c.name.as_str(), "resident_id_masked": c.resident_id.masked(), "phone_masked": c.phone.masked(),
        "village_id": c.village_id, "household_id": c.household_id, "household_head": c.is_head, "enrolled_at": c.enrolled_at,
        "identity": c.identity,
        "household_members": state.store.registry().household_members(&c.household_id).await?,
        "consents": state.store.registry().consents(id).await?,
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
    p: ApiQuery<LogPage>,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?;
    let p = p.read()?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=ACCESS_PAGE_MAX).contains(&limit) {
        return Err(AppError::invalid(
            "limit",
            "limit_range",
            "must be between 1 and 200",
        ));
    }
    let after = p.cursor.as_deref().map(parse_cursor).transpose()?;
    let items = state.store.registry().access_log(id, after, limit).await?;
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
    Ok(Json(super::flows::full_export(&state, id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    confirm: bool,
}

async fn me_withdraw(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: UnreadBody,
) -> Result<Response, AppError> {
    let id = own_id(&caller)?.to_string();
    let b: WithdrawBody = body.json().await?;
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
    q: ApiQuery<RegionsQuery>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadRegionsApi)?;
    let q = q.read()?;
    let items = match q.parent_id {
        Some(p) => {
            state
                .store
                .registry()
                .region_children(&domain::parse_id("parent_id", &p)?)
                .await?
        }
        None => state.store.registry().city().await?.into_iter().collect(),
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
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageRegions)?;
    let b: RegionBody = body.json().await?;
    let parent_id = b
        .parent_id
        .map(|p| domain::parse_id("parent_id", &p))
        .transpose()?;
    let r = state
        .store
        .registry()
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
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ReadCitizens)?;
    let b: SearchBody = body.json().await?;
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
struct IdentityBody {
    name: String,
    resident_id: String,
    id_card_seen: bool,
}

async fn confirm_identity(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    body: UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ConfirmIdentity)?;
    let b: IdentityBody = body.json().await?;
    let card = flows::IdCardSeen {
        name: b.name,
        resident_id: b.resident_id,
        id_card_seen: b.id_card_seen,
    };
    let identity = flows::confirm_identity(&state, &caller.principal, &id, &card).await?;
    Ok(Json(json!({ "citizen_id": id, "identity": identity })).into_response())
}
