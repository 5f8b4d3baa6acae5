//! The household's side (`/me/credit`): the banks' published tables beside the household's
//! tier, asking for a consent (recipient, purpose, data, look-back and expiry named before the
//! box is ticked), each adult's authorisation, revocation, the report as a file and as a
//! printable page with a QR for the bank's console, and the bank's decision with its reasons.
//! Nothing here is needed for any other service (principle 1).

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::credit::{issuer, signer};
use crate::error::{AppError, Path};
use crate::frame::views::render;
use crate::frame::{field_messages, or_redo, Form, Page, PageResult};
use crate::AppState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::credit::{Terms, DATA_CATEGORIES, REASON_CODES};
use domain::FieldError;
use minijinja::context;
use serde::{Deserialize, Serialize};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/me/credit", get(credit_page))
        .route("/me/credit/consents", post(request))
        .route("/me/credit/consents/{id}/authorise", post(authorise))
        .route("/me/credit/consents/{id}/revoke", post(revoke))
        .route("/me/credit/consents/{id}/report", get(report_page))
        .route("/me/credit/consents/{id}/report.mbcr", get(report_file))
}

fn own_id(ctx: &PageCtx) -> Result<&str, AppError> {
    require(&ctx.principal, Action::OwnRecord)?;
    ctx.principal.citizen_id().ok_or(AppError::Forbidden)
}

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
struct RequestForm {
    csrf: String,
    bank_id: String,
    expiry_days: String,
    lookback_months: String,
    confirm: String,
}

/// The page: tables, the household's figures, its consents and decisions, the request form.
async fn page_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &RequestForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let id = own_id(ctx)?;
    let now = state.clock.now_ms();
    let me = state
        .store
        .registry()
        .citizen_summary(id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let members = state
        .store
        .registry()
        .household_members(&me.household_id)
        .await?;
    let names: std::collections::HashMap<String, String> = members
        .iter()
        .map(|m| (m.citizen_id.clone(), m.name_masked.clone()))
        .collect();
    let points = state
        .store
        .ledger()
        .household_points(&me.household_id, now)
        .await?;
    let tiers = state.credit.as_ref().map(|c| c.tiers.clone());
    let thresholds = tiers
        .as_deref()
        .map_or(&domain::tier::DEFAULT_THRESHOLDS[..], |t| &t[..]);
    let tier = domain::credit::household_tier(points.credit, members.len(), thresholds);
    let tables: Vec<_> = state
        .store
        .credit()
        .current_tables()
        .await?
        .into_iter()
        .map(|t| {
            let mine = t.table().row(tier);
            let rows: Vec<_> = t.rows.iter().map(|r| context! {
                tier => r.tier, line => r.max_line_yuan, discount => domain::credit::bp_text(r.rate_discount_bp),
                rate => domain::credit::bp_text(t.posted_rate_bp.saturating_sub(t.posted_rate_bp * r.rate_discount_bp / 10_000)),
                mine => mine.is_some_and(|m| m.tier == r.tier),
            }).collect();
            context! { bank => t.bank_name, version => t.version, posted => domain::credit::bp_text(t.posted_rate_bp), published_at => t.published_at, rows }
        })
        .collect();
    let consents: Vec<_> = state
        .store
        .credit()
        .household_consents(&me.household_id, now)
        .await?
        .into_iter()
        .map(|c| {
            let by: Vec<String> = c
                .authorised_by
                .iter()
                .map(|i| names.get(i).cloned().unwrap_or_default())
                .collect();
            let mine = c.authorised_by.iter().any(|i| i == id);
            context! { status => c.status, by, mine, consent => c }
        })
        .collect();
    let decisions = state
        .store
        .credit()
        .household_decisions(&me.household_id)
        .await?;
    let view = context! {
        tier, credit => points.credit, members => members.len(), tables, consents,
        decisions => decisions.iter().map(|d| context! {
            d, rate => d.rate_bp.map(|r| domain::credit::bp_text(u32::try_from(r).unwrap_or(0))),
            month => d.latest.as_ref().map(|l| format!("{}-{:02}", l.0 / 100, l.0 % 100)),
        }).collect::<Vec<_>>(),
        banks => state.store.credit().banks().await?, categories => DATA_CATEGORIES,
        reasons => REASON_CODES, form, errors => field_messages(state, ctx, errors),
        available => state.credit.is_some(),
    };
    Ok((status, render(state, ctx, "credit_me.html", view)?).into_response())
}

async fn credit_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
) -> PageResult {
    Ok(page_view(&state, &ctx, &RequestForm::default(), &[], StatusCode::OK).await?)
}

