//! Server-rendered pages: mobile-first for residents, a desktop console for staff. Every
//! state-changing form carries a CSRF token; every handler states its action to `authz` first
//! (directly or through `flows`). A refused submission shows the form again with each error
//! next to its field.

use crate::auth::{self, PageCtx, Principal};
use crate::authz::{self, require, Action};
use crate::error::AppError;
use crate::flows::{self, SearchParams};
use crate::views::render;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::{FieldError, OtpCode, Phone, Role};
use minijinja::{context, Value};
use moralbank_store::NewRegion;
use serde::{Deserialize, Serialize};
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
        .route("/console/citizens", get(citizens).post(citizens_search))
        .route("/console/citizens/{id}", get(citizen))
        .route("/console/regions", get(regions).post(region_create))
        .route("/console/staff", get(staff_list).post(staff_create))
        .route("/console/staff/{id}/resident", post(staff_link))
        .route("/console/partners", get(partners).post(partner_create))
        .route("/console/partners/{id}/keys", post(key_create))
        .route("/console/partners/{id}/keys/{key}/revoke", post(key_revoke))
        .route("/api/docs", get(crate::api::docs_page))
}

pub(crate) type Page = Result<Response, AppError>;

/// Where a page belongs: sign-in errors send residents and staff to their own sign-in page.
#[derive(Clone, Copy)]
pub(crate) enum Area {
    Resident,
    Staff,
}

/// Turn a handler's outcome into a response: errors become a page in the reader's language.
pub(crate) fn finish(state: &AppState, ctx: &PageCtx, area: Area, result: Page) -> Response {
    let e = match result {
        Ok(r) => return r,
        Err(AppError::Unauthorized) => {
            let login = match area {
                Area::Resident => "/login",
                Area::Staff => "/staff/login",
            };
            return Redirect::to(login).into_response();
        }
        Err(e) => e,
    };
    let status = e.status();
    if let AppError::Internal(cause) = &e {
        tracing::error!(error = %cause, "page failed");
    }
    let message = state
        .catalog
        .get(ctx.lang, &format!("problem.{}", e.slug()));
    let page =
        context! { status => status.as_u16(), message => message, detail => e.problem().detail };
    match render(state, ctx, "error.html", page) {
        Ok(html) => (status, html).into_response(),
        Err(_) => status.into_response(),
    }
}

/// When `result` refused the input field by field (422 or 409), show the form again through
/// `redo` with those errors and that status; pass any other outcome on unchanged.
pub(crate) async fn or_redo(
    result: Page,
    redo: impl AsyncFnOnce(Vec<FieldError>, StatusCode) -> Page,
) -> Page {
    match result {
        Err(e) => match e.into_field_errors() {
            Ok((errors, status)) => redo(errors, status).await,
            Err(e) => Err(e),
        },
        ok => ok,
    }
}

/// Field errors keyed by field, translated, for a form to show next to each field.
pub(crate) fn field_messages(
    state: &AppState,
    ctx: &PageCtx,
    errors: &[FieldError],
) -> HashMap<String, String> {
    errors
        .iter()
        .map(|e| (e.field.clone(), state.catalog.field_error(ctx.lang, e)))
        .collect()
}

/// Render a page; an anonymous visitor without a CSRF cookie gets one, so their first form works.
pub(crate) fn page(
    state: &AppState,
    ctx: &PageCtx,
    name: &str,
    page: Value,
    status: StatusCode,
) -> Page {
    if !ctx.csrf.is_empty() {
        return Ok((status, render(state, ctx, name, page)?).into_response());
    }
    let ctx = PageCtx {
        csrf: moralbank_store::vault::random_token(),
        ..ctx.clone()
    };
    let html = render(state, &ctx, name, page)?;
    let jar = ctx.jar.clone().add(auth::csrf_cookie(
        ctx.csrf.clone(),
        state.config.cookie_secure,
    ));
    Ok((status, jar, html).into_response())
}

fn region_name(ctx: &PageCtx, r: &moralbank_store::Region) -> String {
    if ctx.lang == "en" {
        r.name_en.clone()
    } else {
        r.name_zh.clone()
    }
}

