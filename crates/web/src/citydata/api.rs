//! City data over the API. Public: each kind's schema (a Frictionless Table Schema) and its
//! templates. For a partner's key (scope `deeds:submit`): `POST /imports?kind=…&mode=preview|commit`
//! with the file as the body (XLSX, XLS, ODS or CSV), its imports and their error workbooks,
//! and `POST /partner/deeds/bulk`, the first CSV route, now the same all-or-nothing import.

use super::flows::{kind, respond, run};
use crate::auth::{ApiCaller, Principal};
use crate::authz::{require, Action};
use crate::error::{ApiQuery, AppError, Path};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use moralbank_store::citydata::imports::workbook;
use moralbank_store::citydata::{ImportOwner, Mode};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/import-kinds/{kind}"),
    ("get", "/import-kinds/{kind}/template.xlsx"),
    ("get", "/import-kinds/{kind}/template.csv"),
    ("post", "/imports"),
    ("get", "/imports"),
    ("get", "/imports/{id}"),
    ("get", "/imports/{id}/errors.xlsx"),
    ("post", "/partner/deeds/bulk"),
];

/// The routes that take files, with their full paths (`lib.rs` gives them the uploads' limit).
pub(crate) fn upload_router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports", post(upload).get(list))
        .route("/api/v1/partner/deeds/bulk", post(bulk))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/import-kinds/{kind}", get(schema))
        .route("/import-kinds/{kind}/template.xlsx", get(template_xlsx))
        .route("/import-kinds/{kind}/template.csv", get(template_csv))
        .route("/imports/{id}", get(one))
        .route("/imports/{id}/errors.xlsx", get(errors))
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub(crate) fn download(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn schema(Path(k): Path<String>) -> Result<Response, AppError> {
    Ok(Json(kind(&k)?.table_schema()).into_response())
}

/// The drop-down lists of a kind's template: the current standards' codes.
pub(crate) async fn template_lists(
    state: &AppState,
) -> Result<BTreeMap<&'static str, Vec<String>>, AppError> {
    let codes = state
        .store
        .evaluation()
        .standards()
        .await?
        .into_iter()
        .filter(|s| s.active)
        .map(|s| s.code)
        .collect();
    Ok([("standard", codes)].into_iter().collect())
}

pub(crate) async fn template_xlsx(
    State(state): State<AppState>,
    Path(k): Path<String>,
) -> Result<Response, AppError> {
    let s = kind(&k)?;
    let bytes = workbook::template_xlsx(s, &template_lists(&state).await?)?;
    Ok(download(
        XLSX,
        &format!("{}-v{}.xlsx", s.kind, s.version),
        bytes,
    ))
}

async fn template_csv(Path(k): Path<String>) -> Result<Response, AppError> {
    let s = kind(&k)?;
    Ok(download(
        "text/csv; charset=utf-8",
        &format!("{}-v{}.csv", s.kind, s.version),
        workbook::template_csv(s),
    ))
}

fn partner_of(caller: &ApiCaller) -> Result<ImportOwner, AppError> {
    match &caller.principal {
        Principal::Partner(p) => Ok(ImportOwner::Partner(p.partner.id.clone())),
        _ => Err(AppError::Forbidden),
    }
}

#[derive(Deserialize)]
struct UploadQuery {
    kind: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// An import's `mode` query parameter: `commit` (the default) or `preview`.
pub(crate) fn import_mode(raw: Option<&str>) -> Result<Mode, AppError> {
    match raw {
        None | Some("commit") => Ok(Mode::Commit),
        Some("preview") => Ok(Mode::Preview),
        Some(_) => Err(AppError::invalid(
            "mode",
            "invalid_mode",
            "preview or commit",
        )),
    }
}

/// The body, read only after the caller was authorised.
pub(crate) async fn body_bytes(req: axum::extract::Request) -> Result<axum::body::Bytes, AppError> {
    axum::body::to_bytes(
        req.into_body(),
        crate::evaluation::evidence::UPLOAD_BYTES_MAX,
    )
    .await
    .map_err(|_| AppError::TooLarge)
}

async fn upload(
    State(state): State<AppState>,
    caller: ApiCaller,
    q: ApiQuery<UploadQuery>,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ImportFiles)?;
    let partner = partner_of(&caller)?;
    let q = q.read()?;
    let schema = kind(&q.kind)?;
    // A loan book is a bank's decision record: its own scope (`loans:write`), as on
    // `/credit/loan-book`.
    if schema.kind == domain::citydata::kinds::BANK_LOANS.kind {
        require(&caller.principal, Action::RecordLoans)?;
    }
    let mode = import_mode(q.mode.as_deref())?;
    let bytes = body_bytes(req).await?;
    let name = q.file_name.unwrap_or_else(|| "upload".into());
    let i = run(&state, schema, &partner, partner.id(), &name, &bytes, mode).await?;
    Ok(respond(&i))
}

/// `POST /partner/deeds/bulk`: a file of partner deeds (CSV as before, or a spreadsheet),
/// committed whole or refused whole with every problem.
async fn bulk(
    State(state): State<AppState>,
    caller: ApiCaller,
    req: axum::extract::Request,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::SubmitDeeds)?;
    let partner = partner_of(&caller)?;
    let bytes = body_bytes(req).await?;
    let schema = &domain::citydata::kinds::PARTNER_DEEDS;
    let i = run(
        &state,
        schema,
        &partner,
        partner.id(),
        "bulk.csv",
        &bytes,
        Mode::Commit,
    )
    .await?;
    Ok(respond(&i))
}

async fn list(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, AppError> {
    require(&caller.principal, Action::ImportFiles)?;
    let partner = partner_of(&caller)?;
    let items = state.store.citydata().imports(&partner, 100).await?;
    Ok(Json(json!({ "items": items })).into_response())
}

async fn one(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ImportFiles)?;
    let partner = partner_of(&caller)?;
    // Progress before the row, as the page reads them (see `pages::show`).
    let progress =
        super::flows::progress(&id).map(|(done, total)| json!({ "done": done, "total": total }));
    let i = state
        .store
        .citydata()
        .import(&id, &partner)
        .await?
        .ok_or(AppError::NotFound("import"))?;
    let mut v = serde_json::to_value(&i).unwrap_or_default();
    v["progress"] = progress.unwrap_or(serde_json::Value::Null);
    Ok(Json(v).into_response())
}

async fn errors(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    require(&caller.principal, Action::ImportFiles)?;
    let partner = partner_of(&caller)?;
    let bytes = state
        .store
        .citydata()
        .error_workbook(&id, &partner, |p| p.message.clone())
        .await?
        .ok_or(AppError::NotFound("error workbook"))?;
    Ok(download(XLSX, &format!("errors-{id}.xlsx"), bytes))
}
