//! The page frame every server-rendered page shares: rendering with the reader's language, the
//! CSRF token and who is signed in ([`views`]), the translations ([`i18n`]), SVG charts
//! ([`chart`]), a refused form shown again with each error next to its field, an error turned
//! into a page in the reader's language, and the routes that belong to no capability: the front
//! page, the language switch, the static files and the web app's manifest.
//! Every state-changing form carries a CSRF token; every handler states its action to `authz`
//! first.

pub mod chart;
pub mod i18n;
pub mod views;

use crate::auth::{self, FrameSlot, PageCtx, Principal};
use crate::error::AppError;
use crate::error::Path;
use crate::AppState;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use domain::FieldError;
use minijinja::{context, Value};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use views::render;

/// The front page, the language switch and the pages' static files.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/lang/{lang}", get(set_lang))
        .route("/assets/{file}", get(asset))
        .route("/manifest.webmanifest", get(manifest))
}

/// The pages' style sheet and the code page's script: files, because the Content-Security-Policy
/// allows no inline style or script (`crate::headers`). (The scanner serves its own, under
/// `/scan/`.)
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "code.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/code.js"),
    ),
    (
        "forms.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/forms.js"),
    ),
    (
        "receipt.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/receipt.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/icon.svg"),
    ),
    (
        "icon-192.png",
        "image/png",
        include_bytes!("../../assets/icon-192.png"),
    ),
    (
        "icon-512.png",
        "image/png",
        include_bytes!("../../assets/icon-512.png"),
    ),
];

/// The web app manifest: the resident's app installs on a phone's home screen and opens on the
/// home page (the moral code one tap away), in the city's red.
async fn manifest(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let body = serde_json::json!({
        "name": state.catalog.get(ctx.lang, "app.name"),
        "short_name": state.catalog.get(ctx.lang, "app.name"),
        "lang": if ctx.lang == "en" { "en" } else { "zh-CN" },
        "start_url": "/me",
        "scope": "/",
        "display": "standalone",
        "background_color": "#faf7f4",
        "theme_color": "#b3261e",
        "icons": [
            { "src": "/assets/icon-192.png", "sizes": "192x192", "type": "image/png" },
            { "src": "/assets/icon-512.png", "sizes": "512x512", "type": "image/png" },
            { "src": "/assets/icon.svg", "sizes": "any", "type": "image/svg+xml" },
        ],
        "shortcuts": [{ "name": state.catalog.get(ctx.lang, "me.show_code"), "url": "/me/code" }],
    });
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/manifest+json; charset=utf-8",
        )],
        body.to_string(),
    )
        .into_response()
}

/// A static file, the same for everyone: revalidated on each use by its ETag (a hash of the
/// file), so a new release is picked up at once and an unchanged file costs a 304.
async fn asset(Path(file): Path<String>, headers: axum::http::HeaderMap) -> Response {
    use axum::http::header;
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = {
        use sha2::Digest;
        format!("\"{}\"", hex::encode(&sha2::Sha256::digest(body)[..12]))
    };
    let cache = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "public, no-cache".to_string()),
    ];
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if unchanged {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, *content_type)], *body).into_response()
}

pub(crate) type Page = Result<Response, AppError>;

/// What a page handler returns: the page, or a failure [`render_failures`] turns into a page.
pub(crate) type PageResult = Result<Response, PageError>;

/// A page handler's failure. It is shown in one place, [`render_failures`]: as a page in the
/// reader's language, or, when the reader must sign in, as a redirect to the right sign-in page.
#[derive(Debug)]
pub(crate) struct PageError(AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

/// The failure a response carries to [`render_failures`].
#[derive(Clone)]
struct Failed(Arc<AppError>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self.0 {
            tracing::error!(error = %cause, "page failed");
        }
        let mut res = self.0.status().into_response();
        res.extensions_mut().insert(Failed(Arc::new(self.0)));
        res
    }
}

/// Where a page belongs: sign-in errors send residents and staff to their own sign-in page.
#[derive(Clone, Copy)]
enum Area {
    Resident,
    Staff,
}

impl Area {
    /// Staff pages live under `/console`, `/staff/` and `/scan`, and take the committee's votes
    /// and the town's decisions; a deed's own page belongs to whoever reads it.
    fn of(path: &str, principal: Option<&Principal>) -> Area {
        let staff_path = ["/console", "/staff/", "/scan"]
            .iter()
            .any(|p| path.starts_with(p))
            || (path.starts_with("/deeds/")
                && (path.ends_with("/vote") || path.ends_with("/decide")));
        if staff_path || matches!(principal, Some(Principal::Staff(_))) {
            Area::Staff
        } else {
            Area::Resident
        }
    }
}

