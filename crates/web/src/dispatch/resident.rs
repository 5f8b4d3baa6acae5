//! The resident's side of dispatch. `/help`: ask an alliance for help (点单), see the review and
//! who is coming, confirm the service with one tap, rate it (评单), cancel before it starts.
//! `/volunteer`: opt in with a separate consent (alliances, skills, certificates, villages,
//! weekly hours), answer offers (a no is final for that request), sign up for activities,
//! check in and out by the site code, see the record (hours, no-shows, points) and print the
//! service certificate. Volunteering is never needed for anything else (principle 1).

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::dispatch::{expiry_ms, list, local_ms, site_refusal, Pairs};
use crate::error::{AppError, Path};
use crate::frame::{field_messages, or_redo, page, Form, Page, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::dispatch::matcher::Availability;
use domain::dispatch::{Ask, AskInput, Confirmation, CATEGORIES, CERTIFIED_SKILLS, SKILLS};
use domain::{FieldError, FieldErrors};
use minijinja::context;
use moralbank_store::dispatch::service::SiteScan;
use moralbank_store::dispatch::tasks::{Filer, Who};
use moralbank_store::dispatch::volunteers::{Certificate, Joining};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/help", get(help_page).post(file_request))
        .route("/help/{id}/{step}", post(request_step))
        .route("/volunteer", get(volunteer_page).post(join))
        .route("/volunteer/leave", post(leave))
        .route("/volunteer/scan", post(scan))
        .route("/volunteer/certificate", get(certificate))
        .route("/volunteer/offers/{id}/{step}", post(offer_step))
        .route("/volunteer/shifts/{id}/sign-up", post(sign_up))
}

fn own_id(ctx: &PageCtx) -> Result<String, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    ctx.principal
        .citizen_id()
        .map(str::to_string)
        .ok_or(AppError::Forbidden)
}

fn task_id(raw: &str) -> Result<String, AppError> {
    domain::parse_id("task", raw).map_err(|_| AppError::NotFound("task"))
}

/// The request form's window and fields, as the domain reads them.
pub(crate) fn ask_of(f: &Pairs, now: i64) -> Result<Ask, FieldErrors> {
    let mut e = FieldErrors::default();
    let starts = e.take(local_ms("starts_at", &f.one("date"), &f.one("start")));
    let ends = e.take(local_ms("ends_at", &f.one("date"), &f.one("end")));
    let (skills, certs) = (list(&f.many("skills")), list(&f.many("certificates")));
    let people = f.one("people");
    let asked = Ask::parse(
        &AskInput {
            category: &f.one("category"),
            title: &f.one("title"),
            place: &f.one("place"),
            starts_at: starts,
            ends_at: ends,
            people: if people.is_empty() { "1" } else { &people },
            skills: &skills,
            certificates: &certs,
            notes: &f.one("notes"),
        },
        now,
    );
    match asked {
        Ok(a) if e.is_empty() => Ok(a),
        Ok(_) => Err(e),
        Err(mut more) => {
            // The time fields' own errors first, then the rest without repeating the window.
            let timed = !e.is_empty();
            more.0
                .retain(|x| !(timed && (x.field == "starts_at" || x.field == "ends_at")));
            e.0.extend(more.0);
            Err(e)
        }
    }
}

async fn help_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &Pairs,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let id = own_id(ctx)?;
    let d = state.store.dispatch();
    let mut requests = Vec::new();
    for t in d.requests_of(&id, 50).await? {
        let offers = d.task_offers(&t.id).await?;
        let service = d.task_service(&t.id).await?;
        let coming: Vec<String> = offers
            .iter()
            .filter(|o| o.status == domain::dispatch::OfferStatus::Accepted)
            .map(|o| o.volunteer_name.clone())
            .collect();
        let to_confirm = service.iter().any(|s| {
            s.confirmed_at.is_none() && (s.check_out_at.is_some() || s.manual_approved_by.is_some())
        });
        let hours: i64 = service.iter().filter_map(|s| s.hours).sum();
        requests.push(context! { t, coming, to_confirm, hours });
    }
    let view = context! {
        requests, alliances => d.alliances().await?, categories => CATEGORIES, skills => SKILLS,
        certified => CERTIFIED_SKILLS, form, errors => field_messages(state, ctx, errors),
        form_token => moralbank_store::vault::random_token(),
    };
    page(state, ctx, "help.html", view, status)
}

async fn help_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(help_view(&state, &ctx, &Pairs::default(), &[], StatusCode::OK).await?)
}

