//! Evaluation pages: the public catalogue and publicity boards; a resident reporting a deed
//! with photos from the phone, following it, objecting and appealing, and their inbox; the
//! committee's queue and votes; the town's appeals; the admin's standards editor.

use super::evidence;
use super::flows::{self as ev, DecisionBody, VoteBody};
use crate::auth::PageCtx;
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::error::Path;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, page, Page, PageResult};
use crate::AppState;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::FieldError;
use minijinja::context;
use moralbank_store::evaluation::{BoardCursor, NewDeed, Reporter, BOARD_PAGE_ROWS};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/standards", get(catalogue))
        .route("/me/deeds", get(my_deeds))
        .route("/me/inbox", get(my_inbox))
        .route("/deeds/{id}", get(deed))
        .route("/deeds/{id}/evidence/{sha}", get(evidence_file))
        .route("/deeds/{id}/vote", post(vote))
        .route("/deeds/{id}/object", post(object))
        .route("/deeds/{id}/appeal", post(appeal))
        .route("/deeds/{id}/decide", post(decide))
        .route("/board/{village}", get(board))
        .route("/console/queue", get(queue))
        .route("/console/appeals", get(appeals))
        .route("/console/inbox", get(staff_inbox))
        .merge(super::standards_admin::router())
}

/// The report form takes photos: its own router, with a body limit large enough for them.
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new().route("/deeds/new", get(new_form).post(new_submit))
}

fn now(state: &AppState) -> i64 {
    state.clock.now_ms()
}

async fn catalogue(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let view = context! { standards => state.store.evaluation().standards().await? };
    Ok(page(&state, &ctx, "standards.html", view, StatusCode::OK)?)
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct ReportForm {
    standard: String,
    deed_date: String,
    place: String,
    description: String,
    nominee_phone: String,
    /// The form's one-time token: sending the same form again records no second deed.
    form_token: String,
}

async fn new_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &ReportForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ReportDeeds)?;
    let standards: Vec<_> = state
        .store
        .evaluation()
        .standards()
        .await?
        .into_iter()
        .filter(|s| s.active)
        .collect();
    let today = moralbank_store::day_of(now(state));
    let view = context! { standards, form, today, errors => field_messages(state, ctx, errors),
    files_max => evidence::FILES_MAX, file_bytes_max => evidence::FILE_BYTES_MAX, publicity_days => (domain::time::whole_days(state.rules.publicity_ms)).to_string() };
    Ok((status, render(state, ctx, "deed_new.html", view)?).into_response())
}

async fn new_form(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let form = ReportForm {
        form_token: moralbank_store::vault::random_token(),
        ..ReportForm::default()
    };
    Ok(new_page(&state, &ctx, &form, &[], StatusCode::OK).await?)
}

/// The multipart report as read: the CSRF token, the fields, the files stored as evidence, and
/// why the upload was refused if it was (a file of the wrong type or size, too many files, a
/// broken upload). The fields read are kept either way, so a refused photo never costs the
/// reader what they typed (the form puts the files last, so the fields come first).
struct ReadReport {
    csrf: String,
    form: ReportForm,
    files: Vec<moralbank_store::evaluation::Evidence>,
    refused: Option<AppError>,
}

/// Read the multipart report: fields, and up to five files stored as evidence. Read only after
/// the handler's `require`; like `frame::Form`, a body that is no multipart form reads as an
/// empty form, refused for its missing CSRF token.
async fn read_report(state: &AppState, req: axum::extract::Request) -> ReadReport {
    let mut out = ReadReport {
        csrf: String::new(),
        form: ReportForm::default(),
        files: Vec::new(),
        refused: None,
    };
    let Ok(mut mp) = <Multipart as axum::extract::FromRequest<_>>::from_request(req, state).await
    else {
        return out;
    };
    let bad = evidence::upload_failed;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                out.refused.get_or_insert(bad(e));
                break;
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "evidence" {
            let bytes = match field.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => {
                    out.refused.get_or_insert(bad(e));
                    break;
                }
            };
            // An empty file input sends one empty part: no file.
            if bytes.is_empty() || out.refused.is_some() {
                continue;
            }
            let stored = evidence::add_upload(
                &state.evidence_dir,
                state.store.vault(),
                &mut out.files,
                &bytes,
            )
            .await;
            if let Err(e) = stored {
                out.refused = Some(e);
            }
            continue;
        }
        let text = match field.text().await {
            Ok(text) => text,
            Err(e) => {
                out.refused.get_or_insert(bad(e));
                break;
            }
        };
        match name.as_str() {
            "csrf" => out.csrf = text,
            "standard" => out.form.standard = text,
            "deed_date" => out.form.deed_date = text,
            "place" => out.form.place = text,
            "description" => out.form.description = text,
            "nominee_phone" => out.form.nominee_phone = text,
            "form_token" => out.form.form_token = text,
            _ => {}
        }
    }
    out
}

