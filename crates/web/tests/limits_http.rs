#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Limits that hold (issue 13): the security headers on every answer, public or not (the route
//! × role matrix checks them on every protected route), HSTS when the site is served over
//! HTTPS, `/metrics` only behind configuration, and metrics labels that stay bounded whatever
//! paths and methods clients invent.

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use common::World;
use moralbank_web::{AppState, Secret, WebConfig};
use std::sync::Arc;

fn get<'a>(h: &'a HeaderMap, name: &header::HeaderName) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn assert_secure(what: &str, h: &HeaderMap) {
    let csp = get(h, &header::CONTENT_SECURITY_POLICY);
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: CSP {csp:?}"
    );
    assert!(
        csp.contains("script-src 'self'") || csp.contains("default-src 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert_eq!(get(h, &header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(get(h, &header::REFERRER_POLICY), "same-origin", "{what}");
    assert_eq!(get(h, &header::X_FRAME_OPTIONS), "DENY", "{what}");
}

fn no_store(h: &HeaderMap) -> bool {
    get(h, &header::CACHE_CONTROL)
        .split(',')
        .any(|d| d.trim() == "no-store")
}

async fn send(
    w: &World,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    w.send(req.body(Body::empty()).unwrap()).await
}

async fn every_answer_carries_the_security_headers(w: World) {
    let village = w.city.first_village_id.clone();
    // Public pages, files and JSON, anonymously; the protected routes are walked by the route ×
    // role matrix (authz_matrix.rs), which checks the same headers on every answer.
    let public = [
        "/".to_string(),
        "/enrol".into(),
        "/login".into(),
        "/staff/login".into(),
        "/standards".into(),
        "/benefits".into(),
        format!("/board/{village}"),
        "/log".into(),
        "/log/checkpoint".into(),
        "/log/vkey".into(),
        "/log/policy".into(),
        "/api/docs".into(),
        "/assets/app.css".into(),
        "/assets/code.js".into(),
        "/scan/scan.js".into(),
        "/scan/verify.js".into(),
        "/scan/jsqr.js".into(),
        "/scan/sw.js".into(),
        "/.well-known/moral-code/keys".into(),
        "/healthz".into(),
        "/readyz".into(),
        "/lang/en?back=/log".into(),
        "/api/v1/openapi.json".into(),
        "/api/v1/standards".into(),
        "/api/v1/scenes".into(),
        "/api/v1/benefits".into(),
        format!("/api/v1/villages/{village}/publicity"),
    ];
    for path in &public {
        let (status, h, _) = send(&w, Method::GET, path, &[]).await;
        assert!(
            status.is_success() || status.is_redirection(),
            "{path}: {status}"
        );
        assert_secure(path, &h);
        assert!(
            h.get(header::STRICT_TRANSPORT_SECURITY).is_none(),
            "{path}: HSTS over plain HTTP (cookie_secure is off)"
        );
    }
    // Public answers that set no cookie stay cacheable; pages that give an anonymous visitor a
    // CSRF cookie (the form's token is in the page) do not.
    for path in [
        "/log".to_string(),
        "/api/v1/standards".into(),
        format!("/api/v1/villages/{village}/publicity"),
        "/assets/app.css".into(),
        "/.well-known/moral-code/keys".into(),
    ] {
        let (_, h, _) = send(&w, Method::GET, &path, &[]).await;
        assert!(!no_store(&h), "{path}: {:?}", h.get(header::CACHE_CONTROL));
    }
    let (_, h, _) = send(&w, Method::GET, "/standards", &[]).await;
    assert!(h.contains_key(header::SET_COOKIE) && no_store(&h), "{h:?}");
    // A public page read by a signed-in resident holds their CSRF token: personal.
    let cookie = format!("mb_session={}", w.citizen.token);
    let (_, h, body) = send(&w, Method::GET, "/standards", &[("cookie", &cookie)]).await;
    assert!(body.contains(&w.citizen.csrf) && no_store(&h), "{h:?}");
    // A public file stays public even for a signed-in reader; the style sheet and scripts are
    // revalidated by their ETag.
    let (_, h, _) = send(&w, Method::GET, "/assets/app.css", &[("cookie", &cookie)]).await;
    assert!(!no_store(&h), "{h:?}");
    assert_eq!(get(&h, &header::CONTENT_TYPE), "text/css; charset=utf-8");
    let etag = get(&h, &header::ETAG).to_string();
    let (status, h, body) = send(
        &w,
        Method::GET,
        "/assets/app.css",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::NOT_MODIFIED, ""));
    assert_secure("304", &h);
    // Refusals and errors carry them too: no route, no such API route, a method the route
    // does not take, a body too large, a sign-in refused (an answer to a POST: never stored).
    for (method, path) in [
        (Method::GET, "/no/such/page"),
        (Method::GET, "/api/v1/no/such/route"),
        (Method::DELETE, "/log"),
        (Method::GET, "/assets/no-such-file.js"),
    ] {
        let (status, h, _) = send(&w, method.clone(), path, &[]).await;
        assert!(status.is_client_error(), "{method} {path}: {status}");
        assert_secure(path, &h);
    }
    let big = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/staff")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(vec![b' '; 200 * 1024]))
        .unwrap();
    let (status, h, _) = w.send(big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_secure("413", &h);
    let login = Request::builder()
        .method("POST")
        .uri("/api/v1/auth/staff")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            r#"{"username": "admin", "password": "wrong password"}"#,
        ))
        .unwrap();
    let (status, h, _) = w.send(login).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(no_store(&h), "{h:?}");

    // Served over HTTPS (cookies marked Secure): HSTS on every answer, for a year.
    let mut state: AppState = w.state.clone();
    state.config = Arc::new(WebConfig {
        cookie_secure: true,
        ..(*w.state.config).clone()
    });
    let app = moralbank_web::app(state);
    for path in ["/", "/log", "/api/v1/standards", "/no/such/page"] {
        let res = tower::ServiceExt::oneshot(
            app.clone(),
            Request::builder().uri(path).body(Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            get(res.headers(), &header::STRICT_TRANSPORT_SECURITY),
            "max-age=31536000",
            "{path}"
        );
        assert_secure(path, res.headers());
    }
}

