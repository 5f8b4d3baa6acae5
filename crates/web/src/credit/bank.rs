//! The bank's console (`/console/credit`), for the operators of a partner bank: a report the
//! household presents (its file, its text, or the QR of its printable page) is verified
//! offline against the published credit keys, its read recorded in the household's access
//! log, and the bank's own decision recorded back; the monthly loan book goes through the
//! city-data imports (kind `bank-loans`). The bank decides; this console only records.

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::credit::{bank_actor, decider, issuer, verify_text};
use crate::error::{AppError, Path};
use crate::frame::views::render;
use crate::frame::{field_messages, or_redo, Form, Page, PageResult};
use crate::AppState;
use axum::extract::{FromRequest, Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::credit::{Decision, DecisionInput, Outcome, REASON_CODES};
use domain::FieldError;
use minijinja::context;
use moralbank_store::registry::Actor;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/credit", get(console))
        .route("/console/credit/verify", post(verify))
        .route("/console/credit/reports/{id}", get(open_report))
        .route("/console/credit/reports/{id}/decision", post(decide))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ConsoleQuery {
    decided: String,
}

async fn console_view(
    state: &AppState,
    ctx: &PageCtx,
    text: &str,
    errors: &[FieldError],
    status: StatusCode,
    decided: &str,
) -> Page {
    require(&ctx.principal, Action::ReadCreditReports)?;
    let bank = bank_actor(state, &ctx.principal).await?;
    let reads: Vec<_> = state
        .store
        .credit()
        .bank_reports(&bank.id, 100)
        .await?
        .into_iter()
        .map(|(r, d)| context! { report => r, decision => d })
        .collect();
    let table = state.store.credit().current_table(&bank.id).await?;
    let view = context! {
        bank => bank.label, reads, text, decided, errors => field_messages(state, ctx, errors),
        table => table.map(|t| context! {
            version => t.version, posted => domain::credit::bp_text(t.posted_rate_bp),
            rows => t.rows.iter().map(|r| context! { tier => r.tier, line => r.max_line_yuan,
                discount => domain::credit::bp_text(r.rate_discount_bp) }).collect::<Vec<_>>(),
        }),
        available => state.credit.is_some(),
    };
    Ok((status, render(state, ctx, "credit_bank.html", view)?).into_response())
}

async fn console(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<ConsoleQuery>,
) -> PageResult {
    let decided = if is_report_id(&q.decided) {
        q.decided.clone()
    } else {
        String::new()
    };
    Ok(console_view(&state, &ctx, "", &[], StatusCode::OK, &decided).await?)
}

/// The verified report with the decision form (and what was typed in it, after a refusal).
async fn report_view(
    state: &AppState,
    ctx: &PageCtx,
    stored: &moralbank_store::credit::reports::StoredReport,
    form: &DecisionInput,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    let c = issuer(state)?;
    let report = moralbank_code::verify_report(
        &stored.body,
        &c.published,
        Some(&stored.bank_id),
        stored.issued_at / 1000,
        super::CLOCK_SKEW_S,
    )
    .map_err(|e| AppError::Internal(format!("a stored report does not verify: {e}")))?;
    let names = crate::ledger::labels::standard_names(state, ctx.lang).await?;
    let decision = state.store.credit().decision_of_report(&stored.id).await?;
    let view = context! {
        stored, report, names, decision, form, errors => field_messages(state, ctx, errors),
        reasons => REASON_CODES, outcomes => Outcome::ALL.iter().map(|o| o.as_str()).collect::<Vec<_>>(),
        discount => report.line.map(|l| domain::credit::bp_text(l.rate_discount_bp)),
        decision_rate => decision.as_ref().and_then(|d| d.rate_bp).map(|r| domain::credit::bp_text(u32::try_from(r).unwrap_or(0))),
    };
    Ok((status, render(state, ctx, "credit_read.html", view)?).into_response())
}

/// Verify `text` offline for the caller's bank and record the read; the stored report.
async fn read_presented(
    state: &AppState,
    bank: &Actor,
    text: &str,
) -> Result<moralbank_store::credit::reports::StoredReport, AppError> {
    let c = issuer(state)?;
    let now = state.clock.now_ms();
    let report = verify_text(c, text, &bank.id, now)?;
    state
        .store
        .credit()
        .bank_read_presented(bank, &report.id_hex(), &report.consent_id, now)
        .await
        .map_err(presented_refusal)
}

/// A refusal of a presented report, at the form's field (never a bare 404 to a clerk).
fn presented_refusal(e: moralbank_store::StoreError) -> AppError {
    match e {
        moralbank_store::StoreError::NotFound { .. } => AppError::invalid(
            "report",
            "consent_not_found",
            "no consent of this bank matches the report",
        ),
        moralbank_store::StoreError::Conflict(f) => {
            AppError::Invalid(FieldError::new("report", f.code, f.detail).into())
        }
        other => other.into(),
    }
}

async fn verify(
    State(state): State<AppState>,
    ctx: PageCtx,
    req: axum::extract::Request,
) -> PageResult {
    require(&ctx.principal, Action::ReadCreditReports)?;
    let bank = bank_actor(&state, &ctx.principal).await?;
    let mut mp = Multipart::from_request(req, &state)
        .await
        .map_err(|e| AppError::invalid("report", "upload_failed", &e.body_text()))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("report", "upload_failed", &e.body_text())
    };
    let (mut csrf, mut text, mut file) = (String::new(), String::new(), String::new());
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "text" => text = field.text().await.map_err(bad)?,
            "file" => {
                let bytes = field.bytes().await.map_err(bad)?;
                file = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]).into_owned();
            }
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let presented = if file.trim().is_empty() {
        text.clone()
    } else {
        file
    };
    let attempt = async {
        if presented.trim().is_empty() {
            return Err(AppError::invalid(
                "report",
                "report_missing",
                "choose the report's file or paste its text",
            ));
        }
        let stored = read_presented(&state, &bank, &presented).await?;
        report_view(
            &state,
            &ctx,
            &stored,
            &DecisionInput::default(),
            &[],
            StatusCode::OK,
        )
        .await
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_view(&state, &ctx, &text, &errors, status, "").await
    })
    .await?)
}

