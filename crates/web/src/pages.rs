//! Server-rendered pages: mobile-first for residents, a desktop console for staff. Every
//! state-changing form carries a CSRF token; every handler states its action to `authz` first.

use crate::auth::{self, limit_key, PageCtx, Principal};
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::views::render;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::{
    FieldError, FieldErrors, OtpCode, Password, PersonName, Phone, ResidentId, Role, Username,
};
use minijinja::context;
use moralbank_store::{
    Actor, CitizenQuery, HouseholdChoice, NewCitizen, NewRegion, NewStaff, SubjectKind,
};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/lang/{lang}", get(set_lang))
        .route("/enrol", get(enrol_form).post(enrol_submit))
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/me/invite", post(me_invite))
        .route("/me/export", get(me_export))
        .route("/me/withdraw", post(me_withdraw))
        .route(
            "/staff/login",
            get(staff_login_form).post(staff_login_submit),
        )
        .route("/console", get(console))
        .route("/console/citizens", get(citizens))
        .route("/console/citizens/{id}", get(citizen))
        .route("/console/regions", get(regions).post(region_create))
        .route("/console/staff", get(staff_list).post(staff_create))
        .route("/console/partners", get(partners).post(partner_create))
        .route("/console/partners/{id}/keys", post(key_create))
        .route("/console/partners/{id}/keys/{key}/revoke", post(key_revoke))
        .route("/api/docs", get(crate::api::docs_page))
}

type Page = Result<Response, AppError>;

/// Turn a handler's error into a page in the reader's language; sign-in errors go to the
/// right sign-in page.
fn finish(state: &AppState, ctx: &PageCtx, staff_area: bool, result: Page) -> Response {
    match result {
        Ok(r) => r,
        Err(AppError::Unauthorized) => {
            Redirect::to(if staff_area { "/staff/login" } else { "/login" }).into_response()
        }
        Err(e) => {
            let status = e.status();
            if let AppError::Internal(cause) = &e {
                tracing::error!(error = %cause, "page failed");
            }
            let problem = e.problem();
            let message = ctx_text(state, ctx, &format!("problem.{}", e.slug()));
            match render(
                state,
                ctx,
                "error.html",
                context! { status => status.as_u16(), message => message, detail => problem.detail },
            ) {
                Ok(html) => (status, html).into_response(),
                Err(_) => status.into_response(),
            }
        }
    }
}

fn ctx_text(state: &AppState, ctx: &PageCtx, key: &str) -> String {
    state.catalog.get(ctx.lang, key)
}

/// Field errors keyed by field, translated, for a form to show next to each field.
fn field_messages(
    state: &AppState,
    ctx: &PageCtx,
    errors: &[FieldError],
) -> HashMap<String, String> {
    errors
        .iter()
        .map(|e| (e.field.clone(), state.catalog.field_error(ctx.lang, e)))
        .collect()
}

/// Give an anonymous visitor a double-submit CSRF cookie so their first form works.
fn with_csrf_cookie(
    state: &AppState,
    ctx: &mut PageCtx,
) -> Option<axum_extra::extract::cookie::Cookie<'static>> {
    if ctx.csrf.is_empty() {
        ctx.csrf = moralbank_store::vault::random_token();
        Some(auth::csrf_cookie(
            ctx.csrf.clone(),
            state.config.cookie_secure,
        ))
    } else {
        None
    }
}

fn html_with_cookie(
    state: &AppState,
    mut ctx: PageCtx,
    name: &str,
    page: minijinja::Value,
    status: StatusCode,
) -> Page {
    let cookie = with_csrf_cookie(state, &mut ctx);
    let html = render(state, &ctx, name, page)?;
    let jar = match cookie {
        Some(c) => ctx.jar.add(c),
        None => ctx.jar,
    };
    Ok((status, jar, html).into_response())
}

async fn index(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = html_with_cookie(&state, ctx, "index.html", context! {}, StatusCode::OK);
    r.unwrap_or_else(|e| e.into_response())
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn set_lang(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(lang): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let cookie = axum_extra::extract::cookie::Cookie::build((auth::LANG_COOKIE, lang))
        .path("/")
        .same_site(axum_extra::extract::cookie::SameSite::Lax)
        .secure(state.config.cookie_secure)
        .max_age(time::Duration::days(365))
        .build();
    // Only local paths: never an open redirect.
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    (ctx.jar.add(cookie), Redirect::to(&back)).into_response()
}

// ---------- enrolment ----------

#[derive(Deserialize, Default, serde::Serialize)]
struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    resident_id: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    village_id: String,
    #[serde(default)]
    household: String,
    #[serde(default)]
    household_invite: String,
    #[serde(default)]
    consent: String,
}

