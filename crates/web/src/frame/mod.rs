//! The page frame every server-rendered page shares: rendering with the reader's language, the
//! CSRF token and who is signed in ([`views`]), the translations ([`i18n`]), a refused form shown
//! again with each error next to its field, an error turned into a page in the reader's language,
//! and the two routes that belong to no capability: the front page and the language switch.
//! Every state-changing form carries a CSRF token; every handler states its action to `authz`
//! first.

pub mod i18n;
pub mod views;

use crate::auth::{self, PageCtx};
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use domain::FieldError;
use minijinja::{context, Value};
use serde::Deserialize;
use std::collections::HashMap;
use views::render;

/// The front page and the language switch.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/lang/{lang}", get(set_lang))
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

pub(crate) fn region_name(ctx: &PageCtx, r: &moralbank_store::Region) -> String {
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
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}
