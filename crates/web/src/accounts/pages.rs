//! Sign-in pages (residents by phone code, staff by password), the staff console's landing page,
//! and the admin's staff, partner and API-key pages.

use super::flows;
use crate::auth::{self, PageCtx};
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::error::Path;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, page, CsrfOnly, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::{FieldError, OtpCode, OtpPurpose, Phone, Role};
use minijinja::{context, Value};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login_submit))
        .route("/logout", post(logout))
        .route(
            "/staff/login",
            get(staff_login_form).post(staff_login_submit),
        )
        .route("/console", get(super::landing::console))
        .route("/console/staff", get(staff_list).post(staff_create))
        .route("/console/staff/{id}/resident", post(staff_link))
        .route("/console/partners", get(partners).post(partner_create))
        .route("/console/partners/{id}/keys", post(key_create))
        .route("/console/partners/{id}/keys/{key}/revoke", post(key_revoke))
}

// ---------- resident sign-in ----------
#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct LoginForm {
    csrf: String,
    phone: String,
    code: String,
    /// The page to return to after signing in (a path of this site; anything else is ignored).
    next: String,
}

/// How a sign-in page was reached: the page to return to, and whether a session had ended.
#[derive(Deserialize, Default)]
#[serde(default)]
struct SignInQuery {
    next: String,
    expired: String,
}

/// Where a sign-in goes: back to `next` (asking the page to restore a form the reader had
/// filled in when the session ended), else `fallback`.
fn after_sign_in(next: &str, fallback: &str) -> String {
    let to = crate::frame::next_or(next, fallback);
    if to == fallback {
        return to;
    }
    let sep = if to.contains('?') { '&' } else { '?' };
    format!("{to}{sep}resume=1")
}

async fn login_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<SignInQuery>,
) -> PageResult {
    let form = LoginForm {
        next: crate::frame::next_or(&q.next, ""),
        ..Default::default()
    };
    let view = context! { step => "phone", form, expired => q.expired == "1" };
    Ok(page(&state, &ctx, "login.html", view, StatusCode::OK)?)
}

/// The phone step again, refused for sending codes too often: the wait is named at the phone
/// field and the page counts it down (`retry_after`), instead of a page with no way on.
fn code_wait(state: &AppState, ctx: &PageCtx, f: &LoginForm, retry_after_s: u64) -> Page {
    let message = state
        .catalog
        .get(ctx.lang, "login.wait")
        .replace("{s}", &retry_after_s.to_string());
    let form = LoginForm {
        csrf: String::new(),
        phone: f.phone.clone(),
        code: String::new(),
        next: f.next.clone(),
    };
    let errors = HashMap::from([("phone".to_string(), message)]);
    let view = context! { step => "phone", form, errors, retry_after => retry_after_s };
    let mut res = (
        StatusCode::TOO_MANY_REQUESTS,
        render(state, ctx, "login.html", view)?,
    )
        .into_response();
    res.headers_mut()
        .insert(axum::http::header::RETRY_AFTER, retry_after_s.into());
    Ok(res)
}