async fn enrol_page(
    state: &AppState,
    ctx: PageCtx,
    form: &EnrolForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let villages = state.store.villages().await?;
    let mut towns: Vec<(String, Vec<minijinja::Value>)> = Vec::new();
    for (v, town) in villages {
        let name = if ctx.lang == "en" {
            v.name_en.clone()
        } else {
            v.name_zh.clone()
        };
        let item = context! { id => v.id, name => name };
        match towns.last_mut() {
            Some((t, items)) if *t == town => items.push(item),
            _ => towns.push((town, vec![item])),
        }
    }
    let messages = field_messages(state, &ctx, errors);
    let page = context! {
        towns => towns.into_iter().map(|(t, v)| context! { name => t, villages => v }).collect::<Vec<_>>(),
        form => form, errors => messages, consent_version => domain::ENROLMENT_CONSENT_VERSION,
    };
    html_with_cookie(state, ctx, "enrol.html", page, status)
}

async fn enrol_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let form = EnrolForm {
        household: "new".into(),
        ..Default::default()
    };
    match enrol_page(&state, ctx, &form, &[], StatusCode::OK).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Parse an enrolment from raw fields, collecting every field error at once.
pub(crate) fn parse_enrolment(
    name: &str,
    resident_id: &str,
    phone: &str,
    village_id: &str,
    household: &str,
    invite: &str,
    consent: &str,
) -> Result<NewCitizen, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = errors.take(PersonName::parse(name));
    let rid = errors.take(ResidentId::parse(resident_id));
    let phone = errors.take(Phone::parse(phone));
    let village = errors.take(domain::parse_id("village_id", village_id).map_err(|_| {
        FieldError::new(
            "village_id",
            "village_missing",
            "choose your village or community",
        )
    }));
    let household = match household {
        "new" | "" => Some(HouseholdChoice::New),
        "join" => Some(HouseholdChoice::Join {
            invite_code: invite.chars().take(32).collect(),
        }),
        _ => {
            errors.push(FieldError::new(
                "household",
                "household_choice",
                "choose a new household or joining one",
            ));
            None
        }
    };
    let consent = errors.take(domain::ConsentVersion::parse_current(
        consent,
        domain::ENROLMENT_CONSENT_VERSION,
    ));
    match (name, rid, phone, village, household, consent) {
        (
            Some(name),
            Some(resident_id),
            Some(phone),
            Some(village_id),
            Some(household),
            Some(consent),
        ) if errors.is_empty() => Ok(NewCitizen {
            name,
            resident_id,
            phone,
            village_id,
            household,
            consent,
        }),
        _ => Err(errors),
    }
}

async fn enrol_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<EnrolForm>,
) -> Response {
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        state.limiter.check(&[limit_key("enrol-ip", &ctx.client)])?;
        let new = match parse_enrolment(
            &f.name,
            &f.resident_id,
            &f.phone,
            &f.village_id,
            &f.household,
            &f.household_invite,
            &f.consent,
        ) {
            Ok(n) => n,
            Err(errors) => return Err(AppError::Invalid(errors)),
        };
        let enrolled = state.store.enrol(&new).await?;
        tracing::info!(citizen = %enrolled.citizen_id, "resident enrolled");
        Ok(render(
            &state,
            &ctx,
            "enrolled.html",
            context! { phone_masked => new.phone.masked() },
        )?
        .into_response())
    }
    .await;
    match result {
        Err(AppError::Invalid(errors)) => {
            enrol_page(&state, ctx, &f, &errors.0, StatusCode::UNPROCESSABLE_ENTITY)
                .await
                .unwrap_or_else(|e| e.into_response())
        }
        Err(AppError::Conflict(e)) => enrol_page(&state, ctx, &f, &[e], StatusCode::CONFLICT)
            .await
            .unwrap_or_else(|e| e.into_response()),
        other => finish(&state, &ctx, false, other),
    }
}