async fn new_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    req: axum::extract::Request,
) -> PageResult {
    let mut kept = ReportForm::default();
    let attempt = async {
        require(&ctx.principal, Action::ReportDeeds)?;
        let me = ctx
            .principal
            .citizen_id()
            .ok_or(AppError::Unauthorized)?
            .to_string();
        let ReadReport {
            csrf,
            form,
            files,
            refused,
        } = read_report(&state, req).await;
        kept = form.clone();
        ctx.check_csrf(&csrf)?;
        if let Some(refused) = refused {
            return Err(refused);
        }
        let citizen_id = if form.nominee_phone.trim().is_empty() {
            me.clone()
        } else {
            let phone = domain::Phone::parse(&form.nominee_phone).map_err(|e| {
                AppError::Invalid(FieldError::new("nominee_phone", e.code, e.detail).into())
            })?;
            state
                .store
                .registry()
                .citizen_id_by_phone(&phone)
                .await?
                .ok_or_else(|| {
                    AppError::invalid(
                        "nominee_phone",
                        "not_nominable",
                        "no enrolled resident can be nominated with this phone",
                    )
                })?
        };
        let reporter = match domain::IdempotencyKey::parse(form.form_token.trim()) {
            Ok(key) => Reporter::CitizenForm { reporter: me, key },
            Err(_) => Reporter::Citizen(me),
        };
        let new = NewDeed {
            citizen_id,
            reporter,
            standard_code: form.standard.clone(),
            deed_date: form.deed_date.clone(),
            place: form.place.clone(),
            description: form.description.clone(),
            evidence: files,
            points: None,
        };
        let d = match state
            .store
            .evaluation()
            .report_deed(&new, &state.rules, now(&state))
            .await
        {
            // This form was sent before with other content (back, changed, sent again): say
            // so; the page comes back with a fresh token for a deliberate second report.
            Err(moralbank_store::StoreError::Conflict(e)) if e.code == "idempotency_conflict" => {
                kept.form_token = moralbank_store::vault::random_token();
                return Err(AppError::invalid(
                    "deed",
                    "form_already_sent",
                    "this form was sent already; see your deeds, or send it again to report another deed",
                ));
            }
            other => other?,
        };
        Ok(Redirect::to(&format!("/deeds/{}", d.id)).into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        new_page(&state, &ctx, &kept, &errors, status).await
    })
    .await?)
}

async fn my_deeds(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let me = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let view = context! { deeds => state.store.evaluation().citizen_deeds(me, 200).await? };
    Ok(render(&state, &ctx, "my_deeds.html", view)?.into_response())
}

async fn inbox_page(
    state: &AppState,
    ctx: &PageCtx,
    kind: &str,
    id: &str,
    area_staff: bool,
) -> Page {
    let items = state.store.evaluation().inbox(kind, id, 100).await?;
    state
        .store
        .evaluation()
        .mark_read(kind, id, now(state))
        .await?;
    let view = context! { items, staff => area_staff };
    Ok(render(state, ctx, "inbox.html", view)?.into_response())
}

async fn my_inbox(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let me = ctx
        .principal
        .citizen_id()
        .ok_or(AppError::Unauthorized)?
        .to_string();
    Ok(inbox_page(&state, &ctx, "citizen", &me, false).await?)
}

async fn staff_inbox(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::StaffConsole)?;
    let me = ctx
        .principal
        .staff()
        .ok_or(AppError::Unauthorized)?
        .id
        .clone();
    Ok(inbox_page(&state, &ctx, "staff", &me, true).await?)
}

