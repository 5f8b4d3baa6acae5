//! The moral code (道德码) on the web: the issuer's public keys as a JWKS at
//! `/.well-known/moral-code/keys`, the resident's code page (a QR that refreshes itself before
//! it expires) and the printable card. Codes carry a fresh random pseudonym each time, the
//! tier, badges and the masked name — never an ID number, phone, points or household.

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::frame::views::render;
use crate::frame::PageResult;
use crate::AppState;
use crate::CodeIssuer;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use minijinja::context;
use moralbank_code::{Carrier, Claims, CodeQr, Holder, MaskedName, Pseudonym};

/// Redemption over the API (nested under `/api/v1`).
pub(crate) fn api_router() -> Router<AppState> {
    Router::new().route("/redemptions", axum::routing::post(redeem))
}

/// The issuer's keys, the resident's code page and card.
pub(crate) fn page_router() -> Router<AppState> {
    Router::new()
        .route("/.well-known/moral-code/keys", get(jwks))
        .route("/me/code", get(code_page))
        .route("/me/code.json", get(code_json))
        .route("/me/code/card", get(card_page))
}

fn issuer(state: &AppState) -> Result<&CodeIssuer, AppError> {
    state.codes.as_ref().ok_or(AppError::Unavailable)
}

async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let c = issuer(&state)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/jwk-set+json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        c.published.to_jwks(),
    )
        .into_response())
}

/// A fresh code for the signed-in resident: (code text, claims, tier, credit points).
async fn issue(
    state: &AppState,
    citizen_id: &str,
    carrier: Carrier,
) -> Result<(String, Claims, i64), AppError> {
    let c = issuer(state)?;
    let summary = state
        .store
        .registry()
        .citizen_summary(citizen_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if !summary.identity_confirmed {
        return Err(unconfirmed());
    }
    let now_ms = state.clock.now_ms();
    let points = state.store.ledger().points(citizen_id, now_ms).await?;
    let tier = domain::tier::tier(points.credit, &c.tiers);
    let mut pseudonym = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut pseudonym);
    let masked = MaskedName::parse(&summary.name_masked)
        .map_err(|e| AppError::Internal(format!("masked name: {e}")))?;
    let badges = state
        .store
        .code()
        .badges(citizen_id, now_ms)
        .await?
        .iter()
        .map(|b| {
            moralbank_code::Badge::parse(b).map_err(|e| AppError::Internal(format!("badge: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let holder = Holder {
        pseudonym: Pseudonym(pseudonym),
        tier,
        badges,
        masked_name: masked,
    };
    let claims = Claims::issue(
        c.issuer.clone(),
        holder,
        carrier,
        now_ms / 1000,
        &c.lifetimes,
    );
    // The code names nobody: remember whose it is, for a partner's redemption.
    state
        .store
        .code()
        .record_issued_code(
            &claims.code_id.to_string(),
            citizen_id,
            claims.printed_card,
            claims.expires_at,
        )
        .await?;
    let text = moralbank_code::encode(&claims, &c.key)
        .map_err(|e| AppError::Internal(format!("encoding a code: {e}")))?;
    Ok((text, claims, points.credit))
}

/// The benefits the code's tier and badges open (what the resident can use right now).
async fn open_benefits(
    state: &AppState,
    claims: &Claims,
) -> Result<Vec<moralbank_store::code::benefits::Benefit>, AppError> {
    let badges: Vec<String> = claims
        .holder
        .badges
        .iter()
        .map(|b| b.as_str().to_string())
        .collect();
    Ok(state
        .store
        .code()
        .benefits()
        .await?
        .into_iter()
        .filter(|b| b.open_to(i64::from(claims.holder.tier), &badges))
        .collect())
}

/// Each benefit with what is left of its quota this period (`None` for benefits without one).
async fn with_quota_left(
    state: &AppState,
    citizen_id: &str,
    benefits: Vec<moralbank_store::code::benefits::Benefit>,
) -> Result<Vec<minijinja::Value>, AppError> {
    let used: std::collections::HashMap<String, i64> = state
        .store
        .code()
        .quota_usage(citizen_id, state.clock.now_ms())
        .await?
        .into_iter()
        .collect();
    Ok(benefits
        .into_iter()
        .map(|b| {
            let left = b
                .quota
                .filter(|_| b.kind == "quota")
                .map(|q| (q - used.get(&b.id).copied().unwrap_or(0)).max(0));
            context! { b, left }
        })
        .collect())
}

/// No code before the real-name step: a record nobody has confirmed to be the person it names
/// opens no benefits.
fn unconfirmed() -> AppError {
    AppError::Conflict(domain::FieldError::new(
        "identity",
        "identity_unconfirmed",
        "your identity is not confirmed yet: bring your ID card to your village office",
    ))
}

/// The page a resident whose identity is not confirmed sees instead of a code.
fn code_after_confirmation(state: &AppState, ctx: &PageCtx) -> PageResult {
    let view = context! {
        status => 409, message => state.catalog.get(ctx.lang, "identity.no_code_title"),
        detail => state.catalog.get(ctx.lang, "identity.no_code_body"),
    };
    let html = render(state, ctx, "error.html", view)?;
    Ok((axum::http::StatusCode::CONFLICT, html).into_response())
}

fn is_unconfirmed(e: &AppError) -> bool {
    matches!(e, AppError::Conflict(f) if f.code == "identity_unconfirmed")
}

fn svg(text: &str) -> Result<String, AppError> {
    Ok(CodeQr::new(text)
        .map_err(|_| AppError::Internal("code too long for a QR".into()))?
        .to_svg(5))
}

async fn code_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let (text, claims, credit) = match issue(&state, id, Carrier::Phone).await {
        Err(e) if is_unconfirmed(&e) => return code_after_confirmation(&state, &ctx),
        other => other?,
    };
    let tiers = issuer(&state)?.tiers.clone();
    let now = state.clock.now_ms();
    let cards: Vec<_> = state
        .store
        .code()
        .citizen_green_cards(id)
        .await?
        .into_iter()
        .map(|c| context! { active => c.is_active(now), card => c })
        .collect();
    let view = context! {
        svg => svg(&text)?, code => text, tier => claims.holder.tier, credit, cards,
        stars => crate::registry::home::stars(credit, &tiers),
        badges => claims.holder.badges.iter().map(|b| b.as_str().to_string()).collect::<Vec<_>>(),
        open_benefits => with_quota_left(&state, id, open_benefits(&state, &claims).await?).await?,
        redemptions => state.store.code().citizen_redemptions(id, 20).await?.into_iter()
            .map(|(at, name, partner, granted, reason)| context! { at, name, partner, granted, reason }).collect::<Vec<_>>(),
        to_next => domain::tier::to_next(credit, &tiers), expires_at => claims.expires_at * 1000,
        tiers => tiers.iter().enumerate().map(|(i, t)| context! { tier => i + 1, from => t }).collect::<Vec<_>>(),
    };
    Ok(render(&state, &ctx, "code.html", view)?.into_response())
}

/// A new code for the page's refresh, as JSON.
async fn code_json(State(state): State<AppState>, ctx: PageCtx) -> Result<Response, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let (text, claims, _) = issue(&state, id, Carrier::Phone).await?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(serde_json::json!({
        "code": text, "svg": svg(&text)?, "expires_at": claims.expires_at * 1000, "tier": claims.holder.tier,
    }))).into_response())
}

