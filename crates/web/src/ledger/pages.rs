//! Ledger pages: a resident's points and entries with receipts to download, and the admin's
//! ledger console (totals, the log, reversal requests with four eyes).

use super::flows as ledger;
use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::error::Path;
use crate::frame::views::render;
use crate::frame::Form;
use crate::frame::{field_messages, or_redo, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::FieldError;
use minijinja::context;
use serde::{Deserialize, Serialize};

const PAGE_SIZE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/entries", get(my_entries))
        .route("/me/entries/{index}/receipt", get(my_receipt))
        .route("/me/entries/{index}/deed", get(my_entry_deed))
        .route("/console/ledger", get(console).post(reversal_request))
        .route(
            "/console/ledger/reversals/{id}/{decision}",
            post(reversal_decide),
        )
}

#[derive(Deserialize)]
struct EntriesQuery {
    before: Option<String>,
}

async fn my_entries(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<EntriesQuery>,
) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let before = match q.before.as_deref() {
        None | Some("") => None,
        Some(b) => Some(b.parse::<u64>().map_err(|_| {
            AppError::invalid("before", "cursor_format", "not a page of your entries")
        })?),
    };
    let (mine, household) = ledger::points(&state, id).await?;
    let entries = state
        .store
        .ledger()
        .citizen_entries(id, before, PAGE_SIZE)
        .await?;
    let names = ledger::approver_names(&state, &entries).await?;
    let next = ledger::next_cursor(&entries, PAGE_SIZE);
    let rules = super::labels::Labels::load(&state, ctx.lang)
        .await?
        .of(entries.iter().map(|e| e.rule.as_str()));
    let witness_labels: std::collections::BTreeMap<_, _> =
        state.ledger.witness_labels.iter().cloned().collect();
    let view = context! {
        mine, household, entries, names, rules, next, first_page => before.is_none(), witness_labels,
    };
    Ok(render(&state, &ctx, "entries.html", view)?.into_response())
}

async fn my_receipt(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(index): Path<String>,
    q: Result<Query<ledger::ReceiptQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let index = index
        .parse::<u64>()
        .map_err(|_| AppError::NotFound("entry"))?;
    let Query(q) =
        q.map_err(|_| AppError::invalid("format", "invalid_format", "json or tlog-proof"))?;
    let receipt = ledger::own_receipt(&state, id, index).await?;
    let (body, content_type, file) = ledger::receipt_body(&receipt, index, q.format)?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// From one of the resident's entries to the deed behind it.
async fn my_entry_deed(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(index): Path<String>,
) -> PageResult {
    require(&ctx.principal, Action::OwnRecord)?;
    let id = ctx.principal.citizen_id().ok_or(AppError::Unauthorized)?;
    let index = index
        .parse::<i64>()
        .map_err(|_| AppError::NotFound("entry"))?;
    let deed = state
        .store
        .evaluation()
        .deed_by_ledger_index(index)
        .await?
        .filter(|d| d.citizen_id == id)
        .ok_or(AppError::NotFound("deed"))?;
    Ok(Redirect::to(&format!("/deeds/{}", deed.id)).into_response())
}

#[derive(Deserialize, Serialize, Default)]
#[serde(default)]
struct ReversalForm {
    csrf: String,
    entry_index: String,
    reason: String,
}

/// The reversal requests with what an approver must see before deciding: whose entry (the
/// masked name), its amount and rule by name, its reason, and who asked, by name.
async fn reversal_rows(state: &AppState, ctx: &PageCtx) -> Result<Vec<minijinja::Value>, AppError> {
    let requests = state.store.ledger().reversal_requests(false, 50).await?;
    let labels = super::labels::Labels::load(state, ctx.lang).await?;
    let staff: std::collections::HashMap<String, String> = state
        .store
        .accounts()
        .list_staff()
        .await?
        .into_iter()
        .map(|s| (format!("staff:{}", s.id), s.display_name))
        .collect();
    let mut rows = Vec::with_capacity(requests.len());
    for r in requests {
        let entry = state.store.ledger().entry(r.entry_index).await?;
        let (whose, amount, rule, entry_reason) = match &entry {
            Some((citizen, e)) => (
                state
                    .store
                    .registry()
                    .citizen_summary(citizen)
                    .await?
                    .map(|c| c.name_masked)
                    .unwrap_or_default(),
                Some(e.amount),
                labels.rule(&e.rule),
                e.reason.clone(),
            ),
            None => (String::new(), None, String::new(), String::new()),
        };
        let asked_by = staff
            .get(&r.requested_by)
            .cloned()
            .unwrap_or_else(|| r.requested_by.clone());
        rows.push(context! { r, whose, amount, rule, entry_reason, asked_by });
    }
    Ok(rows)
}

async fn console_page(
    state: &AppState,
    ctx: &PageCtx,
    form: &ReversalForm,
    errors: &[FieldError],
    notice: Option<&str>,
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ViewLedger)?;
    let totals = state.store.ledger().ledger_totals().await?;
    let head = state.store.ledger().log_head().await?;
    let checkpoint = state.store.ledger().latest_checkpoint().await?;
    let requests = reversal_rows(state, ctx).await?;
    let me = ctx
        .principal
        .staff()
        .map(|s| format!("staff:{}", s.id))
        .unwrap_or_default();
    let labels = super::labels::Labels::load(state, ctx.lang).await?;
    let accounts: Vec<_> = totals
        .system_accounts
        .iter()
        .map(|(account, balance)| context! { name => labels.account(account), account, balance })
        .collect();
    let view = context! {
        totals, accounts, head, checkpoint, requests, me, form, notice,
        can_manage => crate::authz::allowed(&ctx.principal, Action::ManageLedger),
        errors => field_messages(state, ctx, errors),
    };
    Ok((status, render(state, ctx, "ledger_console.html", view)?).into_response())
}