/// The deed's page: its whole story and the forms the reader may use.
/// A deed's page; `kept` holds what the reader typed into a refused form (decision, points,
/// comment, reason), shown again.
async fn deed_page(
    state: &AppState,
    ctx: &PageCtx,
    id: &str,
    errors: &[FieldError],
    status: StatusCode,
    kept: &[(&str, &str)],
) -> Page {
    let detail = ev::deed_for(state, &ctx.principal, id).await?;
    let d = &detail.deed;
    let me_citizen = ctx.principal.citizen_id().map(str::to_string);
    let staff = ctx.principal.staff();
    let mut names = std::collections::HashMap::new();
    for e in &detail.events {
        if e.actor_kind == "staff" && !names.contains_key(&e.actor_id) {
            if let Some(s) = state.store.accounts().staff(&e.actor_id).await? {
                names.insert(e.actor_id.clone(), s.display_name);
            }
        }
    }
    // A member who has voted in this round sees their vote, not the form again.
    let my_vote = staff.and_then(|s| {
        detail
            .votes
            .iter()
            .find(|v| v.round == d.round && v.staff_id == s.id)
            .cloned()
    });
    let can = context! {
        vote => staff.is_some_and(|_| authz::allowed(&ctx.principal, Action::VoteDeeds)) && d.status.is_voting() && my_vote.is_none(),
        appeal => me_citizen.is_some() && d.status == domain::deed::DeedStatus::Rejected,
        decide => authz::allowed(&ctx.principal, Action::DecideAppeals) && d.status == domain::deed::DeedStatus::Appealed,
    };
    let voted = my_vote.filter(|_| d.status.is_voting());
    let kept: std::collections::HashMap<&str, &str> = kept.iter().copied().collect();
    let view = context! { detail, can, names, voted, kept, errors => field_messages(state, ctx, errors), now => now(state) };
    Ok((status, render(state, ctx, "deed.html", view)?).into_response())
}

async fn deed(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    Ok(deed_page(&state, &ctx, &id, &[], StatusCode::OK, &[]).await?)
}

async fn evidence_file(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, sha)): Path<(String, String)>,
) -> PageResult {
    let detail = ev::deed_for(&state, &ctx.principal, &id).await?;
    let e = detail
        .evidence
        .iter()
        .find(|e| e.sha256 == sha)
        .ok_or(AppError::NotFound("evidence"))?;
    let bytes = evidence::read(&state.evidence_dir, state.store.vault(), &e.sha256).await?;
    Ok((
        [
            (header::CONTENT_TYPE, e.content_type.clone()),
            (header::CACHE_CONTROL, "no-store".into()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".into(),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VoteForm {
    csrf: String,
    decision: String,
    points: String,
    comment: String,
}

/// A decision the form must say: `yes` or `no` (nothing is chosen for the member in advance).
fn chosen(raw: &str, yes: &str, no: &str) -> Result<bool, AppError> {
    match raw {
        r if r == yes => Ok(true),
        r if r == no => Ok(false),
        _ => Err(AppError::invalid(
            "decision",
            "decision_missing",
            "choose one of the two decisions",
        )),
    }
}

fn points(raw: &str) -> Result<Option<i64>, AppError> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse()
        .map(Some)
        .map_err(|_| AppError::invalid("points", "invalid_format", "a whole number"))
}

async fn vote(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<VoteForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::VoteDeeds)?;
        ctx.check_csrf(&f.csrf)?;
        let body = VoteBody {
            approve: chosen(&f.decision, "approve", "reject")?,
            points: points(&f.points)?,
            comment: f.comment.clone(),
        };
        ev::vote_flow(&state, &ctx.principal, &id, &body).await?;
        Ok(Redirect::to(&format!("/deeds/{id}")).into_response())
    }
    .await;
    let kept = [
        ("decision", f.decision.as_str()),
        ("points", f.points.as_str()),
        ("comment", f.comment.as_str()),
    ];
    Ok(or_redo(attempt, async |errors, status| {
        deed_page(&state, &ctx, &id, &errors, status, &kept).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasonForm {
    csrf: String,
    reason: String,
}

async fn object(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> PageResult {
    let mut village = String::new();
    let attempt = async {
        require(&ctx.principal, Action::ReportDeeds)?;
        ctx.check_csrf(&f.csrf)?;
        let deed_id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("deed"))?;
        village = state
            .store
            .evaluation()
            .deed(&deed_id)
            .await?
            .ok_or(AppError::NotFound("deed"))?
            .village_id;
        ev::object_flow(&state, &ctx.principal, &id, &f.reason).await?;
        Ok(Redirect::to(&format!("/board/{village}?objected=1")).into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        board_page(&state, &ctx, &village, None, &errors, status, false).await
    })
    .await?)
}

async fn appeal(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<ReasonForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ReportDeeds)?;
        ctx.check_csrf(&f.csrf)?;
        ev::appeal_flow(&state, &ctx.principal, &id, &f.reason).await?;
        Ok(Redirect::to(&format!("/deeds/{id}")).into_response())
    }
    .await;
    let kept = [("reason", f.reason.as_str())];
    Ok(or_redo(attempt, async |errors, status| {
        deed_page(&state, &ctx, &id, &errors, status, &kept).await
    })
    .await?)
}

async fn decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<VoteForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::DecideAppeals)?;
        ctx.check_csrf(&f.csrf)?;
        let body = DecisionBody {
            reverse: chosen(&f.decision, "reverse", "uphold")?,
            points: points(&f.points)?,
            comment: f.comment.clone(),
        };
        ev::decide_flow(&state, &ctx.principal, &id, &body).await?;
        Ok(Redirect::to(&format!("/deeds/{id}")).into_response())
    }
    .await;
    let kept = [
        ("decision", f.decision.as_str()),
        ("points", f.points.as_str()),
        ("comment", f.comment.as_str()),
    ];
    Ok(or_redo(attempt, async |errors, status| {
        deed_page(&state, &ctx, &id, &errors, status, &kept).await
    })
    .await?)
}