/// The app of `w` with `[web] metrics_token` set.
fn with_metrics_token(w: &World, token: &str) -> axum::Router {
    let mut state: AppState = w.state.clone();
    state.config = Arc::new(WebConfig {
        metrics_token: Secret::new(token),
        ..(*w.state.config).clone()
    });
    moralbank_web::app(state)
}

async fn oneshot(app: &axum::Router, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
    use http_body_util::BodyExt;
    let res = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn scrape(token: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().uri("/metrics");
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::empty()).unwrap()
}

async fn metrics_are_behind_configuration(w: World) {
    // By default the public app has no /metrics at all.
    let (status, _, _) = send(&w, Method::GET, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(
        &w,
        Method::GET,
        "/metrics",
        &[("authorization", "Bearer anything-at-all-long")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // With a token: 401 without it or with another, 200 with it.
    let token = "a-long-random-metrics-token";
    let app = with_metrics_token(&w, token);
    for wrong in [None, Some("a-long-random-metrics-tokeN"), Some("")] {
        let (status, h, _) = oneshot(&app, scrape(wrong)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(
            get(&h, &header::WWW_AUTHENTICATE),
            "Bearer realm=\"metrics\""
        );
        assert_secure("/metrics 401", &h);
    }
    oneshot(
        &app,
        Request::builder()
            .uri("/readyz")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let (status, h, body) = oneshot(&app, scrape(Some(token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(get(&h, &header::CONTENT_TYPE).starts_with("application/openmetrics-text"));
    assert!(
        body.contains(
            "moralbank_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"
        ),
        "{body}"
    );
    assert!(body.contains("moralbank_http_request_duration_seconds_bucket"));
    assert!(body.contains("moralbank_db_pool_connections"));
    // The separate listener's router serves it without a token.
    let private = moralbank_web::metrics_app(w.state.clone());
    let (status, _, body) = oneshot(&private, scrape(None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("moralbank_http_requests_total"), "{body}");
    // A token too short to be one is a configuration error; so is a listen address that is none.
    let short = WebConfig {
        metrics_token: Secret::new("short"),
        ..WebConfig::default()
    };
    assert!(short.metrics_addr().is_err());
    let bad = WebConfig {
        metrics_listen: "localhost".into(),
        ..WebConfig::default()
    };
    assert!(bad.metrics_addr().is_err());
    let good = WebConfig {
        metrics_listen: "127.0.0.1:9100".into(),
        ..WebConfig::default()
    };
    assert_eq!(
        good.metrics_addr().unwrap(),
        Some("127.0.0.1:9100".parse().unwrap())
    );
    assert_eq!(WebConfig::default().metrics_addr().unwrap(), None);
    assert!(
        !format!("{:?}", with_token_config(token)).contains(token),
        "Debug shows no token"
    );
}

fn with_token_config(token: &str) -> WebConfig {
    WebConfig {
        metrics_token: Secret::new(token),
        ..WebConfig::default()
    }
}

/// The series of `/metrics` (lines that are samples, not comments).
fn series(body: &str) -> Vec<String> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(s, _)| s).to_string())
        .collect()
}

/// Requests nobody's routes expect: invented paths under every kind of prefix (the API's
/// fallback, a page's id, the log's tiles, the static files), invented methods, and both.
async fn invent(app: &axum::Router, salt: &str, n: usize) {
    let village = "01a0a0a0-0000-7000-8000-000000000000";
    for i in 0..n {
        let word = format!("{salt}{i}");
        let path = match i % 8 {
            0 => format!("/{word}"),
            1 => format!("/api/v1/{word}"),
            2 => format!("/api/v1/{word}/{word}?x={word}"),
            3 => format!("/console/citizens/{word}"),
            4 => format!("/log/tile/{word}/{word}"),
            5 => format!("/assets/{word}"),
            6 => format!("/board/{village}{word}"),
            _ => format!("/lang/{word}?back=/{word}"),
        };
        let method = if i % 3 == 0 {
            Method::from_bytes(word.to_uppercase().as_bytes()).unwrap()
        } else {
            Method::GET
        };
        let req = Request::builder()
            .method(method)
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        oneshot(app, req).await;
    }
}

async fn metrics_labels_stay_bounded_whatever_clients_send(w: World) {
    let token = "a-long-random-metrics-token";
    let app = with_metrics_token(&w, token);
    oneshot(&app, scrape(Some(token))).await;
    invent(&app, "zqfirst", 200).await;
    let (_, _, body) = oneshot(&app, scrape(Some(token))).await;
    let after_first = series(&body);
    // Another 400 requests, every path and method new: not one new series.
    invent(&app, "zqsecond", 400).await;
    let (_, _, body) = oneshot(&app, scrape(Some(token))).await;
    let after_second = series(&body);
    assert_eq!(
        after_first.len(),
        after_second.len(),
        "new series: {:?}",
        after_second
            .iter()
            .filter(|s| !after_first.contains(s))
            .collect::<Vec<_>>()
    );
    for word in ["zqfirst", "ZQFIRST", "zqsecond", "ZQSECOND"] {
        assert!(
            !body.contains(word),
            "an invented value reached a label: {body}"
        );
    }
    assert!(body.contains("method=\"other\""), "{body}");
    assert!(body.contains("route=\"unmatched\""), "{body}");
    assert!(after_second.len() < 200, "{} series", after_second.len());
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    every_answer_carries_the_security_headers,
    metrics_are_behind_configuration,
    metrics_labels_stay_bounded_whatever_clients_send,
);
