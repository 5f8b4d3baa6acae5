//! Evaluation over the API: the public catalogue and publicity boards, residents reporting,
//! objecting and appealing, partners submitting (idempotent), committee members voting, town
//! reviewers deciding appeals, the admin editing standards, everyone's inbox.

use crate::auth::{ApiCaller, Principal};
use crate::authz::{require, Action};
use crate::error::{ApiJson, AppError};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::Role;
use moralbank_store::evaluation::{
    AppealDecision, BoardCursor, Deed, Evidence, NewDeed, NewStandard, Reporter, VoteInput,
    BOARD_PAGE_ROWS,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/standards"),
    ("post", "/standards"),
    ("post", "/deeds"),
    ("post", "/partner/deeds"),
    ("post", "/partner/deeds/bulk"),
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

/// What anyone may see of a deed on a public board: masked name, summary, points, dates.
/// The board's `cursor` (the previous page's `next_cursor`), checked.
pub(crate) fn board_cursor(raw: Option<&str>) -> Result<Option<BoardCursor>, AppError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => BoardCursor::parse(raw).map(Some).ok_or_else(|| {
            AppError::invalid(
                "cursor",
                "cursor_format",
                "use the next_cursor of the previous page unchanged",
            )
        }),
    }
}

async fn standards(State(state): State<AppState>) -> Result<Response, AppError> {
    Ok(Json(json!({ "items": state.store.standards().await? })).into_response())
}

fn staff_ref(p: &Principal) -> Result<String, AppError> {
    Ok(format!(
        "staff:{}",
        p.staff().ok_or(AppError::Forbidden)?.id
    ))
}

async fn standard_save(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(b): ApiJson<NewStandard>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ManageStandards)?;
    let s = state
        .store
        .save_standard(&b, &staff_ref(&caller.principal)?)
        .await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportBody {
    /// Whom the deed is about; absent: the reporting resident themself.
    #[serde(default)]
    pub citizen_id: Option<String>,
    pub standard: String,
    pub deed_date: String,
    pub place: String,
    pub description: String,
}

/// The body of a deed report or submission over the API: JSON, or `multipart/form-data` with
/// the same JSON in a part named `deed` and up to five photos or PDFs in parts named
/// `evidence`, checked and stored like the report page's. The route allows an upload's size;
/// the JSON itself is held to the API's usual body limit either way.
pub(crate) async fn deed_request<T: DeserializeOwned>(
    state: &AppState,
    req: axum::extract::Request,
) -> Result<(T, Vec<Evidence>), AppError> {
    use axum::extract::{FromRequest, Multipart};
    let json_max = state.config.body_bytes_max;
    let multipart = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, json_max)
            .await
            .map_err(|_| AppError::TooLarge)?;
        let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
        let ApiJson(b) = ApiJson::<T>::from_request(req, state).await?;
        return Ok((b, vec![]));
    }
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| AppError::BadRequest(e.body_text()))?;
    let (mut deed, mut files) = (None, Vec::new());
    let bad = crate::evidence::upload_failed;
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "deed" => {
                let text = field.bytes().await.map_err(bad)?;
                if text.len() > json_max {
                    return Err(AppError::TooLarge);
                }
                let b = serde_json::from_slice::<T>(&text)
                    .map_err(|e| AppError::invalid("deed", "json_field", &e.to_string()))?;
                deed = Some(b);
            }
            "evidence" => {
                let bytes = field.bytes().await.map_err(bad)?;
                crate::evidence::add_upload(
                    &state.evidence_dir,
                    state.store.vault(),
                    &mut files,
                    &bytes,
                )
                .await?;
            }
            other => {
                return Err(AppError::invalid(
                    "body",
                    "unknown_part",
                    &format!("unknown part '{other}': send `deed` (JSON) and `evidence` files"),
                ))
            }
        }
    }
    let deed = deed.ok_or_else(|| {
        AppError::invalid(
            "deed",
            "missing",
            "send the deed as JSON in a part named `deed`",
        )
    })?;
    Ok((deed, files))
}