async fn index(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = page(&state, &ctx, "index.html", context! {}, StatusCode::OK);
    finish(&state, &ctx, Area::Resident, r)
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
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".into());
    (ctx.jar.add(cookie), Redirect::to(&back)).into_response()
}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

// ---------- enrolment ----------

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct EnrolForm {
    csrf: String,
    name: String,
    resident_id: String,
    phone: String,
    village_id: String,
    household: String,
    household_invite: String,
    consent_version: String,
}

async fn enrol_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &EnrolForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let mut towns: Vec<(String, Vec<Value>)> = Vec::new();
    for (village, town) in state.store.villages().await? {
        let item = context! { id => village.id, name => region_name(ctx, &village) };
        let town = region_name(ctx, &town);
        match towns.last_mut() {
            Some((t, items)) if *t == town => items.push(item),
            _ => towns.push((town, vec![item])),
        }
    }
    let towns: Vec<Value> = towns
        .into_iter()
        .map(|(t, v)| context! { name => t, villages => v })
        .collect();
    let view = context! {
        towns, form, errors => field_messages(state, ctx, errors), consent_version => domain::ENROLMENT_CONSENT_VERSION,
    };
    page(state, ctx, "enrol.html", view, status)
}

async fn enrol_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let form = EnrolForm {
        household: "new".into(),
        ..Default::default()
    };
    let r = enrol_page(&state, &ctx, &form, &[], StatusCode::OK).await;
    finish(&state, &ctx, Area::Resident, r)
}

async fn enrol_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<EnrolForm>,
) -> Response {
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        let new = flows::parse_enrolment(
            &f.name,
            &f.resident_id,
            &f.phone,
            &f.village_id,
            &f.household,
            &f.household_invite,
            &f.consent_version,
        )?;
        flows::enrol(&state, &ctx.client, &new).await?;
        let view = context! { phone_masked => new.phone.masked() };
        Ok(render(&state, &ctx, "enrolled.html", view)?.into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        enrol_page(&state, &ctx, &f, &errors, status).await
    })
    .await;
    finish(&state, &ctx, Area::Resident, result)
}

// ---------- resident sign-in ----------

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct LoginForm {
    csrf: String,
    phone: String,
    code: String,
}

async fn login_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let view = context! { step => "phone", form => LoginForm::default() };
    let r = page(&state, &ctx, "login.html", view, StatusCode::OK);
    finish(&state, &ctx, Area::Resident, r)
}

/// Two steps on one form: without a code, send one; with a code, sign in.
async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<LoginForm>,
) -> Response {
    let code_step = !f.code.trim().is_empty();
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        let phone = Phone::parse(&f.phone)?;
        if !code_step {
            // The same page whether or not the phone is enrolled.
            let sent = flows::request_code(&state, &ctx.client, &phone).await?;
            let demo_code = sent
                .filter(|_| state.config.demo_mode)
                .map(|c| c.as_str().to_string());
            let form = LoginForm {
                phone: phone.as_str().into(),
                ..Default::default()
            };
            let view = context! { step => "code", form, demo_code };
            return Ok(render(&state, &ctx, "login.html", view)?.into_response());
        }
        let code = OtpCode::parse(&f.code)?;
        let (token, _) = flows::sign_in_citizen(&state, &ctx.client, &phone, &code).await?;
        let cookie = auth::session_cookie(
            token,
            state.config.cookie_secure,
            state.config.session_ttl_s,
        );
        Ok((ctx.jar.clone().add(cookie), Redirect::to("/me")).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        let step = if code_step && !errors.iter().any(|e| e.field == "phone") {
            "code"
        } else {
            "phone"
        };
        let form = LoginForm {
            code: String::new(),
            ..f
        };
        let view = context! { step, form, errors => field_messages(&state, &ctx, &errors) };
        Ok((status, render(&state, &ctx, "login.html", view)?).into_response())
    })
    .await;
    finish(&state, &ctx, Area::Resident, result)
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
    finish(&state, &ctx, Area::Resident, result)
}

// ---------- the resident's own pages ----------

fn own_id(ctx: &PageCtx) -> Result<&str, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    ctx.principal.citizen_id().ok_or(AppError::Unauthorized)
}