async fn file_request(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let now = state.clock.now_ms();
        let ask = ask_of(&f, now).map_err(AppError::Invalid)?;
        let alliance = domain::parse_id("alliance_id", &f.one("alliance_id"))
            .map_err(|e| AppError::Invalid(e.into()))?;
        let key = domain::IdempotencyKey::parse(f.one("form_token").trim())
            .ok()
            .map(|k| k.scoped(domain::KeyOwner::Citizen(&id)));
        let t = state
            .store
            .dispatch()
            .file_request(&id, &alliance, &ask, &Filer::Resident, key.as_deref(), now)
            .await?;
        Ok(Redirect::to(&format!("/help#task-{}", t.id)).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        help_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct StepForm {
    csrf: String,
    stars: String,
    comment: String,
    reason: String,
}

/// One step of the requester's on a request (confirm, rate, cancel); a refusal is shown on the
/// page at the request.
async fn request_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((raw, step)): Path<(String, String)>,
    Form(f): Form<StepForm>,
) -> PageResult {
    let (state, ctx, raw, f) = (&state, &ctx, raw.as_str(), &f);
    let attempt = async {
        let id = own_id(ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let tid = task_id(raw)?;
        let now = state.clock.now_ms();
        let d = state.store.dispatch();
        let who = Who::Citizen(id);
        match step.as_str() {
            "confirm" => {
                d.confirm(&tid, &who, Confirmation::Requester, &state.rules, now)
                    .await?;
            }
            "rate" => {
                let (stars, comment) =
                    domain::dispatch::rating(&f.stars, &f.comment).map_err(AppError::Invalid)?;
                d.rate(&tid, &who, stars, &comment, now).await?;
            }
            "cancel" => {
                d.cancel(&tid, &who, &f.reason, now).await?;
            }
            _ => return Err(AppError::NotFound("step")),
        }
        Ok(Redirect::to(&format!("/help#task-{tid}")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        help_view(state, ctx, &Pairs::default(), &errors, status).await
    })
    .await?)
}

/// The volunteer page: the profile form (filled from the profile, or from what was sent), the
/// open offers and places, the activities open to sign-up, the record.
async fn volunteer_view(
    state: &AppState,
    ctx: &PageCtx,
    form: Option<&Pairs>,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let id = own_id(ctx)?;
    let now = state.clock.now_ms();
    let d = state.store.dispatch();
    let me = state
        .store
        .registry()
        .citizen_summary(&id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let profile = d.volunteer(&id).await?;
    let form = match (form, &profile) {
        (Some(f), _) => f.clone(),
        (None, Some(p)) => profile_pairs(p),
        (None, None) => Pairs(
            ["5:morning", "5:afternoon", "6:morning", "6:afternoon"]
                .iter()
                .map(|c| ("avail".to_string(), c.to_string()))
                .collect(),
        ),
    };
    let active = profile.as_ref().is_some_and(|p| p.active);
    let offers = if active {
        d.my_offers(&id, now, 50).await?
    } else {
        Vec::new()
    };
    let activities = if active {
        d.open_activities(now, 20).await?
    } else {
        Vec::new()
    };
    let mut acts = Vec::new();
    for a in activities {
        let mine = profile
            .as_ref()
            .is_some_and(|p| p.alliances.contains(&a.alliance_id));
        acts.push(context! { shifts => d.shifts(&a.id).await?, a, mine });
    }
    let (_, town) = state
        .store
        .registry()
        .village_and_town(&me.village_id)
        .await?;
    let villages = state.store.registry().region_children(&town.id).await?;
    let view = context! {
        profile, active, offers, activities => acts, record => d.my_record(&id, now).await?,
        alliances => d.alliances().await?, skills => SKILLS, certified => CERTIFIED_SKILLS,
        villages, home => me.village_id, form, errors => field_messages(state, ctx, errors), now,
        consent_version => domain::dispatch::VOLUNTEER_CONSENT_VERSION,
    };
    page(state, ctx, "volunteer.html", view, status)
}

/// A profile as the form's fields, to edit it.
fn profile_pairs(p: &moralbank_store::dispatch::volunteers::Volunteer) -> Pairs {
    let mut v: Vec<(String, String)> = Vec::new();
    v.extend(
        p.alliances
            .iter()
            .map(|a| ("alliances".to_string(), a.clone())),
    );
    v.extend(p.skills.iter().map(|a| ("skills".to_string(), a.clone())));
    v.extend(p.serves.iter().map(|a| ("serves".to_string(), a.clone())));
    let a = Availability::parse(&p.availability).unwrap_or_default();
    v.extend(
        crate::dispatch::grid_of_availability(&a)
            .into_iter()
            .map(|c| ("avail".to_string(), c)),
    );
    for c in &p.certificates {
        v.push((format!("cert_number.{}", c.skill), c.number.clone()));
        v.push((
            format!("cert_until.{}", c.skill),
            domain::time::day_of(c.valid_until),
        ));
    }
    Pairs(v)
}

async fn volunteer_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(volunteer_view(&state, &ctx, None, &[], StatusCode::OK).await?)
}

/// The profile form as the store reads it; every field's problem at once.
fn joining_of(f: &Pairs) -> Result<Joining, FieldErrors> {
    let mut e = FieldErrors::default();
    if f.one("consent") != "yes" {
        e.push(FieldError::new(
            "consent",
            "dispatch_consent_unconfirmed",
            "tick the box to agree to the volunteer terms above it",
        ));
    }
    let availability = e.take(Availability::parse(&crate::dispatch::availability_of_grid(
        &f.many("avail"),
    )));
    let mut certificates = Vec::new();
    for skill in CERTIFIED_SKILLS {
        let number = f.one(&format!("cert_number.{skill}"));
        let until = f.one(&format!("cert_until.{skill}"));
        if number.trim().is_empty() && until.trim().is_empty() {
            continue;
        }
        match local_ms("certificates", &until, "23:59") {
            Ok(valid_until) => certificates.push(Certificate {
                skill: skill.to_string(),
                number: number.trim().to_string(),
                valid_until,
            }),
            Err(_) => e.push(FieldError::new(
                "certificates",
                "bad_date",
                "a certificate's validity as a date, 2027-06-30",
            )),
        }
    }
    e.into_result()?;
    Ok(Joining {
        alliances: list(&f.many("alliances")),
        skills: list(&f.many("skills")),
        serves: list(&f.many("serves")),
        availability: availability.unwrap_or_default(),
        certificates,
    })
}

async fn join(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let f = Pairs(pairs);
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.one("csrf"))?;
        let j = joining_of(&f).map_err(AppError::Invalid)?;
        state
            .store
            .dispatch()
            .join(&id, &j, state.clock.now_ms())
            .await?;
        Ok(Redirect::to("/volunteer#profile").into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        volunteer_view(&state, &ctx, Some(&f), &errors, status).await
    })
    .await?)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
    code: String,
    confirm: String,
}

