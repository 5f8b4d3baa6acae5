//! The JSON API under `/api/v1`, described by `openapi.json` (OpenAPI 3.1) which is served at
//! `/api/v1/openapi.json` and rendered at `/api/docs`. Errors are problem details. Each
//! capability owns its API routes (`registry::api`, `accounts::api`, `ledger::api`,
//! `evaluation::api`, `code::…`); `lib.rs` nests them all under `/api/v1`.

use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::context;

pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every API route as (method, path pattern); the OpenAPI test checks each is documented.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/enrolments"),
    ("post", "/auth/otp"),
    ("post", "/auth/otp/verify"),
    ("post", "/auth/staff"),
    ("get", "/me"),
    ("get", "/me/access-log"),
    ("get", "/me/export"),
    ("post", "/me/withdraw"),
    ("get", "/regions"),
    ("post", "/regions"),
    ("post", "/citizens/search"),
    ("get", "/citizens/{id}"),
    ("post", "/citizens/{id}/identity"),
    ("post", "/staff"),
    ("post", "/partners"),
    ("post", "/partners/{id}/api-keys"),
    ("get", "/partner"),
    ("get", "/ledger/totals"),
    ("get", "/ledger/reversals"),
    ("post", "/ledger/reversals"),
    ("post", "/ledger/reversals/{id}/approve"),
    ("post", "/ledger/reversals/{id}/decline"),
    ("get", "/me/points"),
    ("get", "/me/entries"),
    ("get", "/me/entries/{index}/receipt"),
    ("get", "/citizens/{id}/entries"),
];

/// The document itself, under `/api/v1`.
pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

/// The document rendered as a page, at the site root.
pub(crate) fn page_router() -> Router<AppState> {
    Router::new().route("/api/docs", get(docs_page))
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// `/api/docs`: the OpenAPI document rendered as a page, server-side (nothing to download).
async fn docs_page(State(state): State<AppState>, ctx: crate::auth::PageCtx) -> Response {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            // Paths with their own server (the public log) live at the site root.
            let prefix = if item.get("servers").is_some() {
                ""
            } else {
                "/api/v1"
            };
            for (method, op) in item.as_object().into_iter().flatten() {
                if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                    continue;
                }
                ops.push(context! {
                    method => method.to_uppercase(), path => format!("{prefix}{path}"),
                    summary => op["summary"].as_str().unwrap_or_default(),
                    security => op.get("security").map(|s| s.to_string()).unwrap_or_else(|| "public".into()),
                    body => op["requestBody"]["content"]["application/json"]["schema"].as_object().map(|_| serde_json::to_string_pretty(&op["requestBody"]["content"]["application/json"]["schema"]).unwrap_or_default()),
                    responses => op["responses"].as_object().map(|r| r.keys().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default(),
                });
            }
        }
    }
    let schemas = serde_json::to_string_pretty(&doc["components"]["schemas"]).unwrap_or_default();
    match crate::frame::views::render(
        &state,
        &ctx,
        "api_docs.html",
        context! { ops => ops, schemas => schemas, title => doc["info"]["title"].as_str() },
    ) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}
