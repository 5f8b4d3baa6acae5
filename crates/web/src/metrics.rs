//! One log line per request, and Prometheus metrics at `/metrics`: requests by route and status, latency histograms by route,
//! and the database pool. Every label has a bounded set of values whatever clients send: the
//! route is the matched pattern (`/console/citizens/{id}`, `unmatched` for no route), never the
//! raw path, so no identifier reaches a label either; the method is one the routes answer or
//! `other`; the status is one the app answers with.
//!
//! `/metrics` is not public: the public app serves it only when `[web] metrics_token` is set
//! and the request bears it, and `[web] metrics_listen` serves it on a separate address
//! ([`crate::metrics_app`]).

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    pool_size: Gauge,
    pool_idle: Gauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("moralbank");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let (pool_size, pool_idle) = (Gauge::default(), Gauge::default());
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_size.clone(),
        );
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            pool_size,
            pool_idle,
        }
    }
}

pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method()).to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let elapsed = started.elapsed();
    // The route pattern, never the path or query: those can hold ids, phones or ID numbers.
    tracing::info!(%method, %route, status = res.status().as_u16(), ms = elapsed.as_secs_f64() * 1e3, "request");
    let m = &state.metrics;
    m.requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status: res.status().as_u16(),
        })
        .inc();
    m.latency
        .get_or_create(&RouteLabels { method, route })
        .observe(elapsed.as_secs_f64());
    res
}

/// The method as a metrics label: one of the methods the routes answer, else `other`, so that
/// invented methods cannot grow the series without bound.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

async fn render(State(state): State<AppState>) -> Response {
    let (size, idle) = state.store.pool_stats();
    state.metrics.pool_size.set(i64::from(size));
    state.metrics.pool_idle.set(idle as i64);
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &state.metrics.registry).is_err() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match (
        state.store.ping().await,
        state.store.migrations_current().await,
    ) {
        (Ok(()), Ok(true)) => "ready".into_response(),
        (Ok(()), Ok(false)) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "migrations pending",
        )
            .into_response(),
        _ => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable",
        )
            .into_response(),
    }
}

/// Health, readiness and, when `config` has a metrics token, `/metrics` for its bearer.
pub fn router(config: &crate::WebConfig) -> Router<AppState> {
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if config.metrics_token.is_empty() {
        r
    } else {
        r.route("/metrics", get(render_for_bearer))
    }
}

/// `/metrics` without a token, for the separate listener.
pub fn private_router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

/// `/metrics` on the public listener: only for `Authorization: Bearer <metrics_token>`.
async fn render_for_bearer(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if presented.is_some_and(|t| state.config.metrics_token.matches(t)) {
        return render(State(state)).await;
    }
    let mut res = crate::error::AppError::Unauthorized.into_response();
    res.headers_mut().insert(
        axum::http::header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Bearer realm=\"metrics\""),
    );
    res
}