async fn request(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
    Form(f): Form<RequestForm>,
) -> PageResult {
    let attempt = async {
        let id = own_id(&ctx)?;
        ctx.check_csrf(&f.csrf)?;
        // Every field's problem at once: the terms, the bank, the box.
        let mut errors = domain::FieldErrors::default();
        let terms = match Terms::parse(&f.expiry_days, &f.lookback_months) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.0.extend(e.0);
                None
            }
        };
        let bank = errors.take(domain::parse_id("bank_id", &f.bank_id));
        if f.confirm != "yes" {
            errors.push(FieldError::new(
                "confirm",
                "credit_consent_unconfirmed",
                "tick the box to consent: the bank, the purpose and the data are listed above it",
            ));
        }
        errors.into_result()?;
        let (Some(terms), Some(bank)) = (terms, bank) else {
            return Err(AppError::Internal("checked above".into()));
        };
        let c = state
            .store
            .credit()
            .request_consent(id, &bank, terms, state.clock.now_ms())
            .await?;
        Ok(Redirect::to(&format!("/me/credit#consent-{}", c.id)).into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        page_view(&state, &ctx, &f, &errors, status).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConfirmForm {
    csrf: String,
    confirm: String,
}

/// A step a member takes on one consent, confirmed by its box.
#[derive(Clone, Copy)]
enum Step {
    Authorise,
    Revoke,
}

async fn authorise(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
    Path(cid): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    consent_step(&state, &ctx, &cid, &f, Step::Authorise).await
}

async fn revoke(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
    Path(cid): Path<String>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    consent_step(&state, &ctx, &cid, &f, Step::Revoke).await
}

/// Authorise or revoke consent `cid` (its box ticked), then back to it on the page; a refusal
/// is shown on the page at the consents.
async fn consent_step(
    state: &AppState,
    ctx: &PageCtx,
    cid: &str,
    f: &ConfirmForm,
    step: Step,
) -> PageResult {
    let attempt = async {
        let id = own_id(ctx)?;
        ctx.check_csrf(&f.csrf)?;
        let cid = domain::parse_id("consent", cid).map_err(|_| AppError::NotFound("consent"))?;
        if f.confirm != "yes" {
            return Err(match step {
                Step::Authorise => AppError::invalid(
                    "consent",
                    "credit_consent_unconfirmed",
                    "tick the box to authorise",
                ),
                Step::Revoke => AppError::invalid(
                    "consent",
                    "credit_revoke_unconfirmed",
                    "tick the box to revoke: the bank can then no longer read the report",
                ),
            });
        }
        let credit = state.store.credit();
        let now = state.clock.now_ms();
        match step {
            Step::Authorise => credit.authorise_consent(id, &cid, now).await?,
            Step::Revoke => credit.revoke_consent(id, &cid, now).await?,
        };
        Ok(Redirect::to(&format!("/me/credit#consent-{cid}")).into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        page_view(state, ctx, &RequestForm::default(), &errors, status).await
    })
    .await?)
}

/// The household's report under its consent (issued on the first request).
async fn household_report(
    state: &AppState,
    ctx: &PageCtx,
    cid: &str,
) -> Result<
    (
        moralbank_store::credit::reports::StoredReport,
        moralbank_code::CreditReport,
    ),
    AppError,
> {
    let id = own_id(ctx)?;
    let c = issuer(state)?;
    let cid = domain::parse_id("consent", cid).map_err(|_| AppError::NotFound("consent"))?;
    let now = state.clock.now_ms();
    let stored = state
        .store
        .credit()
        .household_report(id, &cid, &signer(c), now)
        .await?;
    // Read back through the verifier: what the household sees is what the bank will see.
    let report = moralbank_code::verify_report(
        &stored.body,
        &c.published,
        None,
        stored.issued_at / 1000,
        super::CLOCK_SKEW_S,
    )
    .map_err(|e| AppError::Internal(format!("a stored report does not verify: {e}")))?;
    Ok((stored, report))
}

async fn report_file(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
    Path(cid): Path<String>,
) -> PageResult {
    let (stored, _) = household_report(&state, &ctx, &cid).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"moral-credit-report-{}.mbcr\"",
                    &stored.id[..8]
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        format!("{}\n", stored.body),
    )
        .into_response())
}

/// The printable page: the figures in words, the report's text, and a QR of the address at
/// which the bank's operator opens it in the bank's console (nothing without that sign-in).
async fn report_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    ctx: PageCtx,
    headers: HeaderMap,
    Path(cid): Path<String>,
) -> PageResult {
    let (stored, report) = household_report(&state, &ctx, &cid).await?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = if state.config.cookie_secure {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{host}/console/credit/reports/{}", stored.id);
    let qr = moralbank_code::CodeQr::new(&url)
        .map(|q| q.to_svg(4))
        .map_err(|_| AppError::Internal("the report's address does not fit a QR".into()))?;
    let bank = state
        .store
        .credit()
        .bank(&stored.bank_id)
        .await?
        .map(|b| b.name)
        .unwrap_or_default();
    let view = context! {
        stored, report, bank, qr, url, consent_id => cid,
        discount => report.line.map(|l| domain::credit::bp_text(l.rate_discount_bp)),
    };
    Ok((
        StatusCode::OK,
        render(&state, &ctx, "credit_report.html", view)?,
    )
        .into_response())
}