// ---------- resident sign-in ----------

#[derive(Deserialize, Default, serde::Serialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
}

async fn login_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    html_with_cookie(
        &state,
        ctx,
        "login.html",
        context! { step => "phone", form => LoginForm::default() },
        StatusCode::OK,
    )
    .unwrap_or_else(|e| e.into_response())
}

async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<LoginForm>,
) -> Response {
    let step_phone = f.code.trim().is_empty();
    let result: Result<Result<Response, Vec<FieldError>>, AppError> = async {
        ctx.check_csrf(&f.csrf)?;
        let phone = match Phone::parse(&f.phone) {
            Ok(p) => p,
            Err(e) => return Ok(Err(vec![e])),
        };
        state.limiter.check(&[limit_key("login-ip", &ctx.client), limit_key("login-phone", phone.as_str())])?;
        if step_phone {
            // The same answer whether or not the phone is enrolled.
            let mut demo_code = None;
            if state.store.citizen_id_by_phone(&phone).await?.is_some() {
                let issued = state.store.issue_otp(&phone).await?;
                if let Err(e) = state.sender.send(&phone, &issued.code) {
                    return Err(AppError::Internal(format!("code sender: {e}")));
                }
                if state.config.demo_mode {
                    demo_code = Some(issued.code.as_str().to_string());
                }
            }
            let page = context! { step => "code", form => LoginForm { phone: phone.as_str().into(), ..Default::default() }, demo_code => demo_code };
            return Ok(Ok(render(&state, &ctx, "login.html", page)?.into_response()));
        }
        let code = match OtpCode::parse(&f.code) {
            Ok(c) => c,
            Err(e) => return Ok(Err(vec![e])),
        };
        if let Err(e) = state.store.verify_otp(&phone, &code).await {
            return match AppError::from(e) {
                AppError::Invalid(errs) => Ok(Err(errs.0)),
                other => Err(other),
            };
        }
        let Some(cid) = state.store.citizen_id_by_phone(&phone).await? else {
            return Ok(Err(vec![FieldError::new("code", "otp_expired", "no valid code for this phone; request a new one")]));
        };
        let ttl = state.config.session_ttl_s;
        let (token, _) = state.store.create_session(SubjectKind::Citizen, &cid, ttl as i64 * 1000).await?;
        let jar = ctx.jar.clone().add(auth::session_cookie(token, state.config.cookie_secure, ttl));
        Ok(Ok((jar, Redirect::to("/me")).into_response()))
    }
    .await;
    match result {
        Ok(Ok(r)) => r,
        Ok(Err(errors)) => {
            let messages = field_messages(&state, &ctx, &errors);
            let step = if step_phone || errors.iter().any(|e| e.field == "phone") {
                "phone"
            } else {
                "code"
            };
            let page = context! { step => step, form => LoginForm { code: String::new(), ..f }, errors => messages };
            match render(&state, &ctx, "login.html", page) {
                Ok(html) => (StatusCode::UNPROCESSABLE_ENTITY, html).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Err(e) => finish(&state, &ctx, false, Err(e)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn logout(State(state): State<AppState>, ctx: PageCtx, Form(f): Form<CsrfOnly>) -> Response {
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        if let Some(token) = &ctx.session_token {
            state.store.delete_session(token).await?;
        }
        Ok((
            ctx.jar.clone().add(auth::removal(auth::SESSION_COOKIE)),
            Redirect::to("/"),
        )
            .into_response())
    }
    .await;
    finish(&state, &ctx, false, result)
}

// ---------- the resident's own pages ----------

async fn me_page(state: &AppState, ctx: &PageCtx, invite_code: Option<String>) -> Page {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let c = state
        .store
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let village = state.store.region(&c.village_id).await?;
    let town = match village.as_ref().and_then(|v| v.parent_id.clone()) {
        Some(t) => state.store.region(&t).await?,
        None => None,
    };
    let place = |r: Option<moralbank_store::Region>| {
        r.map(|r| {
            if ctx.lang == "en" {
                r.name_en
            } else {
                r.name_zh
            }
        })
        .unwrap_or_default()
    };
    let page = context! {
        citizen => context! {
            name => c.name.as_str(), resident_id => c.resident_id.masked(), phone => c.phone.masked(),
            village => place(village), town => place(town), enrolled_at => c.enrolled_at, is_head => c.is_head,
        },
        members => state.store.household_members(&c.household_id).await?,
        consents => state.store.consents(id).await?,
        access => state.store.access_log(id, i64::MAX, 50).await?,
        invite_code => invite_code,
    };
    Ok(render(state, ctx, "me.html", page)?.into_response())
}

async fn me(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = me_page(&state, &ctx, None).await;
    finish(&state, &ctx, false, r)
}

async fn me_invite(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::OwnRecord)?;
        ctx.check_csrf(&f.csrf)?;
        let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
        let code = state.store.create_household_invite(id).await?;
        me_page(&state, &ctx, Some(code)).await
    }
    .await;
    finish(&state, &ctx, false, result)
}

async fn me_export(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let result = async {
        require(&ctx.principal, Action::OwnRecord)?;
        let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
        let doc = state.store.export_citizen(id).await?;
        let body =
            serde_json::to_string_pretty(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"moralbank-export.json\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response())
    }
    .await;
    finish(&state, &ctx, false, result)
}

#[derive(Deserialize)]
struct WithdrawForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

async fn me_withdraw(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::OwnRecord)?;
        ctx.check_csrf(&f.csrf)?;
        if f.confirm != "yes" {
            return Err(AppError::invalid("confirm", "withdraw_unconfirmed", "tick the box to confirm that your data will be deleted"));
        }
        let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
        state.store.withdraw(id).await?;
        tracing::info!(citizen = %id, "resident withdrew");
        let jar = ctx.jar.clone().add(auth::removal(auth::SESSION_COOKIE));
        let mut anon = PageCtx { principal: Principal::Anonymous, lang: ctx.lang, csrf: String::new(), jar: ctx.jar.clone(), session_token: None, client: ctx.client.clone() };
        anon.csrf = moralbank_store::vault::random_token();
        let html = render(&state, &anon, "error.html", context! { status => 200, message => ctx_text(&state, &ctx, "withdraw.done"), detail => "" })?;
        Ok((jar.add(auth::csrf_cookie(anon.csrf, state.config.cookie_secure)), html).into_response())
    }
    .await;
    finish(&state, &ctx, false, result)
}

// ---------- staff sign-in and console ----------

#[derive(Deserialize, Default, serde::Serialize)]
struct StaffLoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default, skip_serializing)]
    password: String,
}