#[derive(Deserialize)]
struct ConsoleQuery {
    requested: Option<String>,
}

async fn console(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<ConsoleQuery>,
) -> PageResult {
    let notice = q.requested.is_some().then_some("ledger.requested_notice");
    Ok(console_page(
        &state,
        &ctx,
        &ReversalForm::default(),
        &[],
        notice,
        StatusCode::OK,
    )
    .await?)
}

async fn reversal_request(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(f): Form<ReversalForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageLedger)?;
        ctx.check_csrf(&f.csrf)?;
        let index = f.entry_index.trim().parse::<u64>().map_err(|_| {
            AppError::invalid("entry_index", "invalid_format", "a ledger entry number")
        })?;
        // An entry number that names no entry is a mistake in this field, shown at it with
        // the reason kept, not a page of its own.
        match ledger::request_reversal(&state, &ctx.principal, index, &f.reason).await {
            Err(AppError::NotFound(_)) => {
                return Err(AppError::invalid(
                    "entry_index",
                    "no_such_entry",
                    "no ledger entry has this number",
                ))
            }
            other => other?,
        };
        Ok(Redirect::to("/console/ledger?requested=1").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_page(&state, &ctx, &f, &errors, None, status).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    /// `yes` when the approver ticked that they checked the entry (approvals only).
    #[serde(default)]
    confirm: String,
}

async fn reversal_decide(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path((id, decision)): Path<(String, String)>,
    Form(f): Form<DecideForm>,
) -> PageResult {
    let attempt = async {
        require(&ctx.principal, Action::ManageLedger)?;
        ctx.check_csrf(&f.csrf)?;
        let approve = match decision.as_str() {
            "approve" => true,
            "decline" => false,
            _ => return Err(AppError::NotFound("page")),
        };
        if approve && f.confirm != "yes" {
            return Err(AppError::invalid(
                "confirm",
                "reversal_unconfirmed",
                "tick the box to confirm you checked whose entry this is and why it is reversed",
            ));
        }
        ledger::decide_reversal(&state, &ctx.principal, &id, approve).await?;
        Ok(Redirect::to("/console/ledger").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        console_page(
            &state,
            &ctx,
            &ReversalForm::default(),
            &errors,
            None,
            status,
        )
        .await
    })
    .await?)
}