/// The layer that renders every page handler's failure ([`PageError`]): a redirect to the
/// sign-in page of the page's area, or the error page in the reader's language. Responses
/// without a failure (every API answer among them) pass unchanged.
pub(crate) async fn render_failures(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let slot = FrameSlot::default();
    let path = req.uri().path().to_string();
    // Where sign-in returns to: the page itself, or for a form the page it was sent from (its
    // own `Referer`, when that is this site: many forms post to an address that has no page).
    let back = if req.method() == axum::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or_else(|| path.clone(), ToString::to_string)
    } else {
        same_site_referer(req.headers()).unwrap_or_default()
    };
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    let Some(Failed(e)) = res.extensions_mut().remove::<Failed>() else {
        return res;
    };
    let ctx = slot.take();
    if matches!(*e, AppError::Unauthorized) {
        return Redirect::to(&sign_in_url(&path, &back, ctx.as_ref())).into_response();
    }
    let status = e.status();
    let Some(ctx) = ctx else {
        return status.into_response();
    };
    let message = state
        .catalog
        .get(ctx.lang, &format!("problem.{}", e.slug()));
    let detail = problem_detail(&state, ctx.lang, &e);
    let page = context! { status => status.as_u16(), message => message, detail => detail };
    let mut res = match render(&state, &ctx, "error.html", page) {
        Ok(html) => (status, html).into_response(),
        Err(_) => status.into_response(),
    };
    // A page refused for too many attempts says when to come back, as the API does.
    if let AppError::RateLimited { retry_after_s } = *e {
        res.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, retry_after_s.into());
    }
    res
}

/// The path (and query) of the request's `Referer` when it is a page of this site (the same
/// host as the request's), else `None`.
fn same_site_referer(headers: &axum::http::HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let referer: axum::http::Uri = headers
        .get(axum::http::header::REFERER)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (referer.authority()?.as_str() == host)
        .then(|| referer.path_and_query().map(ToString::to_string))
        .flatten()
}

/// The sign-in page for a page that needs a session: the resident's or the staff's, with the
/// page to return to (`next`) and, when the browser still held a session that has ended,
/// `expired=1` so the page says so.
fn sign_in_url(path: &str, back: &str, ctx: Option<&PageCtx>) -> String {
    let login = match Area::of(path, ctx.map(|c| &c.principal)) {
        Area::Resident => "/login",
        Area::Staff => "/staff/login",
    };
    let expired =
        ctx.is_some_and(|c| c.session_token.is_none() && c.jar.get(auth::SESSION_COOKIE).is_some());
    let mut url = login.to_string();
    let mut sep = '?';
    if is_local_path(back)
        && back != "/"
        && !back.starts_with("/login")
        && !back.starts_with("/staff/login")
    {
        url.push_str("?next=");
        url.extend(form_urlencoded::byte_serialize(back.as_bytes()));
        sep = '&';
    }
    if expired {
        url.push(sep);
        url.push_str("expired=1");
    }
    url
}

/// The error page's explanation in the reader's language: the fields' errors of a refused
/// input, the wait of a rate limit, else the problem's translated explanation. The API's
/// English detail is never shown on a Chinese page (see `Catalog::field_error`).
fn problem_detail(state: &AppState, lang: &str, e: &AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors
            .0
            .iter()
            .map(|f| state.catalog.field_error(lang, f))
            .collect::<Vec<_>>()
            .join("；"),
        AppError::Conflict(f) => state.catalog.field_error(lang, f),
        AppError::RateLimited { retry_after_s } => state
            .catalog
            .get(lang, "problem.retry_after")
            .replace("{s}", &retry_after_s.to_string()),
        other => state
            .catalog
            .get(lang, &format!("problem_detail.{}", other.slug())),
    }
}

/// The next page after signing in: `next` when it is a page of this site, else `fallback`.
pub(crate) fn next_or(next: &str, fallback: &str) -> String {
    if is_local_path(next) && !next.starts_with("/login") && !next.starts_with("/staff/login") {
        next.to_string()
    } else {
        fallback.to_string()
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

/// Any page address the app does not have: the error page in the reader's language (the API
/// answers its own unknown routes with a problem document).
pub(crate) async fn not_found(_ctx: PageCtx) -> PageResult {
    Err(AppError::NotFound("page").into())
}

/// The front page; a signed-in resident or staff member goes straight to their own start page.
async fn index(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    match ctx.principal {
        Principal::Citizen { .. } => return Ok(Redirect::to("/me").into_response()),
        Principal::Staff(_) => return Ok(Redirect::to("/console").into_response()),
        Principal::Anonymous | Principal::Partner(_) => {}
    }
    Ok(page(
        &state,
        &ctx,
        "index.html",
        context! {},
        StatusCode::OK,
    )?)
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
    let back = q
        .back
        .filter(|b| is_local_path(b))
        .unwrap_or_else(|| "/".into());
    (ctx.jar.add(cookie), Redirect::to(&back)).into_response()
}

/// A path on this site, never an open redirect: it starts with one `/`, has no backslash, no
/// control character or white space anywhere (browsers drop a tab or a line break inside a URL,
/// so `/<TAB>/evil.example` would become `//evil.example`, another site), and parses as a path.
fn is_local_path(b: &str) -> bool {
    b.starts_with('/')
        && !b.starts_with("//")
        && !b.contains('\\')
        && !b.chars().any(|c| c.is_control() || c.is_whitespace())
        && b.parse::<axum::http::uri::PathAndQuery>().is_ok()
}

/// A page's form. It never refuses a request by itself: a body that is no form (another content
/// type, bytes that are not text) reads as an empty form, so the handler first says who may
/// call it (401 or 403) and then refuses the empty form's missing CSRF token. Only a body over
/// the size limit is refused here (413). Page handlers take this, not `axum::Form`.
pub(crate) struct Form<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Default> axum::extract::FromRequest<S>
    for Form<T>
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(v)) => Ok(Form(v)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge),
            Err(_) => Ok(Form(T::default())),
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    pub(crate) csrf: String,
}