async fn staff_login_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    html_with_cookie(
        &state,
        ctx,
        "staff_login.html",
        context! { form => StaffLoginForm::default() },
        StatusCode::OK,
    )
    .unwrap_or_else(|e| e.into_response())
}

async fn staff_login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<StaffLoginForm>,
) -> Response {
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        state.limiter.check(&[
            limit_key("staff-ip", &ctx.client),
            limit_key("staff-user", &f.username.to_ascii_lowercase()),
        ])?;
        if f.password.len() > domain::PASSWORD_BYTES_MAX {
            return Err(AppError::invalid(
                "password",
                "password_too_long",
                "must be at most 256 bytes",
            ));
        }
        let Some(staff) = state.store.staff_login(&f.username, &f.password).await? else {
            return Err(AppError::invalid(
                "password",
                "login_failed",
                "username or password is wrong",
            ));
        };
        tracing::info!(staff = %staff.id, role = staff.role.as_str(), "staff signed in");
        let ttl = state.config.session_ttl_s;
        let (token, _) = state
            .store
            .create_session(SubjectKind::Staff, &staff.id, ttl as i64 * 1000)
            .await?;
        Ok((
            ctx.jar
                .clone()
                .add(auth::session_cookie(token, state.config.cookie_secure, ttl)),
            Redirect::to("/console"),
        )
            .into_response())
    }
    .await;
    match result {
        Err(AppError::Invalid(errors)) => {
            let page = context! { form => StaffLoginForm { password: String::new(), ..f }, errors => field_messages(&state, &ctx, &errors.0) };
            match render(&state, &ctx, "staff_login.html", page) {
                Ok(html) => (StatusCode::UNPROCESSABLE_ENTITY, html).into_response(),
                Err(e) => e.into_response(),
            }
        }
        other => finish(&state, &ctx, true, other),
    }
}

