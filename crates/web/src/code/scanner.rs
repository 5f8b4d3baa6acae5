//! The partner's scanner (扫码核验): a page for a partner operator — a library clerk, a bus
//! conductor, a hospital desk — that reads a resident's moral code from the camera or from a
//! hardware scanner typing into a field, **verifies it in the browser** against the issuer's
//! key set it caches (`verify.js`, WebCrypto Ed25519), so a scan is accepted or refused without
//! the server, and then, online, redeems one of the partner's benefits for it.
//!
//! The page embeds the key set it was served with and refreshes it from
//! `/.well-known/moral-code/keys` when it can; it keeps the last one in the browser's storage,
//! and a service worker keeps the page and its scripts, so a scanner that lost its network
//! still opens and verifies. Scans verified while offline are reported when the network is
//! back (each goes into the resident's access log); a redemption always needs the server.

use crate::auth::{PageCtx, Principal};
use crate::authz::{require, Action};
use crate::error::{AppError, UnreadBody};
use crate::frame::views::render;
use crate::frame::PageResult;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use minijinja::context;
use serde::Deserialize;

/// jsQR 1.4.0 (Apache-2.0, `assets/vendor/jsQR.LICENSE`), the camera's QR decoder on browsers
/// without the `BarcodeDetector` API.
const JSQR_JS: &str = include_str!("../../assets/vendor/jsQR.js");

/// The service worker that keeps the scanner usable offline.
const SCANNER_SW: &str = include_str!("../../assets/scan-sw.js");

/// The scanner's own script (key cache, scanning, verification, redemption).
const SCANNER_JS: &str = include_str!("../../assets/scan.js");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/scan", get(page))
        .route("/scan/verify.js", get(verify_js))
        .route("/scan/scan.js", get(scanner_js))
        .route("/scan/jsqr.js", get(jsqr))
        .route("/scan/sw.js", get(service_worker))
        .route("/scan/seen", post(seen))
        .route("/scan/redeem", post(redeem))
}

fn script(body: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn verify_js() -> Response {
    script(moralbank_code::VERIFY_JS, "no-cache")
}

async fn scanner_js() -> Response {
    script(SCANNER_JS, "no-cache")
}

async fn jsqr() -> Response {
    script(JSQR_JS, "public, max-age=86400")
}

async fn service_worker() -> Response {
    let mut r = script(SCANNER_SW, "no-cache");
    r.headers_mut().insert(
        "service-worker-allowed",
        header::HeaderValue::from_static("/scan"),
    );
    r
}

/// The operator's partner organisation: only staff with the partner-operator role have one.
fn operator_partner(p: &Principal) -> Result<&str, AppError> {
    require(p, Action::ScanCodes)?;
    p.staff()
        .and_then(|s| s.partner_id.as_deref())
        .ok_or(AppError::Forbidden)
}

async fn page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let partner_id = operator_partner(&ctx.principal)?;
    let partner = state
        .store
        .accounts()
        .partner(partner_id)
        .await?
        .ok_or(AppError::NotFound("partner"))?;
    let c = state.codes.as_ref().ok_or(AppError::Unavailable)?;
    let benefits: Vec<_> = state
        .store
        .code()
        .benefits()
        .await?
        .into_iter()
        .filter(|b| b.partner_id == partner_id)
        .collect();
    let view = context! { partner, benefits, jwks => c.published.to_jwks(),
    skew_s => moralbank_code::DEFAULT_CLOCK_SKEW_S, served_at => state.clock.now_ms() };
    // The operator's own page (their CSRF token): no HTTP cache keeps it; the service worker
    // keeps its copy for offline use.
    let mut resp = render(&state, &ctx, "scan.html", view)?.into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

fn csrf_header(ctx: &PageCtx, headers: &HeaderMap) -> Result<(), AppError> {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ctx.check_csrf(presented)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeenBody {
    /// The code as scanned. A scan verified offline may arrive after the code expired: then
    /// only its id is taken, from the part the signature covers.
    code: String,
    /// When the scanner verified it (unix ms), for scans reported after the fact.
    scanned_at: i64,
}

/// `POST /scan/seen`: the scanner verified a code; note it in the holder's access log. A scan
/// verified offline is reported when the scanner is back online, so an expired code is still
/// accepted here as long as its signature holds and it was valid when scanned (within a day).
async fn seen(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    body: UnreadBody,
) -> Result<Response, AppError> {
    let partner_id = operator_partner(&ctx.principal)?.to_string();
    csrf_header(&ctx, &headers)?;
    let b: SeenBody = body.json().await?;
    let now_ms = state.clock.now_ms();
    if b.scanned_at > now_ms + 60_000
        || b.scanned_at < now_ms - moralbank_store::code::redemptions::ISSUED_CODE_GRACE_S * 1000
    {
        return Err(AppError::invalid(
            "scanned_at",
            "out_of_range",
            "a scan is reported within a day of when it was made",
        ));
    }
    let claims = super::issue::verify_code(&state, &b.code, b.scanned_at / 1000)?;
    let known = state
        .store
        .code()
        .record_scan(&claims.code_id.to_string(), &partner_id, "")
        .await?;
    Ok(Json(serde_json::json!({ "recorded": known })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    code: String,
    benefit_id: String,
    /// The page makes one per scan and sends it again on a retry.
    idempotency_key: String,
}

/// `POST /scan/redeem`: the operator redeems one of their partner's benefits for a scanned
/// code. The same decision as `POST /api/v1/redemptions`, under the same idempotency rules.
async fn redeem(
    State(state): State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    body: UnreadBody,
) -> Result<Response, AppError> {
    let partner_id = operator_partner(&ctx.principal)?.to_string();
    csrf_header(&ctx, &headers)?;
    let b: RedeemBody = body.json().await?;
    let claims = super::issue::verify_code(&state, &b.code, state.clock.now_ms() / 1000)?;
    let key = domain::IdempotencyKey::parse(&b.idempotency_key)?;
    let d = super::issue::redeem_claims(&state, &partner_id, &key, &b.benefit_id, &claims).await?;
    Ok(Json(d).into_response())
}