async fn board_page(
    state: &AppState,
    ctx: &PageCtx,
    village: &str,
    after: Option<&BoardCursor>,
    errors: &[FieldError],
    status: StatusCode,
    objected: bool,
) -> Page {
    let id = domain::parse_id("village", village).map_err(|_| AppError::NotFound("village"))?;
    let (v, town) = state
        .store
        .registry()
        .village_and_town(&id)
        .await
        .map_err(|_| AppError::NotFound("village"))?;
    let page_of = state
        .store
        .evaluation()
        .publicity_board(&id, after, BOARD_PAGE_ROWS)
        .await?;
    let next = page_of.next_cursor.map(|c| c.to_string());
    let view = context! { items => page_of.items, next, first_page => after.is_none(), village => v, town, objected,
    errors => field_messages(state, ctx, errors), can_object => authz::allowed(&ctx.principal, Action::ReportDeeds) };
    page(state, ctx, "board.html", view, status)
}

#[derive(Deserialize)]
struct BoardQuery {
    objected: Option<String>,
    /// The previous page's last deed (`next_cursor`).
    cursor: Option<String>,
}

async fn board(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(village): Path<String>,
    Query(q): Query<BoardQuery>,
) -> PageResult {
    let after = ev::board_cursor(q.cursor.as_deref())?;
    Ok(board_page(
        &state,
        &ctx,
        &village,
        after.as_ref(),
        &[],
        StatusCode::OK,
        q.objected.is_some(),
    )
    .await?)
}

async fn queue(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::VoteDeeds)?;
    let village = ctx
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
        .map(|d| context! { overdue => ev::overdue(&state, &d), deed => d })
        .collect();
    // A committee that cannot reach its quorum is said so above its queue, with what to do.
    let short = state
        .store
        .evaluation()
        .committees_short(Some(&village), state.rules.quorum)
        .await?
        .into_iter()
        .next();
    Ok(render(
        &state,
        &ctx,
        "queue.html",
        context! { items, short, title_key => "queue.title" },
    )?
    .into_response())
}

async fn appeals(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::DecideAppeals)?;
    let town = ctx
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
        .map(|d| context! { overdue => ev::overdue(&state, &d), deed => d })
        .collect();
    Ok(render(
        &state,
        &ctx,
        "queue.html",
        context! { items, title_key => "appeals.title" },
    )?
    .into_response())
}
