//! The city's side: each bank's credit-line table (tier → suggested line and rate discount,
//! with the bank's posted rate), set by the admin with the bank and published in versions at
//! `/credit/tables`; and the loan figures from the banks' monthly books — households with a
//! loan outstanding and the balance, by month and town, and the banks' decisions by month.

use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::error::AppError;
use crate::frame::chart::{self, Series};
use crate::frame::views::render;
use crate::frame::{field_messages, or_redo, page, Form, Page, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::Router;
use domain::credit::{bp_text, LineTable};
use domain::FieldError;
use minijinja::context;
use serde::Deserialize;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/credit/tables", get(tables).post(publish))
        .route("/console/credit/figures", get(figures))
}

/// How many tiers the table has a row for: the code's tiers (5 by default).
fn tier_count(state: &AppState) -> usize {
    state
        .credit
        .as_ref()
        .map_or(domain::tier::DEFAULT_THRESHOLDS.len(), |c| c.tiers.len())
}

fn table_view(t: &moralbank_store::credit::PublishedTable) -> minijinja::Value {
    context! {
        bank => t.bank_name, bank_id => t.bank_id, version => t.version, posted => bp_text(t.posted_rate_bp),
        published_at => t.published_at,
        rows => t.rows.iter().map(|r| context! {
            tier => r.tier, line => r.max_line_yuan, discount => bp_text(r.rate_discount_bp),
            rate => bp_text(t.posted_rate_bp.saturating_sub(t.posted_rate_bp * r.rate_discount_bp / 10_000)),
        }).collect::<Vec<_>>(),
    }
}

/// The published tables, for anyone: what a household can expect to be suggested.
pub(crate) async fn public_tables(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let tables: Vec<_> = state
        .store
        .credit()
        .current_tables()
        .await?
        .iter()
        .map(table_view)
        .collect();
    Ok(page(
        &state,
        &ctx,
        "credit_tables.html",
        context! { tables, public => true },
        StatusCode::OK,
    )?)
}

#[derive(Deserialize, Default, Clone, serde::Serialize)]
#[serde(default)]
struct TableForm {
    csrf: String,
    bank_id: String,
    posted_rate: String,
    line: Vec<String>,
    discount: Vec<String>,
}

