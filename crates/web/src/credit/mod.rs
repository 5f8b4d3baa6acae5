//! Moral credit loans (道德信用贷) on the web: the household's consents and its report
//! ([`resident`]), the bank's console that verifies a presented report offline and records its
//! decision and monthly loan book ([`bank`]), the admin's credit-line tables and loan figures
//! ([`admin`]), and the bank's API ([`api`]). The credit keys are published as a JWKS at
//! `/.well-known/moral-credit/keys`; the published tables at `/credit/tables`.

pub mod admin;
pub mod api;
pub mod bank;
pub mod resident;

use crate::auth::Principal;
use crate::error::AppError;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use moralbank_store::credit::reports::ReportSigner;
use moralbank_store::registry::Actor;
use std::sync::Arc;

/// What signs credit reports: its own key (never the moral code's), the keys banks verify
/// with (current and retired ones still valid), the issuer's name and the tier thresholds.
#[derive(Clone)]
pub struct CreditIssuer {
    pub key: Arc<moralbank_code::IssuerKey>,
    pub published: Arc<moralbank_code::KeySet>,
    pub issuer: String,
    pub tiers: Arc<Vec<i64>>,
    /// Keeps issued reports in batches; started by `AppState::with_credit` when `None`.
    pub writer: Option<moralbank_store::credit::writer::ReportWriter>,
}

/// How far a bank's clock may be off ours when it verifies a report.
pub const CLOCK_SKEW_S: i64 = 30;

pub(crate) fn issuer(state: &AppState) -> Result<&CreditIssuer, AppError> {
    state.credit.as_ref().ok_or(AppError::Unavailable)
}

pub(crate) fn signer(c: &CreditIssuer) -> ReportSigner<'_> {
    ReportSigner {
        key: &c.key,
        issuer: &c.issuer,
        thresholds: &c.tiers,
        writer: c.writer.as_ref(),
    }
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

/// The bank a caller acts for, as the actor the household's access log names: a bank's
/// operator (staff of a partner of kind `bank`) or a bank's API key. Anyone else is refused.
pub(crate) async fn bank_actor(state: &AppState, p: &Principal) -> Result<Actor, AppError> {
    let (bank_id, who) = match p {
        Principal::Staff(s) => (s.partner_id.clone(), Some(s.display_name.clone())),
        Principal::Partner(k) => (Some(k.partner.id.clone()), None),
        Principal::Anonymous => return Err(AppError::Unauthorized),
        Principal::Citizen { .. } => return Err(AppError::Forbidden),
    };
    let bank = match bank_id {
        Some(id) => state.store.credit().bank(&id).await?,
        None => None,
    }
    .ok_or(AppError::Forbidden)?;
    Ok(Actor {
        kind: "partner",
        label: match who {
            Some(name) => format!("{}（{name}）", bank.name),
            None => bank.name.clone(),
        },
        id: bank.id,
    })
}

/// Who decided, as the decision records it: the bank's clerk (`staff:<id>`) or its API key
/// (`key:<id>`).
pub(crate) fn decider(p: &Principal) -> String {
    match p {
        Principal::Staff(s) => format!("staff:{}", s.id),
        Principal::Partner(k) => format!("key:{}", k.key_id),
        _ => String::new(),
    }
}

/// Verify a presented report's text offline against the published keys, for `bank_id`.
pub(crate) fn verify_text(
    c: &CreditIssuer,
    text: &str,
    bank_id: &str,
    now_ms: i64,
) -> Result<moralbank_code::CreditReport, AppError> {
    moralbank_code::verify_report(
        text,
        &c.published,
        Some(bank_id),
        now_ms / 1000,
        CLOCK_SKEW_S,
    )
    .map_err(|e| {
        AppError::Invalid(
            domain::FieldError::new("report", report_error_code(&e), e.to_string()).into(),
        )
    })
}

/// The field-error code of a refused report: `report_<step>` (translated on the pages).
pub(crate) fn report_error_code(e: &moralbank_code::ReportError) -> &'static str {
    use moralbank_code::ReportError as E;
    match e {
        E::TooLarge => "report_too_large",
        E::WrongPrefix => "report_wrong_prefix",
        E::NotBase64 => "report_not_base64",
        E::NotCose => "report_not_cose",
        E::WrongType => "report_wrong_type",
        E::UnsupportedAlgorithm => "report_unsupported_algorithm",
        E::UnknownKey => "report_unknown_key",
        E::BadSignature => "report_bad_signature",
        E::BadField(_) => "report_bad_field",
        E::WrongAudience => "report_wrong_audience",
        E::Expired { .. } => "report_expired",
        E::NotYetValid { .. } => "report_not_yet_valid",
    }
}

/// The public routes: the key set and the published tables.
pub(crate) fn public_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/.well-known/moral-credit/keys", axum::routing::get(jwks))
        .route("/credit/tables", axum::routing::get(admin::public_tables))
}