/// The resident's home page; `invite_code` and `errors` come from the forms on it.
async fn me_page(
    state: &AppState,
    ctx: &PageCtx,
    invite_code: Option<String>,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let id = own_id(ctx)?;
    let c = state
        .store
        .citizen(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let (village, town) = state.store.village_and_town(&c.village_id).await?;
    let (mine, household) = crate::ledger::points(state, id).await?;
    // Tiers from credit points: the resident's, and their household's from the members' sum.
    let tiers = state.codes.as_ref().map(|c| c.tiers.clone());
    let tier_of = |credit: i64| tiers.as_ref().map(|t| domain::tier::tier(credit, t));
    let view = context! {
        tier => tier_of(mine.credit), household_tier => tier_of(household.credit),
        mine, household,
        citizen => context! {
            name => c.name.as_str(), resident_id => c.resident_id.masked(), phone => c.phone.masked(),
            village => region_name(ctx, &village), village_id => c.village_id.as_str(), town => region_name(ctx, &town), enrolled_at => c.enrolled_at, is_head => c.is_head,
        },
        members => state.store.household_members(&c.household_id).await?,
        consents => state.store.consents(id).await?,
        access => state.store.access_log(id, None, 50).await?,
        invite_code,
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "me.html", view)?).into_response())
}

async fn me(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = me_page(&state, &ctx, None, &[], StatusCode::OK).await;
    finish(&state, &ctx, Area::Resident, r)
}

async fn me_invite(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let result = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let code = state.store.create_household_invite(id).await?;
        me_page(&state, &ctx, Some(code), &[], StatusCode::OK).await
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        me_page(&state, &ctx, None, &errors, status).await
    })
    .await;
    finish(&state, &ctx, Area::Resident, result)
}

async fn me_export(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let result = async {
        let doc = state.store.export_citizen(own_id(&ctx)?).await?;
        let body =
            serde_json::to_string_pretty(&doc).map_err(|e| AppError::Internal(e.to_string()))?;
        let headers = [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"moralbank-export.json\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ];
        Ok((headers, body).into_response())
    }
    .await;
    finish(&state, &ctx, Area::Resident, result)
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
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        if f.confirm != "yes" {
            return Err(AppError::invalid(
                "confirm",
                "withdraw_unconfirmed",
                "tick the box to confirm that your data will be deleted",
            ));
        }
        state.withdraw(id).await?;
        tracing::info!(citizen = %id, "resident withdrew");
        // From here on the visitor is anonymous again.
        let anon = PageCtx {
            principal: Principal::Anonymous,
            session_token: None,
            csrf: String::new(),
            ..ctx.clone()
        };
        let done = state.catalog.get(ctx.lang, "withdraw.done");
        let r = page(
            &state,
            &anon,
            "error.html",
            context! { status => 200, message => done, detail => "" },
            StatusCode::OK,
        )?;
        Ok((ctx.jar.clone().add(auth::removal(auth::SESSION_COOKIE)), r).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        me_page(&state, &ctx, None, &errors, status).await
    })
    .await;
    finish(&state, &ctx, Area::Resident, result)
}

// ---------- staff sign-in and console ----------

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct StaffLoginForm {
    csrf: String,
    username: String,
    #[serde(skip_serializing)]
    password: String,
}

async fn staff_login_form(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = page(
        &state,
        &ctx,
        "staff_login.html",
        context! { form => StaffLoginForm::default() },
        StatusCode::OK,
    );
    finish(&state, &ctx, Area::Staff, r)
}