async fn console(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let result = async {
        require(&ctx.principal, Action::StaffConsole)?;
        let (citizens, households) = state.store.count_citizens().await?;
        let (towns, villages) = state.store.region_counts().await?;
        let p = &ctx.principal;
        let page = context! {
            stats => context! { citizens, households, towns, villages },
            can => context! {
                citizens => authz::allowed(p, Action::ReadCitizens), regions => authz::allowed(p, Action::ViewRegions),
                staff => authz::allowed(p, Action::ManageStaff), partners => authz::allowed(p, Action::ManagePartners),
            },
        };
        Ok(render(&state, &ctx, "console.html", page)?.into_response())
    }
    .await;
    finish(&state, &ctx, true, result)
}

fn staff_actor(ctx: &PageCtx) -> Result<Actor, AppError> {
    let s = ctx.principal.staff().ok_or(AppError::Unauthorized)?;
    Ok(Actor {
        kind: "staff",
        id: s.id.clone(),
        label: format!("{} ({})", s.display_name, s.role.as_str()),
    })
}

#[derive(Deserialize, Default, serde::Serialize)]
pub(crate) struct SearchParams {
    #[serde(default)]
    pub resident_id: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub name: String,
}

pub(crate) fn parse_search(p: &SearchParams) -> Result<CitizenQuery, FieldErrors> {
    let mut errors = FieldErrors::default();
    let opt = |s: &str| {
        if s.trim().is_empty() {
            None
        } else {
            Some(s.to_string())
        }
    };
    let q = CitizenQuery {
        resident_id: opt(&p.resident_id).and_then(|s| errors.take(ResidentId::parse(&s))),
        phone: opt(&p.phone).and_then(|s| errors.take(Phone::parse(&s))),
        name: opt(&p.name).and_then(|s| errors.take(PersonName::parse(&s))),
        village_id: None,
    };
    errors.into_result().map(|_| q)
}

async fn citizens(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(p): Query<SearchParams>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ReadCitizens)?;
        let scope = authz::citizen_scope(&ctx.principal).ok_or(AppError::Forbidden)?;
        let searched = !(p.resident_id.is_empty() && p.phone.is_empty() && p.name.is_empty());
        let (results, errors) = match parse_search(&p) {
            Ok(q) => {
                let found = state.store.search_citizens(&q, &scope, 20).await?;
                let ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
                state
                    .store
                    .record_access(&ids, &staff_actor(&ctx)?, "search")
                    .await?;
                (found, HashMap::new())
            }
            Err(e) => (vec![], field_messages(&state, &ctx, &e.0)),
        };
        let page = context! { q => p, results => results, errors => errors, searched => searched };
        Ok(render(&state, &ctx, "citizens.html", page)?.into_response())
    }
    .await;
    finish(&state, &ctx, true, result)
}

async fn citizen(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> Response {
    let result = async {
        require(&ctx.principal, Action::ReadCitizens)?;
        let scope = authz::citizen_scope(&ctx.principal).ok_or(AppError::Forbidden)?;
        let id = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("citizen"))?;
        // Outside the caller's scope looks exactly like "no such citizen".
        if !state.store.citizen_in_scope(&id, &scope).await? {
            return Err(AppError::NotFound("citizen"));
        }
        let s = state
            .store
            .citizen_summary(&id)
            .await?
            .ok_or(AppError::NotFound("citizen"))?;
        let full_name = if authz::sees_full_names(&ctx.principal) {
            state
                .store
                .citizen(&id)
                .await?
                .map(|c| c.name.as_str().to_string())
        } else {
            None
        };
        state
            .store
            .record_access(&[&id], &staff_actor(&ctx)?, "view")
            .await?;
        let members = state.store.household_members(&s.household_id).await?;
        let page = context! { c => s, full_name => full_name, members => members };
        Ok(render(&state, &ctx, "citizen.html", page)?.into_response())
    }
    .await;
    finish(&state, &ctx, true, result)
}

// ---------- admin: regions, staff, partners ----------

#[derive(Deserialize)]
struct RegionsQuery {
    town: Option<String>,
}

#[derive(Deserialize, Default, serde::Serialize)]
struct RegionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_zh: String,
    #[serde(default)]
    name_en: String,
}