async fn tables_view(
    state: &AppState,
    ctx: &PageCtx,
    form: &TableForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Page {
    require(&ctx.principal, Action::ManageCreditTables)?;
    let banks = state.store.credit().banks().await?;
    let mut history = Vec::new();
    for b in &banks {
        for t in state.store.credit().table_history(&b.id).await? {
            history.push(table_view(&t));
        }
    }
    let view = context! {
        banks, history, form, tiers => (1..=tier_count(state)).collect::<Vec<_>>(),
        errors => field_messages(state, ctx, errors), public => false,
    };
    Ok((status, render(state, ctx, "credit_tables.html", view)?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TablesQuery {
    bank: String,
}

/// The form starts from the chosen bank's table in force (the first bank's by default), so
/// that a new version changes only what the admin changes.
async fn tables(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<TablesQuery>,
) -> PageResult {
    require(&ctx.principal, Action::ManageCreditTables)?;
    let banks = state.store.credit().banks().await?;
    let bank = banks.iter().find(|b| b.id == q.bank).or(banks.first());
    let mut form = TableForm::default();
    if let Some(b) = bank {
        form.bank_id = b.id.clone();
        if let Some(t) = state.store.credit().current_table(&b.id).await? {
            form.posted_rate = bp_text(t.posted_rate_bp);
            form.line = t.rows.iter().map(|r| r.max_line_yuan.to_string()).collect();
            form.discount = t.rows.iter().map(|r| bp_text(r.rate_discount_bp)).collect();
        }
    }
    Ok(tables_view(&state, &ctx, &form, &[], StatusCode::OK).await?)
}

async fn publish(
    State(state): State<AppState>,
    ctx: PageCtx,
    Form(raw): Form<Vec<(String, String)>>,
) -> PageResult {
    let all = |name: &str| -> Vec<String> {
        raw.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let one = |name: &str| all(name).into_iter().next().unwrap_or_default();
    let form = TableForm {
        csrf: one("csrf"),
        bank_id: one("bank_id"),
        posted_rate: one("posted_rate"),
        line: all("line"),
        discount: all("discount"),
    };
    let attempt = async {
        require(&ctx.principal, Action::ManageCreditTables)?;
        ctx.check_csrf(&form.csrf)?;
        let s = ctx.principal.staff().ok_or(AppError::Forbidden)?;
        let n = tier_count(&state);
        if form.line.len() != n || form.discount.len() != n {
            return Err(AppError::invalid(
                "line_1",
                "required",
                "the table needs a row per tier",
            ));
        }
        let bank = domain::parse_id("bank_id", &form.bank_id)?;
        let table = LineTable::parse(&form.posted_rate, &form.line, &form.discount)?;
        state
            .store
            .credit()
            .publish_table(
                &bank,
                &table,
                &format!("staff:{}", s.id),
                state.clock.now_ms(),
            )
            .await?;
        Ok(Redirect::to("/console/credit/tables#history").into_response())
    }
    .await;
    Ok(or_redo(attempt, async |errors, status| {
        tables_view(&state, &ctx, &form, &errors, status).await
    })
    .await?)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FiguresQuery {
    month: String,
}

/// `202611` → `2026-11`.
fn month_label(m: i64) -> String {
    format!("{}-{:02}", m / 100, m % 100)
}

async fn figures(
    State(state): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<FiguresQuery>,
) -> PageResult {
    require(&ctx.principal, Action::ViewCreditFigures)?;
    let credit = state.store.credit();
    let mut totals = credit.loan_totals().await?;
    let by_town = credit.loan_figures().await?;
    let decisions = credit.decision_figures().await?;
    let month = domain::credit::parse_month(&q.month)
        .map(i64::from)
        .or_else(|| totals.first().map(|t| t.0));
    let towns: Vec<_> = by_town
        .iter()
        .filter(|f| Some(f.month) == month)
        .map(|f| {
            context! {
                town => if ctx.lang == "en" { &f.town_name_en } else { &f.town_name_zh },
                households => f.households, outstanding => f.outstanding_yuan,
            }
        })
        .collect();
    totals.reverse();
    let last: Vec<_> = totals.iter().rev().take(12).rev().collect();
    let labels: Vec<String> = last.iter().map(|t| month_label(t.0)).collect();
    let t = |k: &str| state.catalog.get(ctx.lang, k);
    let households_chart = chart::columns(
        "credit-households",
        &t("credit.fig.households"),
        &labels,
        &[Series {
            name: t("credit.fig.households"),
            values: last.iter().map(|t| t.1).collect(),
        }],
        &t("credit.fig.none"),
    );
    let balance_chart = chart::lines(
        "credit-balance",
        &t("credit.fig.balance_10k"),
        &labels,
        &[Series {
            name: t("credit.fig.balance_10k"),
            values: last.iter().map(|t| t.2 / 10_000).collect(),
        }],
        &t("credit.fig.none"),
    );
    let latest = totals
        .last()
        .map(|t| context! { month => month_label(t.0), households => t.1, outstanding => t.2 });
    let view = context! {
        latest, towns, month => month.map(month_label),
        months => totals.iter().rev().map(|t| month_label(t.0)).collect::<Vec<_>>(),
        decisions => decisions.iter().map(|d| context! { month => month_label(d.month), approved => d.approved, declined => d.declined, referred => d.referred }).collect::<Vec<_>>(),
        households_chart, balance_chart,
    };
    Ok(render(&state, &ctx, "credit_figures.html", view)?.into_response())
}