async fn staff_login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<StaffLoginForm>,
) -> Response {
    let result = async {
        ctx.check_csrf(&f.csrf)?;
        let Some((token, _, _)) =
            flows::sign_in_staff(&state, &ctx.client, &f.username, &f.password).await?
        else {
            return Err(AppError::invalid(
                "password",
                "login_failed",
                "username or password is wrong",
            ));
        };
        let cookie = auth::session_cookie(
            token,
            state.config.cookie_secure,
            state.config.session_ttl_s,
        );
        Ok((ctx.jar.clone().add(cookie), Redirect::to("/console")).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        let view = context! { form => f, errors => field_messages(&state, &ctx, &errors) };
        Ok((status, render(&state, &ctx, "staff_login.html", view)?).into_response())
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

async fn console(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let result = async {
        require(&ctx.principal, Action::StaffConsole)?;
        let (citizens, households) = state.store.count_citizens().await?;
        let (towns, villages) = state.store.region_counts().await?;
        let p = &ctx.principal;
        let view = context! {
            stats => context! { citizens, households, towns, villages },
            can => context! {
                citizens => authz::allowed(p, Action::ReadCitizens), regions => authz::allowed(p, Action::ViewRegions),
                staff => authz::allowed(p, Action::ManageStaff), partners => authz::allowed(p, Action::ManagePartners),
                ledger => authz::allowed(p, Action::ViewLedger),
                queue => authz::allowed(p, Action::VoteDeeds), appeals => authz::allowed(p, Action::DecideAppeals),
                standards => authz::allowed(p, Action::ManageStandards),
                green => authz::allowed(p, Action::ManageGreenCards),
                scan => authz::allowed(p, Action::ScanCodes),
            },
        };
        Ok(render(&state, &ctx, "console.html", view)?.into_response())
    }
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

#[derive(Deserialize)]
struct SearchForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    q: SearchParams,
}

/// Without criteria: the most recent enrolments in the caller's scope (each read is logged).
async fn citizens(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let r = citizens_page(&state, &ctx, &SearchParams::default()).await;
    finish(&state, &ctx, Area::Staff, r)
}

/// Criteria travel in a POST body, never in the URL, so ID numbers and phones stay out of
/// browser history and proxy logs.
async fn citizens_search(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<SearchForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ReadCitizens)?;
        ctx.check_csrf(&f.csrf)?;
        citizens_page(&state, &ctx, &f.q).await
    }
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

async fn citizens_page(state: &AppState, ctx: &PageCtx, p: &SearchParams) -> Page {
    require(&ctx.principal, Action::ReadCitizens)?;
    let searched = !(p.resident_id.is_empty() && p.phone.is_empty() && p.name.is_empty());
    let (results, errors) = match flows::parse_search(p) {
        Ok(q) => (
            flows::search_citizens(state, &ctx.principal, &q).await?,
            HashMap::new(),
        ),
        Err(e) => (vec![], field_messages(state, ctx, &e.0)),
    };
    let view = context! { q => p, results, errors, searched };
    Ok(render(state, ctx, "citizens.html", view)?.into_response())
}

async fn citizen(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> Response {
    let result = async {
        let v = flows::view_citizen(&state, &ctx.principal, &id).await?;
        let members = state
            .store
            .household_members(&v.summary.household_id)
            .await?;
        // The admin also sees the citizen's ledger (a second access-log line: "ledger").
        let (entries, points) = if authz::allowed(&ctx.principal, Action::ReadCitizenLedger) {
            let entries =
                crate::ledger::entries_for_staff(&state, &ctx.principal, &id, None, 50).await?;
            let points = state
                .store
                .points(&v.summary.id, moralbank_store::now_ms())
                .await?;
            (Some(entries), Some(points))
        } else {
            (None, None)
        };
        let view = context! { c => v.summary, full_name => v.full_name, members, entries, points };
        Ok(render(&state, &ctx, "citizen.html", view)?.into_response())
    }
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

// ---------- admin: regions, staff, partners ----------

#[derive(Deserialize)]
struct RegionsQuery {
    town: Option<String>,
}

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct RegionForm {
    csrf: String,
    parent_id: String,
    code: String,
    name_zh: String,
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
    let view = context! {
        city, towns, villages, selected, form,
        can_edit => authz::allowed(&ctx.principal, Action::ManageRegions),
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "regions.html", view)?).into_response())
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
    finish(&state, &ctx, Area::Staff, r)
}

async fn region_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<RegionForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManageRegions)?;
        ctx.check_csrf(&f.csrf)?;
        let parent_id = Some(f.parent_id.as_str())
            .filter(|p| !p.is_empty())
            .map(|p| domain::parse_id("parent_id", p))
            .transpose()?;
        let new = NewRegion {
            parent_id,
            code: f.code.clone(),
            name_zh: f.name_zh.clone(),
            name_en: f.name_en.clone(),
        };
        let r = state.store.create_region(&new).await?;
        let town = if r.level == domain::RegionLevel::Village {
            r.parent_id.unwrap_or_default()
        } else {
            r.id
        };
        Ok(Redirect::to(&format!("/console/regions?town={town}")).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        let town = Some(f.parent_id.clone()).filter(|s| !s.is_empty());
        regions_page(&state, &ctx, town, f, &errors, status).await
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct StaffForm {
    csrf: String,
    username: String,
    display_name: String,
    #[serde(skip_serializing)]
    password: String,
    role: String,
    region_id: String,
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
    let towns = match state.store.city().await? {
        Some(c) => state.store.region_children(&c.id).await?,
        None => vec![],
    };
    let villages: Vec<_> = state
        .store
        .villages()
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let links: HashMap<String, _> = state
        .store
        .staff_links()
        .await?
        .into_iter()
        .map(|l| (l.staff_id.clone(), l))
        .collect();
    let view = context! {
        staff => state.store.list_staff().await?, partners => state.store.list_partners().await?,
        towns, villages, roles, form, created, links, errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "staff.html", view)?).into_response())
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
    finish(&state, &ctx, Area::Staff, r)
}