/// A resident reports their own deed or nominates someone else's.
pub(crate) async fn report_flow(
    state: &AppState,
    principal: &Principal,
    b: &ReportBody,
    evidence: Vec<Evidence>,
) -> Result<Deed, AppError> {
    require(principal, Action::ReportDeeds)?;
    let me = principal.citizen_id().ok_or(AppError::Forbidden)?;
    let citizen_id = match &b.citizen_id {
        Some(c) if !c.trim().is_empty() => domain::parse_id("citizen_id", c)?,
        _ => me.to_string(),
    };
    let new = NewDeed {
        citizen_id,
        reporter: Reporter::Citizen(me.to_string()),
        standard_code: b.standard.clone(),
        deed_date: b.deed_date.clone(),
        place: b.place.clone(),
        description: b.description.clone(),
        evidence,
        points: None,
    };
    Ok(state
        .store
        .report_deed(&new, &state.rules, state.clock.now_ms())
        .await?)
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
        .report_deed(&new, &state.rules, state.clock.now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

async fn my_deeds(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::OwnRecord)?;
    let me = caller.principal.citizen_id().ok_or(AppError::Forbidden)?;
    Ok(Json(json!({ "items": state.store.citizen_deeds(me, 200).await? })).into_response())
}

/// Who may open a deed's whole record: its resident, whoever nominated them, the committee of
/// its village, the reviewers of its town, the admin and the auditor.
pub(crate) async fn may_read(state: &AppState, p: &Principal, d: &Deed) -> Result<bool, AppError> {
    Ok(match p {
        Principal::Citizen { id } => {
            *id == d.citizen_id || (*id == d.reporter_id && d.source == "nomination")
        }
        Principal::Staff(s) if s.active => match s.role {
            Role::Admin | Role::Auditor => true,
            Role::Evaluator => s.region_id.as_deref() == Some(d.village_id.as_str()),
            Role::TownReviewer => {
                let (_, town) = state.store.village_and_town(&d.village_id).await?;
                s.region_id.as_deref() == Some(town.id.as_str())
            }
            Role::PartnerOperator => false,
        },
        _ => false,
    })
}

pub(crate) async fn deed_for(
    state: &AppState,
    p: &Principal,
    raw_id: &str,
) -> Result<moralbank_store::evaluation::DeedDetail, AppError> {
    if matches!(p, Principal::Anonymous) {
        return Err(AppError::Unauthorized);
    }
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("deed"))?;
    let detail = state
        .store
        .deed_detail(&id)
        .await?
        .ok_or(AppError::NotFound("deed"))?;
    if !may_read(state, p, &detail.deed).await? {
        return Err(AppError::NotFound("deed"));
    }
    Ok(detail)
}

