//! The alliance's console (`/console/dispatch`): requests to review (accept, or reject with a
//! reason the requester sees), the matcher's proposals for the chosen requests with why each
//! volunteer (the organiser sends them as proposed or picks an alternate), activities to
//! publish, each task's page (offers and their state, the rotating site code, the organiser's
//! scan of a volunteer's moral code, no-shows, hours by hand with a second approver, the roster
//! confirmation, closing with a report), the figures and the export of service records. A
//! village clerk files a request for a resident without a phone and records their
//! confirmation (`/console/dispatch/for/{citizen}`, the task's page).

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::dispatch::resident::ask_of;
use crate::dispatch::{expiry_ms, local_parts, my_alliance, who, Pairs};
use crate::error::{AppError, Path};
use crate::frame::{field_messages, or_redo, page, Form, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::dispatch::{
    Confirmation, ManualHours, OfferStep, TaskStatus, CATEGORIES, CERTIFIED_SKILLS, SKILLS,
};
use domain::FieldError;
use minijinja::context;
use moralbank_store::dispatch::offers::Choice;
use moralbank_store::dispatch::tasks::Filer;
use moralbank_store::registry::Actor;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/dispatch", get(console_page))
        .route("/console/dispatch/propose", post(propose))
        .route("/console/dispatch/send", post(send))
        .route("/console/dispatch/activities", post(publish))
        .route("/console/dispatch/records.csv", get(export))
        .route("/console/dispatch/tasks/{id}", get(task_page))
        .route("/console/dispatch/tasks/{id}/{step}", post(task_step))
        .route("/console/dispatch/offers/{id}/{step}", post(offer_step))
        .route("/console/dispatch/site/{shift}", get(site_page))
        .route(
            "/console/dispatch/for/{citizen}",
            get(for_page).post(file_for),
        )
}

fn id_of(what: &'static str, raw: &str) -> Result<String, AppError> {
    domain::parse_id(what, raw).map_err(|_| AppError::NotFound(what))
}

async fn console_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::DispatchVolunteers)?;
    let a = my_alliance(state, ctx).await?;
    let d = state.store.dispatch();
    let to_review = d
        .alliance_tasks(&a.id, &[TaskStatus::Requested], 200)
        .await?;
    let to_dispatch = d
        .alliance_tasks(&a.id, &[TaskStatus::Accepted, TaskStatus::Dispatched], 300)
        .await?;
    let in_service = d
        .alliance_tasks(&a.id, &[TaskStatus::InService], 200)
        .await?;
    let closed = d.alliance_tasks(&a.id, &[TaskStatus::Closed], 20).await?;
    let city = state.store.registry().villages().await?;
    let villages: Vec<_> = city
        .iter()
        .map(|(v, t)| context! { id => v.id, name => format!("{} · {}", t.name_zh, v.name_zh) })
        .collect();
    let view = context! {
        alliance => a, to_review, to_dispatch, in_service, closed,
        figures => d.figures(&a.id).await?, categories => CATEGORIES, skills => SKILLS,
        certified => CERTIFIED_SKILLS, villages, form, errors => field_messages(state, ctx, errors),
        form_token => moralbank_store::vault::random_token(),
    };
    page(state, ctx, "dispatch_console.html", view, status)
}

async fn console_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(console_view(&state, &ctx, &Pairs::default(), &[], StatusCode::OK).await?)
}