async fn staff_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<StaffForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManageStaff)?;
        ctx.check_csrf(&f.csrf)?;
        let new = flows::parse_new_staff(
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
    let result = or_redo(result, async |errors, status| {
        staff_page(&state, &ctx, f, &errors, status, None).await
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf: String,
    resident_id: String,
    /// A ticked box sends `on`.
    chair: Option<String>,
}

/// The admin links a committee member to their own resident record (and marks the chair).
async fn staff_link(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> Response {
    let result = async {
        require(&ctx.principal, Action::ManageStaff)?;
        ctx.check_csrf(&f.csrf)?;
        crate::evaluation::link_flow(
            &state,
            &ctx.principal,
            &id,
            &f.resident_id,
            f.chair.is_some(),
        )
        .await?;
        Ok(Redirect::to("/console/staff").into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        staff_page(&state, &ctx, StaffForm::default(), &errors, status, None).await
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct PartnerForm {
    csrf: String,
    name: String,
    kind: String,
}

async fn partners_page(
    state: &AppState,
    ctx: &PageCtx,
    form: PartnerForm,
    errors: &[FieldError],
    status: StatusCode,
    new_key: Option<Value>,
) -> Page {
    require(&ctx.principal, Action::ManagePartners)?;
    let mut rows = Vec::new();
    for p in state.store.list_partners().await? {
        let keys = state.store.list_api_keys(&p.id).await?;
        rows.push(context! { p, keys });
    }
    let view = context! {
        partners => rows, kinds => moralbank_store::PARTNER_KINDS, scopes => moralbank_store::API_SCOPES,
        form, new_key, errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "partners.html", view)?).into_response())
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
    finish(&state, &ctx, Area::Staff, r)
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
    let result = or_redo(result, async |errors, status| {
        partners_page(&state, &ctx, f, &errors, status, None).await
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
}

/// The form repeats `scope` once per ticked box, so it is read as pairs.
async fn key_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| {
        f.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let result = async {
        require(&ctx.principal, Action::ManagePartners)?;
        ctx.check_csrf(field("csrf"))?;
        let scopes: Vec<String> = f
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .take(16)
            .collect();
        let id = domain::parse_id("partner_id", &id).map_err(|_| AppError::NotFound("partner"))?;
        let (key, secret) = state
            .store
            .create_api_key(&id, &scopes, field("label"))
            .await?;
        tracing::info!(partner = %id, key = %key.id, "API key created");
        let new_key = context! { partner_id => id, secret };
        partners_page(
            &state,
            &ctx,
            PartnerForm::default(),
            &[],
            StatusCode::OK,
            Some(new_key),
        )
        .await
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        partners_page(&state, &ctx, PartnerForm::default(), &errors, status, None).await
    })
    .await;
    finish(&state, &ctx, Area::Staff, result)
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
    finish(&state, &ctx, Area::Staff, result)
}