async fn deed(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    Ok(Json(deed_for(&state, &caller.principal, &id).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VoteBody {
    pub approve: bool,
    #[serde(default)]
    pub points: Option<i64>,
    #[serde(default)]
    pub comment: String,
}

pub(crate) async fn vote_flow(
    state: &AppState,
    p: &Principal,
    raw_id: &str,
    b: &VoteBody,
) -> Result<domain::deed::DeedStatus, AppError> {
    require(p, Action::VoteDeeds)?;
    let staff = p.staff().ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("deed"))?;
    let v = VoteInput {
        approve: b.approve,
        points: b.points,
        comment: b.comment.clone(),
    };
    Ok(state
        .store
        .vote(&id, staff, &v, &state.rules, state.clock.now_ms())
        .await?)
}

async fn vote(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<VoteBody>,
) -> Result<Response, AppError> {
    let status = vote_flow(&state, &caller.principal, &id, &b).await?;
    Ok(Json(json!({ "status": status })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    pub reason: String,
}

pub(crate) async fn object_flow(
    state: &AppState,
    p: &Principal,
    raw_id: &str,
    reason: &str,
) -> Result<(), AppError> {
    require(p, Action::ReportDeeds)?;
    let me = p.citizen_id().ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("deed"))?;
    Ok(state
        .store
        .object(&id, me, reason, &state.rules, state.clock.now_ms())
        .await?)
}

async fn object(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, AppError> {
    object_flow(&state, &caller.principal, &id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn appeal_flow(
    state: &AppState,
    p: &Principal,
    raw_id: &str,
    reason: &str,
) -> Result<(), AppError> {
    require(p, Action::ReportDeeds)?;
    let me = p.citizen_id().ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("deed"))?;
    Ok(state
        .store
        .appeal(&id, me, reason, state.clock.now_ms())
        .await?)
}

async fn appeal(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Result<Response, AppError> {
    appeal_flow(&state, &caller.principal, &id, &b.reason).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionBody {
    pub reverse: bool,
    #[serde(default)]
    pub points: Option<i64>,
    pub comment: String,
}

pub(crate) async fn decide_flow(
    state: &AppState,
    p: &Principal,
    raw_id: &str,
    b: &DecisionBody,
) -> Result<domain::deed::DeedStatus, AppError> {
    require(p, Action::DecideAppeals)?;
    let staff = p.staff().ok_or(AppError::Forbidden)?;
    let id = domain::parse_id("id", raw_id).map_err(|_| AppError::NotFound("deed"))?;
    let d = AppealDecision {
        reverse: b.reverse,
        points: b.points,
        comment: b.comment.clone(),
    };
    Ok(state
        .store
        .decide_appeal(&id, staff, &d, &state.rules, state.clock.now_ms())
        .await?)
}

async fn appeal_decision(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<DecisionBody>,
) -> Result<Response, AppError> {
    let status = decide_flow(&state, &caller.principal, &id, &b).await?;
    Ok(Json(json!({ "status": status })).into_response())
}

/// Overdue: nothing has happened to it for longer than the rules allow.
pub(crate) fn overdue(state: &AppState, d: &Deed) -> bool {
    state.clock.now_ms() - d.updated_at > state.rules.overdue_ms
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
    Query(q): Query<BoardQuery>,
) -> Result<Response, AppError> {
    let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("village"))?;
    let after = board_cursor(q.cursor.as_deref())?;
    let page = state
        .store
        .publicity_board(&id, after.as_ref(), BOARD_PAGE_ROWS)
        .await?;
    Ok(Json(page).into_response())
}

fn inbox_owner(p: &Principal) -> Result<(&'static str, String), AppError> {
    match p {
        Principal::Citizen { id } => Ok(("citizen", id.clone())),
        Principal::Staff(s) if s.active => Ok(("staff", s.id.clone())),
        Principal::Anonymous => Err(AppError::Unauthorized),
        _ => Err(AppError::Forbidden),
    }
}

async fn inbox(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    let (kind, id) = inbox_owner(&caller.principal)?;
    Ok(Json(json!({ "items": state.store.inbox(kind, &id, 200).await? })).into_response())
}

async fn inbox_read(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, AppError> {
    let (kind, id) = inbox_owner(&caller.principal)?;
    let n = state
        .store
        .mark_read(kind, &id, state.clock.now_ms())
        .await?;
    Ok(Json(json!({ "marked": n })).into_response())
}

/// Rows one bulk submission may carry.
pub const BULK_ROWS_MAX: usize = 500;
pub const BULK_HEADER: &str = "key,citizen_id,standard,deed_date,place,description,points";

/// `POST /api/v1/partner/deeds/bulk`: a partner's CSV (header [`BULK_HEADER`]), one deed per
/// row under the row's own idempotency key, so a resent file creates nothing twice. Each row
/// gets its own outcome; a row's error never stops the others.
pub async fn bulk_submit(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: String,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::SubmitDeeds)?;
    let Principal::Partner(p) = &caller.principal else {
        return Err(AppError::Forbidden);
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(body.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| AppError::invalid("csv", "invalid_format", &e.to_string()))?
        .iter()
        .collect::<Vec<_>>()
        .join(",");
    if header != BULK_HEADER {
        return Err(AppError::invalid(
            "csv",
            "invalid_header",
            &format!("the first line must be: {BULK_HEADER}"),
        ));
    }
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::invalid("csv", "invalid_format", &e.to_string()))?;
    if rows.is_empty() || rows.len() > BULK_ROWS_MAX {
        return Err(AppError::invalid(
            "csv",
            "row_count",
            &format!("1 to {BULK_ROWS_MAX} rows"),
        ));
    }
    let mut results = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let line = i + 2;
        let key = r.get(0).unwrap_or_default().to_string();
        let outcome = async {
            let key = domain::IdempotencyKey::parse(&key)?;
            let points = match r.get(6).unwrap_or_default().trim() {
                "" => None,
                n => Some(n.parse::<i64>().map_err(|_| {
                    AppError::invalid("points", "invalid_format", "a whole number")
                })?),
            };
            let new = NewDeed {
                citizen_id: domain::parse_id("citizen_id", r.get(1).unwrap_or_default())?,
                reporter: Reporter::Partner {
                    partner_id: p.partner.id.clone(),
                    key,
                },
                standard_code: r.get(2).unwrap_or_default().to_string(),
                deed_date: r.get(3).unwrap_or_default().to_string(),
                place: r.get(4).unwrap_or_default().to_string(),
                description: r.get(5).unwrap_or_default().to_string(),
                evidence: vec![],
                points,
            };
            Ok::<_, AppError>(
                state
                    .store
                    .report_deed(&new, &state.rules, state.clock.now_ms())
                    .await?,
            )
        }
        .await;
        results.push(match outcome {
            Ok(d) => {
                json!({ "line": line, "key": key, "ok": true, "deed_id": d.id, "status": d.status })
            }
            Err(e) => {
                let problem = e.problem();
                json!({ "line": line, "key": key, "ok": false, "problem": problem })
            }
        });
    }
    Ok(Json(json!({ "results": results })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResidentLink {
    /// The member's full resident ID number; empty to unlink.
    resident_id: String,
    #[serde(default)]
    chair: bool,
}

/// The admin links a committee member's staff account to their own resident record (found by
/// their ID number, which writes a `search` to that resident's access log), so recusal (no vote
/// on a deed of their own household, or one they reported or nominated) can be checked; `chair`
/// marks the village committee's chair. An empty ID number unlinks.
pub(crate) async fn link_flow(
    state: &AppState,
    p: &Principal,
    raw_staff_id: &str,
    resident_id: &str,
    chair: bool,
) -> Result<moralbank_store::evaluation::StaffLink, AppError> {
    require(p, Action::ManageStaff)?;
    let staff_id = domain::parse_id("id", raw_staff_id).map_err(|_| AppError::NotFound("staff"))?;
    let citizen = if resident_id.trim().is_empty() {
        None
    } else {
        let params = crate::flows::SearchParams {
            resident_id: resident_id.to_string(),
            ..Default::default()
        };
        let q = crate::flows::parse_search(&params)?;
        let found = crate::flows::search_citizens(state, p, &q).await?;
        Some(
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
                .clone(),
        )
    };
    let link = state
        .store
        .link_staff_citizen(&staff_id, citizen.as_deref(), chair)
        .await?;
    tracing::info!(staff = %staff_id, linked = link.citizen_id.is_some(), chair, "committee member linked");
    Ok(link)
}

async fn link_resident(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ResidentLink>,
) -> Result<Response, AppError> {
    let link = link_flow(&state, &caller.principal, &id, &b.resident_id, b.chair).await?;
    Ok(Json(json!({
        "staff_id": link.staff_id, "linked": link.citizen_id.is_some(), "chair": link.is_chair
    }))
    .into_response())
}