/// The address a printable report's QR holds: the bank's operator, signed in, opens the report
/// there; it is verified as a presented one.
async fn open_report(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> PageResult {
    require(&ctx.principal, Action::ReadCreditReports)?;
    let bank = bank_actor(&state, &ctx.principal).await?;
    let stored = report_of_bank(&state, &bank, &id).await?;
    // The report is the one this server issued: its signature is checked as it is shown
    // (`report_view`); whether the bank may read it is the consent's to say (revoked, lapsed
    // before the first read). A report the bank read before opens again, and is logged again.
    let attempt = async {
        state
            .store
            .credit()
            .bank_read_presented(&bank, &stored.id, &stored.consent_id, state.clock.now_ms())
            .await
            .map_err(presented_refusal)?;
        report_view(
            &state,
            &ctx,
            &stored,
            &DecisionInput::default(),
            &[],
            StatusCode::OK,
        )
        .await
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_view(&state, &ctx, "", &errors, status, "").await
    })
    .await?)
}

/// A report id: 32 lower-case hex digits.
fn is_report_id(id: &str) -> bool {
    id.len() == 32
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

async fn report_of_bank(
    state: &AppState,
    bank: &Actor,
    id: &str,
) -> Result<moralbank_store::credit::reports::StoredReport, AppError> {
    let found = if is_report_id(id) {
        state.store.credit().report(id).await?
    } else {
        None
    };
    found
        .filter(|r| r.bank_id == bank.id)
        .ok_or(AppError::NotFound("credit report"))
}

async fn decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(raw): Form<Vec<(String, String)>>,
) -> PageResult {
    require(&ctx.principal, Action::RecordLoans)?;
    let bank = bank_actor(&state, &ctx.principal).await?;
    let stored = report_of_bank(&state, &bank, &id).await?;
    let field = |name: &str| {
        raw.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let input = DecisionInput {
        outcome: field("outcome"),
        amount_yuan: field("amount_yuan"),
        rate_pct: field("rate_pct"),
        term_months: field("term_months"),
        loan_ref: field("loan_ref"),
        reasons: raw
            .iter()
            .filter(|(k, _)| k == "reasons")
            .map(|(_, v)| v.clone())
            .collect(),
        reasons_text: field("reasons_text"),
    };
    let attempt = async {
        ctx.check_csrf(&field("csrf"))?;
        let d = Decision::parse(&input)?;
        state
            .store
            .credit()
            .record_decision(
                &bank,
                &decider(&ctx.principal),
                &stored.id,
                &d,
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to(&format!(
            "/console/credit?decided={}#report-{}",
            stored.id, stored.id
        ))
        .into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        report_view(&state, &ctx, &stored, &input, &errors, status).await
    })
    .await?)
}
