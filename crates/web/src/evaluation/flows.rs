//! Evaluation's use cases, shared by its pages and its API: reading a report (JSON or a form
//! with photos), who may read a deed, voting, objecting, appealing, deciding, the inbox's owner,
//! and linking a committee member to their resident record.

use crate::auth::Principal;
use crate::authz::{require, Action};
use crate::error::{ApiJson, AppError};
use crate::AppState;
use domain::deed::Reader;
use domain::Role;
use moralbank_store::evaluation::{
    AppealDecision, BoardCursor, Deed, Evidence, NewDeed, Reporter, VoteInput,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

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

pub(crate) fn staff_ref(p: &Principal) -> Result<String, AppError> {
    Ok(format!(
        "staff:{}",
        p.staff().ok_or(AppError::Forbidden)?.id
    ))
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
    let bad = super::evidence::upload_failed;
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
                super::evidence::add_upload(
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
        .evaluation()
        .report_deed(&new, &state.rules, state.clock.now_ms())
        .await?)
}

/// Who may open a deed's whole record: its resident, whoever nominated them, the committee of
/// its village, the reviewers of its town, the admin and the auditor.
pub(crate) async fn may_read(state: &AppState, p: &Principal, d: &Deed) -> Result<bool, AppError> {
    let reader = match p {
        Principal::Citizen { id } => Reader::Resident(id),
        Principal::Staff(s) => Reader::Staff {
            role: s.role,
            region_id: s.region_id.as_deref(),
            active: s.active,
        },
        _ => Reader::Other,
    };
    // The town is looked up only for a town reviewer, the one reader it concerns.
    let town = match p {
        Principal::Staff(s) if s.active && s.role == Role::TownReviewer => Some(
            state
                .store
                .registry()
                .village_and_town(&d.village_id)
                .await?
                .1
                .id,
        ),
        _ => None,
    };
    Ok(d.parties().may_read(reader, &d.village_id, town.as_deref()))
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
        .evaluation()
        .deed_detail(&id)
        .await?
        .ok_or(AppError::NotFound("deed"))?;
    if !may_read(state, p, &detail.deed).await? {
        return Err(AppError::NotFound("deed"));
    }
    Ok(detail)
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
        .evaluation()
        .vote(&id, staff, &v, &state.rules, state.clock.now_ms())
        .await?)
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
        .evaluation()
        .object(&id, me, reason, &state.rules, state.clock.now_ms())
        .await?)
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
        .evaluation()
        .appeal(&id, me, reason, state.clock.now_ms())
        .await?)
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
        .evaluation()
        .decide_appeal(&id, staff, &d, &state.rules, state.clock.now_ms())
        .await?)
}

/// Overdue: nothing has happened to it for longer than the rules allow.
pub(crate) fn overdue(state: &AppState, d: &Deed) -> bool {
    state.clock.now_ms() - d.updated_at > state.rules.overdue_ms
}

pub(crate) fn inbox_owner(p: &Principal) -> Result<(&'static str, String), AppError> {
    match p {
        Principal::Citizen { id } => Ok(("citizen", id.clone())),
        Principal::Staff(s) if s.active => Ok(("staff", s.id.clone())),
        Principal::Anonymous => Err(AppError::Unauthorized),
        _ => Err(AppError::Forbidden),
    }
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
        let params = crate::registry::flows::SearchParams {
            resident_id: resident_id.to_string(),
            ..Default::default()
        };
        let q = crate::registry::flows::parse_search(&params)?;
        let found = crate::registry::flows::search_citizens(state, p, &q).await?;
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
        .evaluation()
        .link_staff_citizen(&staff_id, citizen.as_deref(), chair)
        .await?;
    tracing::info!(staff = %staff_id, linked = link.citizen_id.is_some(), chair, "committee member linked");
    Ok(link)
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