async fn leave(State(state): State<AppState>, ctx: PageCtx, Form(f): Form<CsrfForm>) -> PageResult {
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        if f.confirm != "yes" {
            return Err(AppError::invalid(
                "leave",
                "dispatch_leave_unconfirmed",
                "tick the box to leave",
            ));
        }
        state
            .store
            .dispatch()
            .leave(&id, state.clock.now_ms())
            .await?;
        Ok(Redirect::to("/volunteer").into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        volunteer_view(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

/// The volunteer scans (or types) the site code the organiser shows: check-in, then check-out.
async fn scan(State(state): State<AppState>, ctx: PageCtx, Form(f): Form<CsrfForm>) -> PageResult {
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let codes = state.codes.as_ref().ok_or(AppError::Unavailable)?;
        let now = state.clock.now_ms();
        let site = moralbank_code::site::verify_site(
            &f.code,
            &codes.published,
            now / 1000,
            moralbank_code::DEFAULT_CLOCK_SKEW_S,
        )
        .map_err(|e| site_refusal(&e))?;
        let scan = SiteScan {
            shift_id: uuid::Uuid::from_bytes(site.shift).to_string(),
            code_id: site.id_hex(),
        };
        let done = state
            .store
            .dispatch()
            .scan_site(&id, &scan, &state.rules, now)
            .await?;
        let anchor = match done {
            moralbank_store::dispatch::service::Scanned::CheckedIn => "checked-in",
            moralbank_store::dispatch::service::Scanned::CheckedOut => "checked-out",
        };
        Ok(Redirect::to(&format!("/volunteer?done={anchor}#places")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        volunteer_view(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

/// Accept, decline or give up an offer or place.
async fn offer_step(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((oid, step)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let oid = domain::parse_id("offer", &oid).map_err(|_| AppError::NotFound("offer"))?;
        let (now, d) = (state.clock.now_ms(), state.store.dispatch());
        match step.as_str() {
            "accept" => d.answer(&oid, &id, true, expiry_ms(&state), now).await?,
            "decline" => d.answer(&oid, &id, false, expiry_ms(&state), now).await?,
            "cancel" => d.cancel_place(&oid, &id, expiry_ms(&state), now).await?,
            _ => return Err(AppError::NotFound("step")),
        };
        Ok(Redirect::to(&format!("/volunteer#offer-{oid}")).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        volunteer_view(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

async fn sign_up(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(sid): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let sid = domain::parse_id("shift", &sid).map_err(|_| AppError::NotFound("shift"))?;
        let o = state
            .store
            .dispatch()
            .sign_up(&sid, &id, state.clock.now_ms())
            .await?;
        Ok(Redirect::to(&format!("/volunteer#offer-{}", o.id)).into_response())
    };
    Ok(or_redo(attempt.await, async |errors, status| {
        volunteer_view(&state, &ctx, None, &errors, status).await
    })
    .await?)
}

/// The printable service certificate: the volunteer's counted services and hours.
async fn certificate(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let id = own_id(&ctx)?;
    let now = state.clock.now_ms();
    let me = state
        .store
        .registry()
        .citizen_summary(&id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let record = state.store.dispatch().my_record(&id, now).await?;
    let view = context! { me, record, now };
    Ok(page(
        &state,
        &ctx,
        "volunteer_certificate.html",
        view,
        StatusCode::OK,
    )?)
}
