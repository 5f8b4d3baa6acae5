//! The HTTP layer of Moral Bank: server-rendered pages for residents and staff, the JSON API
//! under `/api/v1` for partners, health, readiness and metrics.
//!
//! It owns authentication (cookie sessions with CSRF tokens for pages, bearer tokens and API
//! keys for the API), the route × role authorisation rules ([`authz`]), the mapping of every
//! error to RFC 9457 problem details ([`error`]) and the translations ([`i18n`]). It must not
//! contain SQL: storage is asked through `moralbank_store::Store`.

mod accounts;
pub mod api;
mod auth;
pub mod authz;
pub mod clock;
pub mod code;
pub mod error;
pub mod evaluation;
mod frame;
mod idempotency;
pub mod ledger;
mod metrics;
mod otp;
mod registry;
mod state;

pub use frame::i18n;
pub use otp::{DevSender, OtpSender};
pub use state::{AppState, Ledger, WebConfig};

use axum::Router;

/// The whole application: pages, API, health and metrics, with limits and request metrics.
/// Shared by `moralbank serve`, `moralbank demo` and the tests. Every capability's routers are
/// composed here and nowhere else.
pub fn app(state: AppState) -> Router {
    let body_max = state.config.body_bytes_max;
    // Deed reports carry photos and partners send CSV files: their routes have their own,
    // larger limit.
    let uploads = Router::new()
        .merge(evaluation::pages::upload_router())
        .merge(evaluation::api::upload_router())
        .layer(axum::extract::DefaultBodyLimit::max(
            evaluation::evidence::UPLOAD_BYTES_MAX,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            evaluation::evidence::UPLOAD_BYTES_MAX,
        ));
    let api = Router::new()
        .merge(api::router())
        .merge(registry::api::router())
        .merge(accounts::api::router())
        .merge(ledger::api::router())
        .merge(evaluation::api::router())
        .merge(code::issue::api_router())
        .merge(code::green_cards::api_router())
        .merge(code::benefits::api_router())
        .fallback(|| async { error::AppError::NotFound("API route") });
    Router::new()
        .merge(frame::router())
        .merge(registry::pages::router())
        .merge(accounts::pages::router())
        .merge(api::page_router())
        .merge(ledger::pages::router())
        .merge(evaluation::pages::router())
        .merge(code::issue::page_router())
        .merge(code::scanner::router())
        .merge(code::green_cards::page_router())
        .merge(code::benefits::page_router())
        .merge(ledger::log::router())
        .nest("/api/v1", api)
        .merge(metrics::router())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_max))
        .merge(uploads)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::map_response(too_large_as_problem))
        .with_state(state)
}

/// The body limit answers a too-large request (by its Content-Length, before any handler
/// runs) with plain text, and a form extractor does the same for a body that grows too large
/// while streaming; give every such answer the same problem details as the rest of the API.
async fn too_large_as_problem(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_problem = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if res.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return error::AppError::TooLarge.into_response();
    }
    res
}