/// Two steps on one form: without a code, send one; with a code, sign in.
async fn login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(mut f): Form<LoginForm>,
) -> PageResult {
    f.next = crate::frame::next_or(&f.next, "");
    let code_step = !f.code.trim().is_empty();
    let result: Page = async {
        ctx.check_csrf(&f.csrf)?;
        let phone = Phone::parse(&f.phone)?;
        if !code_step {
            // The same page, and the same work, whether or not the phone is enrolled.
            let sent =
                crate::otp::send_code(&state, &ctx.client, &phone, OtpPurpose::SignIn).await?;
            let demo_code = Some(sent)
                .filter(|_| state.config.demo_mode)
                .map(|c| c.as_str().to_string());
            let form = LoginForm {
                phone: phone.as_str().into(),
                next: f.next.clone(),
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
        let to = after_sign_in(&f.next, "/me");
        Ok((ctx.jar.clone().add(cookie), Redirect::to(&to)).into_response())
    }
    .await;
    if let (false, Err(AppError::RateLimited { retry_after_s })) = (code_step, &result) {
        return Ok(code_wait(&state, &ctx, &f, *retry_after_s)?);
    }
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
    Ok(result?)
}

async fn logout(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    ctx.check_csrf(&f.csrf)?;
    if let Some(token) = &ctx.session_token {
        state.store.accounts().delete_session(token).await?;
    }
    Ok((
        ctx.jar.clone().add(auth::removal(auth::SESSION_COOKIE)),
        Redirect::to("/"),
    )
        .into_response())
}

// ---------- staff sign-in and the console's landing page ----------
#[derive(Deserialize, Default, Serialize)]
#[serde(default)]
struct StaffLoginForm {
    csrf: String,
    username: String,
    #[serde(skip_serializing)]
    password: String,
    next: String,
}

async fn staff_login_form(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<SignInQuery>,
) -> PageResult {
    let form = StaffLoginForm {
        next: crate::frame::next_or(&q.next, ""),
        ..Default::default()
    };
    let view = context! { form, expired => q.expired == "1" };
    Ok(page(
        &state,
        &ctx,
        "staff_login.html",
        view,
        StatusCode::OK,
    )?)
}

async fn staff_login_submit(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(mut f): Form<StaffLoginForm>,
) -> PageResult {
    f.next = crate::frame::next_or(&f.next, "");
    let result: Page = async {
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
        let to = after_sign_in(&f.next, "/console");
        Ok((ctx.jar.clone().add(cookie), Redirect::to(&to)).into_response())
    }
    .await;
    let result = or_redo(result, async |errors, status| {
        let view = context! { form => f, errors => field_messages(&state, &ctx, &errors) };
        Ok((status, render(&state, &ctx, "staff_login.html", view)?).into_response())
    })
    .await;
    Ok(result?)
}

// ---------- the console: staff, partners and their API keys ----------
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
    let towns = match state.store.registry().city().await? {
        Some(c) => state.store.registry().region_children(&c.id).await?,
        None => vec![],
    };
    let villages: Vec<_> = state
        .store
        .registry()
        .villages()
        .await?
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    // The least powerful role first, so that a new account starts with it (a counter clerk
    // who scans codes) and a more powerful one is a deliberate choice.
    let roles: Vec<&str> = [
        Role::PartnerOperator,
        Role::Evaluator,
        Role::TownReviewer,
        Role::Auditor,
        Role::Admin,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    let links: HashMap<String, _> = state
        .store
        .evaluation()
        .staff_links()
        .await?
        .into_iter()
        .map(|l| (l.staff_id.clone(), l))
        .collect();
    let partners = state.store.accounts().list_partners().await?;
    // Each staff member's scope by name (the town, the village with its town, the partner),
    // never a raw id.
    let mut scope_names: HashMap<String, String> = partners
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    for t in &towns {
        scope_names.insert(t.id.clone(), crate::frame::region_name(ctx, t));
    }
    let town_names = scope_names.clone();
    for v in &villages {
        let town = v
            .parent_id
            .as_ref()
            .and_then(|p| town_names.get(p))
            .cloned()
            .unwrap_or_default();
        scope_names.insert(
            v.id.clone(),
            format!("{town} · {}", crate::frame::region_name(ctx, v)),
        );
    }
    let view = context! {
        staff => state.store.accounts().list_staff().await?, partners, scope_names,
        towns, villages, roles, form, created, links, errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "staff.html", view)?).into_response())
}

async fn staff_list(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(staff_page(
        &state,
        &ctx,
        StaffForm::default(),
        &[],
        StatusCode::OK,
        None,
    )
    .await?)
}