/// The matcher's proposal for the ticked tasks: nothing is sent until the organiser confirms.
async fn propose(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        require(&ctx.principal, Action::DispatchVolunteers)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let a = my_alliance(&state, &ctx).await?;
        let tasks: Vec<String> = f
            .many("task")
            .iter()
            .filter_map(|t| domain::parse_id("task", t).ok())
            .collect();
        if tasks.is_empty() {
            return Err(AppError::invalid(
                "task",
                "dispatch_none_chosen",
                "tick at least one request to dispatch",
            ));
        }
        let d = state.store.dispatch();
        let now = state.clock.now_ms();
        let places = d.propose(&a.id, &tasks, now).await?;
        // Names for the ids the proposal names (masked, as on every list).
        let mut names = std::collections::HashMap::new();
        for p in &places {
            for o in p.offer.iter().chain(p.alternates.iter()) {
                if !names.contains_key(&o.volunteer_id) {
                    if let Some(c) = state
                        .store
                        .registry()
                        .citizen_summary(&o.volunteer_id)
                        .await?
                    {
                        names.insert(
                            o.volunteer_id.clone(),
                            format!("{} · {}", c.name_masked, c.village_name),
                        );
                    }
                }
            }
        }
        let mut titled = Vec::new();
        for p in places {
            let t = d.task(&p.task_id).await?;
            titled.push(context! { p, task => t });
        }
        let view = context! { alliance => a, places => titled, names };
        page(&state, &ctx, "dispatch_proposal.html", view, StatusCode::OK)
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        console_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

/// Send the offers as confirmed: each place's `choice.<shift>.<n>` names a volunteer (or is
/// empty to leave the place for now).
async fn send(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        require(&ctx.principal, Action::DispatchVolunteers)?;
        ctx.check_csrf(&f.one("csrf"))?;
        my_alliance(&state, &ctx).await?;
        let choices: Vec<Choice> =
            f.0.iter()
                .filter_map(|(k, v)| {
                    let shift = k.strip_prefix("choice.")?.split('.').next()?;
                    let shift = domain::parse_id("shift", shift).ok()?;
                    let volunteer = domain::parse_id("volunteer", v).ok()?;
                    Some(Choice {
                        shift_id: shift,
                        volunteer_id: volunteer,
                    })
                })
                .collect();
        if choices.is_empty() {
            return Err(AppError::invalid(
                "task",
                "dispatch_none_chosen",
                "choose a volunteer for at least one place",
            ));
        }
        let n = state
            .store
            .dispatch()
            .send_offers(
                &who(&ctx.principal)?,
                &choices,
                expiry_ms(&state),
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to(&format!("/console/dispatch?sent={n}#dispatch")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        console_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

/// Publish an activity with up to three shifts (date, start, end, places).
async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        require(&ctx.principal, Action::DispatchVolunteers)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let a = my_alliance(&state, &ctx).await?;
        let now = state.clock.now_ms();
        let ask = ask_of(&f, now).map_err(AppError::Invalid)?;
        let mut shifts = vec![(ask.starts_at, ask.ends_at, i64::from(ask.people))];
        for n in 2..=3 {
            let (date, start, end) = (
                f.one(&format!("date{n}")),
                f.one(&format!("start{n}")),
                f.one(&format!("end{n}")),
            );
            if date.trim().is_empty() {
                continue;
            }
            let s = crate::dispatch::local_ms("shifts", &date, &start)
                .map_err(|e| AppError::Invalid(e.into()))?;
            let e = crate::dispatch::local_ms("shifts", &date, &end)
                .map_err(|e| AppError::Invalid(e.into()))?;
            domain::dispatch::window(Some(s), Some(e), now).map_err(|mut e| {
                e.field = "shifts".into();
                AppError::Invalid(e.into())
            })?;
            shifts.push((s, e, i64::from(ask.people)));
        }
        let village = domain::parse_id("village_id", &f.one("village_id"))
            .map_err(|e| AppError::Invalid(e.into()))?;
        let staff = format!(
            "staff:{}",
            ctx.principal
                .staff()
                .map(|s| s.id.clone())
                .unwrap_or_default()
        );
        // The form's one-time token: sent twice, one activity.
        let key = domain::IdempotencyKey::parse(f.one("form_token").trim())
            .ok()
            .map(|k| format!("{staff}:{}", k.as_str()));
        let t = state
            .store
            .dispatch()
            .publish_activity(&a.id, &staff, &village, &ask, &shifts, key.as_deref(), now)
            .await?;
        Ok(Redirect::to(&format!("/console/dispatch/tasks/{}", t.id)).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        console_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

/// Who may open a task's page, known before any task is read: its village's clerk, or an
/// operator of a volunteer alliance (which alliance is checked against the task).
enum Gate {
    Clerk,
    Alliance(moralbank_store::dispatch::Alliance),
}

async fn gate(state: &AppState, ctx: &PageCtx) -> Result<Gate, AppError> {
    if crate::authz::allowed(&ctx.principal, Action::RequestHelpFor) {
        return Ok(Gate::Clerk);
    }
    require(&ctx.principal, Action::DispatchVolunteers)?;
    Ok(Gate::Alliance(my_alliance(state, ctx).await?))
}

/// May the caller see this task: the clerk of its village, or its alliance's operator; a task
/// of another village or alliance is not found.
fn may_see(g: &Gate, ctx: &PageCtx, t: &moralbank_store::dispatch::Task) -> Result<(), AppError> {
    let ok = match g {
        Gate::Clerk => allowed_clerk(ctx, &t.village_id),
        Gate::Alliance(a) => a.id == t.alliance_id,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::NotFound("task"))
    }
}

fn allowed_clerk(ctx: &PageCtx, village_id: &str) -> bool {
    crate::authz::allowed(&ctx.principal, Action::RequestHelpFor)
        && ctx.principal.staff().and_then(|s| s.region_id.as_deref()) == Some(village_id)
}

async fn task_view(
    state: &AppState,
    ctx: &PageCtx,
    raw: &str,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let g = gate(state, ctx).await?;
    let id = id_of("task", raw)?;
    let d = state.store.dispatch();
    let t = d.task(&id).await?.ok_or(AppError::NotFound("task"))?;
    may_see(&g, ctx, &t)?;
    let requester = match &t.requester_id {
        Some(r) => state.store.registry().citizen_summary(r).await?,
        None => None,
    };
    // While the task is open, the alliance and the clerk see the requester's name and phone to
    // reach them: each view is in the requester's access log, written before anything is shown.
    let contact = match (&requester, ctx.principal.staff()) {
        (Some(r), Some(s)) if t.status.is_open() || t.status == TaskStatus::Requested => {
            let actor = Actor {
                kind: "staff",
                id: s.id.clone(),
                label: s.display_name.clone(),
            };
            state
                .store
                .registry()
                .record_access(&[r.id.as_str()], &actor, "dispatch_task")
                .await?;
            state
                .store
                .registry()
                .citizen(&r.id)
                .await?
                .map(|c| (c.name.as_str().to_string(), c.phone.as_str().to_string()))
        }
        _ => None,
    };
    let service = d.task_service(&id).await?;
    let offers: Vec<_> = d
        .task_offers(&id)
        .await?
        .into_iter()
        .map(|o| {
            let s = service.iter().find(|s| s.offer_id == o.id).cloned();
            context! { o, s }
        })
        .collect();
    let clerk = allowed_clerk(ctx, &t.village_id);
    let view = context! {
        task => t, requester, contact, offers, shifts => d.shifts(&id).await?, events => d.task_events(&id).await?,
        clerk, organiser => !clerk, errors => field_messages(state, ctx, errors), now => state.clock.now_ms(),
    };
    page(state, ctx, "dispatch_task.html", view, status)
}

async fn task_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    Ok(task_view(&state, &ctx, &id, &[], StatusCode::OK).await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StepForm {
    csrf: String,
    /// `console`: back to the console's queue after the step (else the task's page).
    back: String,
    reason: String,
    report: String,
    code: String,
    how: String,
    minutes: String,
}

/// A step on a task: review, scan a volunteer's moral code, confirm (roster, or a clerk's phone
/// or paper record), close.
async fn task_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((raw, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> PageResult {
    let attempt = async {
        let g = gate(&state, &ctx).await?;
        ctx.check_csrf(&f.csrf)?;
        let id = id_of("task", &raw)?;
        let d = state.store.dispatch();
        let t = d.task(&id).await?.ok_or(AppError::NotFound("task"))?;
        may_see(&g, &ctx, &t)?;
        let (w, now) = (who(&ctx.principal)?, state.clock.now_ms());
        match step.as_str() {
            "accept" => drop(d.review(&id, &w, true, &f.reason, now).await?),
            "reject" => drop(d.review(&id, &w, false, &f.reason, now).await?),
            "close" => drop(d.close(&id, &w, &f.report, now).await?),
            "cancel" => drop(d.cancel(&id, &w, &f.reason, now).await?),
            "confirm" => {
                let how = Confirmation::parse(&f.how).ok_or_else(|| {
                    AppError::invalid("how", "dispatch_bad_confirmation", "phone, paper or roster")
                })?;
                d.confirm(&id, &w, how, &state.rules, now).await?;
            }
            "scan" => {
                let codes = state.codes.as_ref().ok_or(AppError::Unavailable)?;
                let claims = moralbank_code::verify(
                    f.code.trim(),
                    &codes.published,
                    now / 1000,
                    moralbank_code::DEFAULT_CLOCK_SKEW_S,
                )
                .map_err(|e| {
                    AppError::Invalid(
                        FieldError::new("code", "dispatch_bad_moral_code", e.to_string()).into(),
                    )
                })?;
                let holder = d
                    .code_holder(&claims.code_id.to_string())
                    .await?
                    .ok_or_else(|| {
                        AppError::invalid(
                            "code",
                            "dispatch_bad_moral_code",
                            "this code was not issued here",
                        )
                    })?;
                let s = ctx.principal.staff().ok_or(AppError::Forbidden)?;
                let reader = Actor {
                    kind: "staff",
                    id: s.id.clone(),
                    label: format!("{}（{}）", t.alliance_name, s.display_name),
                };
                d.organiser_scan(&w, &reader, &id, &holder, &state.rules, now)
                    .await?;
            }
            _ => return Err(AppError::NotFound("step")),
        }
        Ok(Redirect::to(&if f.back == "console" {
            format!("/console/dispatch#task-{id}")
        } else {
            format!("/console/dispatch/tasks/{id}")
        })
        .into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        task_view(&state, &ctx, &raw, &errors, status).await
    })
    .await?)
}

/// A step on an offer: withdraw, record a no-show, enter hours by hand, approve them.
async fn offer_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((raw, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> PageResult {
    require(&ctx.principal, Action::DispatchVolunteers)?;
    let a = my_alliance(&state, &ctx).await?;
    let oid = id_of("offer", &raw)?;
    let d = state.store.dispatch();
    let o = d.offer(&oid).await?.ok_or(AppError::NotFound("offer"))?;
    d.task(&o.task_id)
        .await?
        .filter(|t| t.alliance_id == a.id)
        .ok_or(AppError::NotFound("offer"))?;
    let attempt = async {
        ctx.check_csrf(&f.csrf)?;
        let (w, now) = (who(&ctx.principal)?, state.clock.now_ms());
        match step.as_str() {
            "withdraw" => drop(d.organiser_step(&oid, &w, OfferStep::Withdraw, now).await?),
            "no-show" => drop(d.organiser_step(&oid, &w, OfferStep::NoShow, now).await?),
            "manual" => {
                let window = (o.ends_at - o.starts_at) / 60_000;
                let hours =
                    ManualHours::parse(&f.minutes, &f.reason, window).map_err(AppError::Invalid)?;
                d.enter_manual(&oid, &w, &hours, now).await?;
            }
            "approve" => d.approve_manual(&oid, &w, &state.rules, now).await?,
            _ => return Err(AppError::NotFound("step")),
        }
        // An answer refused the offer: the next candidate, if a place is open again.
        if step == "withdraw" {
            d.refill(&o.task_id, expiry_ms(&state), now).await?;
        }
        Ok(Redirect::to(&format!(
            "/console/dispatch/tasks/{}#offer-{oid}",
            o.task_id
        ))
        .into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        task_view(&state, &ctx, &o.task_id, &errors, status).await
    })
    .await?)
}

/// The rotating site code for a shift, full screen: a new signed code each minute (the page
/// reloads itself), valid two minutes.
async fn site_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(raw): Path<String>,
) -> PageResult {
    require(&ctx.principal, Action::DispatchVolunteers)?;
    let a = my_alliance(&state, &ctx).await?;
    let sid = id_of("shift", &raw)?;
    let d = state.store.dispatch();
    let shift = d.shift(&sid).await?.ok_or(AppError::NotFound("shift"))?;
    let t = d
        .task(&shift.task_id)
        .await?
        .filter(|t| t.alliance_id == a.id)
        .ok_or(AppError::NotFound("shift"))?;
    let codes = state.codes.as_ref().ok_or(AppError::Unavailable)?;
    let now_s = state.clock.now_ms() / 1000;
    let mut id = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut id);
    let code = moralbank_code::site::SiteCode {
        issuer: codes.issuer.as_str().to_string(),
        shift: *uuid::Uuid::parse_str(&shift.id)
            .map_err(|_| AppError::NotFound("shift"))?
            .as_bytes(),
        issued_at: now_s,
        expires_at: now_s + moralbank_code::site::SITE_LIFETIME_S,
        id,
    };
    let text = moralbank_code::site::encode_site(&code, &codes.key);
    let qr = moralbank_code::CodeQr::new(&text)
        .map_err(|e| AppError::Internal(format!("site code QR: {e:?}")))?
        .to_svg(6);
    let (date, start) = local_parts(shift.starts_at);
    let view = context! { task => t, shift, text, qr, date, start, end => local_parts(shift.ends_at).1, rotate => moralbank_code::site::SITE_ROTATE_S };
    let mut resp = page(&state, &ctx, "dispatch_site.html", view, StatusCode::OK)?;
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Period {
    from: String,
    to: String,
}

/// The alliance's service records as CSV, in the national volunteer record's fields (UTF-8
/// with a byte-order mark, so that spreadsheets read the Chinese).
async fn export(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<Period>,
) -> PageResult {
    require(&ctx.principal, Action::DispatchVolunteers)?;
    let a = my_alliance(&state, &ctx).await?;
    let from = crate::dispatch::local_ms(
        "from",
        if q.from.is_empty() {
            "2000-01-01"
        } else {
            &q.from
        },
        "00:00",
    )
    .map_err(|e| AppError::Invalid(e.into()))?;
    let to = crate::dispatch::local_ms(
        "to",
        if q.to.is_empty() { "2100-01-01" } else { &q.to },
        "00:00",
    )
    .map_err(|e| AppError::Invalid(e.into()))?
        // The last day included.
        + domain::time::DAY_MS;
    let rows = state
        .store
        .dispatch()
        .records(&a.id, from, to, 100_000)
        .await?;
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let csv_err = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    w.write_record([
        "志愿者姓名",
        "证件号码",
        "服务时间",
        "结束时间",
        "服务内容",
        "服务类别",
        "服务地点",
        "服务时长（小时）",
        "服务时长（分钟）",
        "记录方式",
        "确认方式",
        "补录",
        "记录单位",
        "记录日期",
    ])
    .map_err(csv_err)?;
    for r in rows {
        let (d1, t1) = local_parts(r.starts_at);
        let (d2, t2) = local_parts(r.ends_at);
        w.write_record([
            r.volunteer_name,
            r.resident_id_masked,
            format!("{d1} {t1}"),
            format!("{d2} {t2}"),
            r.title,
            r.category,
            r.place,
            r.hours.to_string(),
            r.minutes.to_string(),
            r.attendance,
            r.confirmation,
            if r.manual { "是".into() } else { "否".into() },
            r.alliance_name,
            local_parts(r.recorded_at).0,
        ])
        .map_err(csv_err)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"volunteer-service-records.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The clerk's request for a resident of their village (who has no phone).
async fn for_view(
    state: &AppState,
    ctx: &PageCtx,
    raw: &str,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::RequestHelpFor)?;
    let cid = id_of("citizen", raw)?;
    let c = state
        .store
        .registry()
        .citizen_summary(&cid)
        .await?
        .ok_or(AppError::NotFound("citizen"))?;
    if !allowed_clerk(ctx, &c.village_id) {
        return Err(AppError::NotFound("citizen"));
    }
    let d = state.store.dispatch();
    let view = context! {
        c, requests => d.requests_of(&cid, 20).await?, alliances => d.alliances().await?,
        categories => CATEGORIES, skills => SKILLS, certified => CERTIFIED_SKILLS, form,
        errors => field_messages(state, ctx, errors), form_token => moralbank_store::vault::random_token(),
    };
    page(state, ctx, "dispatch_for.html", view, status)
}

async fn for_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(raw): Path<String>,
) -> PageResult {
    Ok(for_view(&state, &ctx, &raw, &Pairs::default(), &[], StatusCode::OK).await?)
}

async fn file_for(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(raw): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        require(&ctx.principal, Action::RequestHelpFor)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let cid = id_of("citizen", &raw)?;
        let c = state
            .store
            .registry()
            .citizen_summary(&cid)
            .await?
            .ok_or(AppError::NotFound("citizen"))?;
        let s = ctx.principal.staff().ok_or(AppError::Forbidden)?;
        if !allowed_clerk(&ctx, &c.village_id) {
            return Err(AppError::NotFound("citizen"));
        }
        let now = state.clock.now_ms();
        let ask = ask_of(&f, now).map_err(AppError::Invalid)?;
        let alliance = domain::parse_id("alliance_id", &f.one("alliance_id"))
            .map_err(|e| AppError::Invalid(e.into()))?;
        let actor = Actor {
            kind: "staff",
            id: s.id.clone(),
            label: s.display_name.clone(),
        };
        let key = domain::IdempotencyKey::parse(f.one("form_token").trim())
            .ok()
            .map(|k| format!("staff:{}:{}", s.id, k.as_str()));
        let t = state
            .store
            .dispatch()
            .file_request(
                &cid,
                &alliance,
                &ask,
                &Filer::Clerk(actor),
                key.as_deref(),
                now,
            )
            .await?;
        Ok(Redirect::to(&format!("/console/dispatch/tasks/{}", t.id)).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        for_view(&state, &ctx, &raw, &f, &errors, status).await
    })
    .await?)
}