/// The printable card: a long-lived code flagged as printed (eligibility benefits only).
async fn card_page(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let (text, claims, _) = match issue(&state, id, Carrier::PrintedCard).await {
        Err(e) if is_unconfirmed(&e) => return code_after_confirmation(&state, &ctx),
        other => other?,
    };
    let view = context! { svg => svg(&text)?, code => text, tier => claims.holder.tier,
    name => claims.holder.masked_name.as_str(), expires_at => claims.expires_at * 1000 };
    Ok(render(&state, &ctx, "code_card.html", view)?.into_response())
}

/// The redemption routes (in the OpenAPI document with the rest of `/api/v1`).
pub const ROUTES: &[(&str, &str)] = &[("post", "/redemptions")];

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    code: String,
    benefit_id: String,
}

/// `POST /api/v1/redemptions`: a partner redeems a benefit for a scanned code (scope
/// `benefits:redeem`, Idempotency-Key header). The code is verified here; the rules are the
/// store's. Answers 200 with the decision, granted or not, and why.
async fn redeem(
    State(state): State<AppState>,
    caller: crate::auth::ApiCaller,
    key: crate::idempotency::IdempotencyHeader,
    body: crate::error::UnreadBody,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::RedeemBenefits)?;
    let crate::auth::Principal::Partner(p) = &caller.principal else {
        return Err(AppError::Forbidden);
    };
    let key = key.require("unique per scan")?;
    let b: RedeemBody = body.json().await?;
    let claims = verify_code(&state, &b.code, state.clock.now_ms() / 1000)?;
    let d = redeem_claims(&state, &p.partner.id, &key, &b.benefit_id, &claims).await?;
    Ok(Json(d).into_response())
}

/// Verify a scanned code against the published keys as of `at_s` (unix seconds); a refusal
/// names the field `code` and the step that failed. The server never trusts a scanner's own
/// verification.
pub(crate) fn verify_code(state: &AppState, code: &str, at_s: i64) -> Result<Claims, AppError> {
    moralbank_code::verify(
        code.trim_end(),
        &issuer(state)?.published,
        at_s,
        moralbank_code::DEFAULT_CLOCK_SKEW_S,
    )
    .map_err(|e| AppError::invalid("code", e.code(), &e.to_string()))
}

/// Redeem `benefit_id` for the holder of verified `claims`, as `partner_id` under its
/// idempotency `key` (the API's and the scanner page's common path).
pub(crate) async fn redeem_claims(
    state: &AppState,
    partner_id: &str,
    key: &domain::IdempotencyKey,
    benefit_id: &str,
    claims: &Claims,
) -> Result<moralbank_store::code::redemptions::Decision, AppError> {
    let benefit_id =
        domain::parse_id("benefit_id", benefit_id).map_err(|_| AppError::NotFound("benefit"))?;
    let presented = moralbank_store::code::redemptions::Presented {
        code_id: claims.code_id.to_string(),
        tier: i64::from(claims.holder.tier),
        badges: claims
            .holder
            .badges
            .iter()
            .map(|x| x.as_str().to_string())
            .collect(),
        printed: claims.printed_card,
    };
    Ok(state
        .ledger
        .redeemer
        .redeem(
            partner_id,
            key,
            &benefit_id,
            &presented,
            state.clock.now_ms(),
        )
        .await?)
}