async fn staff_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<StaffForm>,
) -> PageResult {
    let result: Page = async {
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
        let s = state.store.accounts().create_staff(&new).await?;
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
    Ok(or_redo(result, async |errors, status| {
        staff_page(&state, &ctx, f, &errors, status, None).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LinkForm {
    csrf: String,
    resident_id: String,
    /// A ticked box sends `on`.
    chair: Option<String>,
    /// `yes` from the separate unlink form, with `confirm` = `yes` from its box.
    unlink: String,
    confirm: String,
    /// A resident picked from a search (`/console/citizens?pick=member:<staff id>`), instead
    /// of a typed ID number.
    citizen_id: String,
}

/// The admin links a committee member to their own resident record (and marks the chair).
async fn staff_link(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<LinkForm>,
) -> PageResult {
    let result: Page = async {
        require(&ctx.principal, Action::ManageStaff)?;
        ctx.check_csrf(&f.csrf)?;
        // Unlinking takes a committee member's vote away: only from its own form, confirmed.
        // An empty number in the link form is a mistake, not an unlink.
        if f.unlink == "yes" {
            if f.confirm != "yes" {
                return Err(AppError::invalid(
                    "confirm",
                    "unlink_unconfirmed",
                    "tick the box to confirm that this member can no longer vote",
                ));
            }
        } else if !f.citizen_id.is_empty() {
            let citizen = domain::parse_id("citizen_id", &f.citizen_id)?;
            let staff = domain::parse_id("id", &id).map_err(|_| AppError::NotFound("staff"))?;
            // A chair re-linked from a search stays the chair.
            let chair = state
                .store
                .evaluation()
                .staff_links()
                .await?
                .iter()
                .any(|l| l.staff_id == staff && l.is_chair);
            state
                .store
                .evaluation()
                .link_staff_citizen(&staff, Some(&citizen), chair)
                .await?;
            tracing::info!(staff = %staff, "committee member linked from a search");
            return Ok(Redirect::to("/console/staff").into_response());
        } else if f.resident_id.trim().is_empty() {
            return Err(AppError::invalid(
                "resident_id",
                "member_id_missing",
                "the member's own resident ID number (to unlink, use the unlink form)",
            ));
        }
        let resident_id = if f.unlink == "yes" {
            ""
        } else {
            f.resident_id.as_str()
        };
        crate::evaluation::flows::link_flow(
            &state,
            &ctx.principal,
            &id,
            resident_id,
            f.chair.is_some(),
        )
        .await?;
        Ok(Redirect::to("/console/staff").into_response())
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        staff_page(&state, &ctx, StaffForm::default(), &errors, status, None).await
    })
    .await?)
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
    for p in state.store.accounts().list_partners().await? {
        let keys = state.store.accounts().list_api_keys(&p.id).await?;
        rows.push(context! { p, keys });
    }
    let view = context! {
        partners => rows, kinds => moralbank_store::PARTNER_KINDS, scopes => moralbank_store::API_SCOPES,
        form, new_key, errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "partners.html", view)?).into_response())
}

async fn partners(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    Ok(partners_page(
        &state,
        &ctx,
        PartnerForm::default(),
        &[],
        StatusCode::OK,
        None,
    )
    .await?)
}

async fn partner_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<PartnerForm>,
) -> PageResult {
    let result: Page = async {
        require(&ctx.principal, Action::ManagePartners)?;
        ctx.check_csrf(&f.csrf)?;
        state
            .store
            .accounts()
            .create_partner(&f.name, &f.kind)
            .await?;
        Ok(Redirect::to("/console/partners").into_response())
    }
    .await;
    Ok(or_redo(result, async |errors, status| {
        partners_page(&state, &ctx, f, &errors, status, None).await
    })
    .await?)
}

/// The form repeats `scope` once per ticked box, so it is read as pairs.
async fn key_create(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> PageResult {
    let field = |name: &str| {
        f.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let result: Page = async {
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
            .accounts()
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
    Ok(or_redo(result, async |errors, status| {
        partners_page(&state, &ctx, PartnerForm::default(), &errors, status, None).await
    })
    .await?)
}

async fn key_revoke(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, key)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> PageResult {
    require(&ctx.principal, Action::ManagePartners)?;
    ctx.check_csrf(&f.csrf)?;
    state.store.accounts().revoke_api_key(&id, &key).await?;
    Ok(Redirect::to("/console/partners").into_response())
}