async fn regions_page(
    state: &AppState,
    ctx: &PageCtx,
    town: Option<String>,
    form: RegionForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ViewRegions)?;
    let city = state.store.city().await?;
    let towns = match &city {
        Some(c) => state.store.region_children(&c.id).await?,
        None => vec![],
    };
    let selected = town.or_else(|| towns.first().map(|t| t.id.clone()));
    let villages = match &selected {
        Some(t) => state.store.region_children(t).await?,
        None => vec![],
    };
    let page = context! {
        city => city, towns => towns, villages => villages, selected => selected,
        can_edit => authz::allowed(&ctx.principal, Action::ManageRegions),
        form => form, errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "regions.html", page)?).into_response())
}

async fn regions(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<RegionsQuery>,
) -> Response {
    let r = regions_page(
        &state,
        &ctx,
        q.town,
        RegionForm::default(),
        &[],
        StatusCode::OK,
    )
    .await;
    finish(&state, &ctx, true, r)
}

async fn region_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<RegionForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManageRegions)?;
        ctx.check_csrf(&f.csrf)?;
        let parent = if f.parent_id.is_empty() {
            None
        } else {
            Some(domain::parse_id("parent_id", &f.parent_id)?)
        };
        let r = state
            .store
            .create_region(&NewRegion {
                parent_id: parent,
                code: f.code.clone(),
                name_zh: f.name_zh.clone(),
                name_en: f.name_en.clone(),
            })
            .await?;
        let town = if r.level == domain::RegionLevel::Village {
            r.parent_id
        } else {
            Some(r.id)
        };
        Ok(Redirect::to(&format!(
            "/console/regions?town={}",
            town.unwrap_or_default()
        ))
        .into_response())
    }
    .await;
    match result {
        Err(AppError::Invalid(e)) => {
            let town = Some(f.parent_id.clone()).filter(|s| !s.is_empty());
            finish(
                &state,
                &ctx,
                true,
                regions_page(
                    &state,
                    &ctx,
                    town,
                    f,
                    &e.0,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await,
            )
        }
        Err(AppError::Conflict(e)) => {
            let town = Some(f.parent_id.clone()).filter(|s| !s.is_empty());
            finish(
                &state,
                &ctx,
                true,
                regions_page(&state, &ctx, town, f, &[e], StatusCode::CONFLICT).await,
            )
        }
        other => finish(&state, &ctx, true, other),
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default, skip_serializing)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    region_id: String,
    #[serde(default)]
    partner_id: String,
}

async fn staff_page(
    state: &AppState,
    ctx: &PageCtx,
    form: StaffForm,
    errors: &[FieldError],
    status: StatusCode,
    created: Option<String>,
) -> Page {
    require(&ctx.principal, Action::ManageStaff)?;
    let staff = state.store.list_staff().await?;
    let partners = state.store.list_partners().await?;
    let city = state.store.city().await?;
    let towns = match &city {
        Some(c) => state.store.region_children(&c.id).await?,
        None => vec![],
    };
    let villages = state
        .store
        .villages()
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .collect::<Vec<_>>();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let page = context! {
        staff => staff, partners => partners, towns => towns, villages => villages, roles => roles,
        form => form, errors => field_messages(state, ctx, errors), created => created,
    };
    Ok((status, render(state, ctx, "staff.html", page)?).into_response())
}

async fn staff_list(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = staff_page(
        &state,
        &ctx,
        StaffForm::default(),
        &[],
        StatusCode::OK,
        None,
    )
    .await;
    finish(&state, &ctx, true, r)
}

pub(crate) fn parse_new_staff(
    username: &str,
    display: &str,
    password: &str,
    role: &str,
    region: &str,
    partner: &str,
) -> Result<NewStaff, FieldErrors> {
    let mut errors = FieldErrors::default();
    let opt_id = |field: &'static str, s: &str, errors: &mut FieldErrors| {
        if s.trim().is_empty() {
            None
        } else {
            errors.take(domain::parse_id(field, s))
        }
    };
    let username = errors.take(Username::parse(username));
    let password = errors.take(Password::parse(password));
    let role = errors.take(Role::parse(role));
    let region_id = opt_id("region_id", region, &mut errors);
    let partner_id = opt_id("partner_id", partner, &mut errors);
    match (username, password, role) {
        (Some(username), Some(password), Some(role)) if errors.is_empty() => Ok(NewStaff {
            username,
            display_name: display.to_string(),
            password,
            role,
            region_id,
            partner_id,
        }),
        _ => Err(errors),
    }
}

