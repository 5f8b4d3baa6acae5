//! The clerk's import pages (a partner's operator for the partner's files, the city's admins
//! for the city's own, such as green-card honour lists): upload a file, see its preview (new,
//! unchanged and refused rows, the first problems), confirm it (committed in the background
//! with a progress bar; the page refreshes itself, no script), download the error workbook.

use super::flows::{self, kind, progress, run};
use crate::auth::PageCtx;
use crate::authz::{require, Action};
use crate::error::{AppError, Path};
use crate::frame::views::render;
use crate::frame::{Form, PageResult};
use crate::AppState;
use axum::extract::{FromRequest, Multipart, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use domain::Role;
use minijinja::context;
use moralbank_store::citydata::{ImportOwner, Mode};
use serde::Deserialize;

/// Rows of a committed file listed on its page (the API lists them all).
const RESULTS_SHOWN: usize = 500;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/imports/{id}", get(show))
        .route("/console/imports/{id}/commit", post(confirm))
        .route("/console/imports/{id}/errors.xlsx", get(errors))
}

/// The upload takes a file: its own router, with the uploads' body limit.
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new().route("/console/imports", get(list).post(upload))
}

/// Whose files the signed-in clerk sends (the partner an operator works for, or the city for
/// an admin), and who they are.
fn owner_of(ctx: &PageCtx) -> Result<(ImportOwner, String), AppError> {
    require(&ctx.principal, Action::ImportFiles)?;
    let s = ctx.principal.staff().ok_or(AppError::Forbidden)?;
    let owner = match (s.role, &s.partner_id) {
        (Role::PartnerOperator, Some(p)) => ImportOwner::Partner(p.clone()),
        (Role::Admin | Role::Broker, _) => ImportOwner::City,
        _ => return Err(AppError::Forbidden),
    };
    Ok((owner, s.id.clone()))
}

/// The city's files are split by office: the technology supermarket's broker sends the expert
/// pool and nothing else; the admin sends every other city file.
fn city_kind_allowed(ctx: &PageCtx, kind: &str) -> bool {
    let market = kind == domain::citydata::kinds::MARKET_EXPERTS.kind;
    match ctx.principal.staff().map(|s| s.role) {
        Some(Role::Broker) => market,
        Some(Role::Admin) => !market,
        _ => true,
    }
}

async fn list(State(state): State<AppState>, ctx: PageCtx) -> PageResult {
    let (owner, _) = owner_of(&ctx)?;
    let mut imports = state.store.citydata().imports(&owner, 50).await?;
    imports.retain(|i| city_kind_allowed(&ctx, &i.kind));
    // A loan book is a bank's file only.
    let is_bank = match &owner {
        ImportOwner::Partner(p) => state.store.credit().bank(p).await?.is_some(),
        ImportOwner::City => false,
    };
    let kinds: Vec<_> = domain::citydata::kinds::KINDS
        .iter()
        .filter(|k| k.owner == owner.kind())
        .filter(|k| is_bank || k.kind != domain::citydata::kinds::BANK_LOANS.kind)
        .filter(|k| city_kind_allowed(&ctx, k.kind))
        .map(|k| context! { kind => k.kind, title => k.title_zh, title_en => k.title_en, version => k.version, rows_max => k.rows_max })
        .collect();
    Ok(render(
        &state,
        &ctx,
        "imports.html",
        context! { imports => imports, kinds => kinds },
    )?
    .into_response())
}

async fn upload(
    State(state): State<AppState>,
    ctx: PageCtx,
    req: axum::extract::Request,
) -> PageResult {
    let (owner, by) = owner_of(&ctx)?;
    // The body is read only once the caller may upload.
    let mut mp = Multipart::from_request(req, &state)
        .await
        .map_err(|e| AppError::invalid("file", "upload_failed", &e.body_text()))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        AppError::invalid("file", "upload_failed", &e.body_text())
    };
    let (mut csrf, mut kind_name, mut file) = (String::new(), String::new(), None);
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_string();
                file = Some((name, field.bytes().await.map_err(bad)?));
            }
            "csrf" => csrf = field.text().await.map_err(bad)?,
            "kind" => kind_name = field.text().await.map_err(bad)?,
            _ => {}
        }
    }
    ctx.check_csrf(&csrf)?;
    let schema = kind(&kind_name)?;
    if !city_kind_allowed(&ctx, schema.kind) {
        return Err(AppError::Forbidden.into());
    }
    let (name, bytes) = file
        .filter(|(_, b)| !b.is_empty())
        .ok_or_else(|| AppError::invalid("file", "missing", "choose a file"))?;
    let i = run(&state, schema, &owner, &by, &name, &bytes, Mode::Preview).await?;
    Ok(Redirect::to(&format!("/console/imports/{}", i.id)).into_response())
}

async fn show(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let (owner, _) = owner_of(&ctx)?;
    // The job's progress first: a job leaves the list only once its commit is done, so when
    // none is running the row read next already says `committed` (read the other way round,
    // a commit finishing in between would show the preview again, without the refresh).
    let running = progress(&id);
    let i = state
        .store
        .citydata()
        .import(&id, &owner)
        .await?
        .filter(|i| city_kind_allowed(&ctx, &i.kind))
        .ok_or(AppError::NotFound("import"))?;
    let view = context! {
        import => i,
        first_problems => i.first_problems(50).iter().map(|p| domain::citydata::Problem {
            message: flows::problem_message(&state, ctx.lang, p),
            column: p.column.as_deref().map(|c| column_title(&i.kind, c, ctx.lang)),
            ..p.clone()
        }).collect::<Vec<_>>(),
        more_problems => i.problems.len().saturating_sub(50),
        first_results => &i.results[..i.results.len().min(RESULTS_SHOWN)],
        // Every applied row, not only the results kept (the first 10,000 of a larger file).
        more_results => usize::try_from(i.rows.new + i.rows.unchanged)
            .unwrap_or(0)
            .max(i.results.len())
            .saturating_sub(RESULTS_SHOWN),
        running => running.is_some(),
        done => running.map_or(0, |r| r.0),
        total => running.map_or(0, |r| r.1),
    };
    Ok(render(&state, &ctx, "import.html", view)?.into_response())
}

/// A column as the clerk's template heads it (Chinese), or its name (English).
fn column_title(kind: &str, column: &str, lang: &str) -> String {
    match domain::citydata::kinds::kind(kind).and_then(|s| s.column(column)) {
        Some(c) if lang != "en" => c.title_zh.to_string(),
        _ => column.to_string(),
    }
}

#[derive(Deserialize, Default)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn confirm(
    State(state): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    let (owner, by) = owner_of(&ctx)?;
    ctx.check_csrf(&f.csrf)?;
    let i = state
        .store
        .citydata()
        .import(&id, &owner)
        .await?
        .filter(|i| city_kind_allowed(&ctx, &i.kind))
        .ok_or(AppError::NotFound("import"))?;
    if i.status == "previewed" {
        flows::start_commit(&state, &i, &owner, &by);
    }
    Ok(Redirect::to(&format!("/console/imports/{id}")).into_response())
}

async fn errors(State(state): State<AppState>, ctx: PageCtx, Path(id): Path<String>) -> PageResult {
    let (owner, _) = owner_of(&ctx)?;
    state
        .store
        .citydata()
        .import(&id, &owner)
        .await?
        .filter(|i| city_kind_allowed(&ctx, &i.kind))
        .ok_or(AppError::NotFound("import"))?;
    let bytes = state
        .store
        .citydata()
        .error_workbook(&id, &owner, |p| flows::problem_message(&state, ctx.lang, p))
        .await?
        .ok_or(AppError::NotFound("error workbook"))?;
    Ok(super::api::download(
        super::api::XLSX,
        &format!("errors-{id}.xlsx"),
        bytes,
    ))
}