async fn staff_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<StaffForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManageStaff)?;
        ctx.check_csrf(&f.csrf)?;
        let new = parse_new_staff(
            &f.username,
            &f.display_name,
            &f.password,
            &f.role,
            &f.region_id,
            &f.partner_id,
        )?;
        let s = state.store.create_staff(&new).await?;
        tracing::info!(staff = %s.id, role = s.role.as_str(), "staff account created");
        staff_page(
            &state,
            &ctx,
            StaffForm::default(),
            &[],
            StatusCode::OK,
            Some(s.username),
        )
        .await
    }
    .await;
    match result {
        Err(AppError::Invalid(e)) => finish(
            &state,
            &ctx,
            true,
            staff_page(
                &state,
                &ctx,
                f,
                &e.0,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await,
        ),
        Err(AppError::Conflict(e)) => finish(
            &state,
            &ctx,
            true,
            staff_page(&state, &ctx, f, &[e], StatusCode::CONFLICT, None).await,
        ),
        other => finish(&state, &ctx, true, other),
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
struct PartnerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

async fn partners_page(
    state: &AppState,
    ctx: &PageCtx,
    form: PartnerForm,
    errors: &[FieldError],
    status: StatusCode,
    new_key: Option<minijinja::Value>,
) -> Page {
    require(&ctx.principal, Action::ManagePartners)?;
    let mut rows = Vec::new();
    for p in state.store.list_partners().await? {
        let keys = state.store.list_api_keys(&p.id).await?;
        rows.push(context! { p => p, keys => keys });
    }
    let page = context! {
        partners => rows, kinds => moralbank_store::PARTNER_KINDS, scopes => moralbank_store::API_SCOPES,
        form => form, errors => field_messages(state, ctx, errors), new_key => new_key,
    };
    Ok((status, render(state, ctx, "partners.html", page)?).into_response())
}

async fn partners(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = partners_page(
        &state,
        &ctx,
        PartnerForm::default(),
        &[],
        StatusCode::OK,
        None,
    )
    .await;
    finish(&state, &ctx, true, r)
}

async fn partner_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<PartnerForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManagePartners)?;
        ctx.check_csrf(&f.csrf)?;
        state.store.create_partner(&f.name, &f.kind).await?;
        Ok(Redirect::to("/console/partners").into_response())
    }
    .await;
    match result {
        Err(AppError::Invalid(e)) => finish(
            &state,
            &ctx,
            true,
            partners_page(
                &state,
                &ctx,
                f,
                &e.0,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await,
        ),
        Err(AppError::Conflict(e)) => finish(
            &state,
            &ctx,
            true,
            partners_page(&state, &ctx, f, &[e], StatusCode::CONFLICT, None).await,
        ),
        other => finish(&state, &ctx, true, other),
    }
}

async fn key_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManagePartners)?;
        let field = |name: &str| {
            f.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        ctx.check_csrf(&field("csrf"))?;
        let scopes: Vec<String> = f
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .take(16)
            .collect();
        let id = domain::parse_id("partner_id", &id).map_err(|_| AppError::NotFound("partner"))?;
        let (key, secret) = state
            .store
            .create_api_key(&id, &scopes, &field("label"))
            .await?;
        tracing::info!(partner = %id, key = %key.id, "API key created");
        partners_page(
            &state,
            &ctx,
            PartnerForm::default(),
            &[],
            StatusCode::OK,
            Some(context! { partner_id => id, secret => secret }),
        )
        .await
    }
    .await;
    match result {
        Err(AppError::Invalid(e)) => finish(
            &state,
            &ctx,
            true,
            partners_page(
                &state,
                &ctx,
                PartnerForm::default(),
                &e.0,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
            )
            .await,
        ),
        other => finish(&state, &ctx, true, other),
    }
}

async fn key_revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, key)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManagePartners)?;
        ctx.check_csrf(&f.csrf)?;
        state.store.revoke_api_key(&id, &key).await?;
        Ok(Redirect::to("/console/partners").into_response())
    }
    .await;
    finish(&state, &ctx, true, result)
}
