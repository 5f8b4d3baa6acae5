//! The headers every answer carries, set in one place: the outermost layer of [`crate::app`],
//! so that pages, the API, the public log, static files, redirects and every refusal (404, 405,
//! 413, a failed page) carry them alike.
//!
//! * `Content-Security-Policy`: only this site's own scripts, styles, images and connections;
//!   no inline script, style or event handler anywhere (the pages' style sheet and scripts are
//!   files: `/assets/…`, `/scan/…`), no plugins, no `<base>`, forms only to this site, and no
//!   site may frame a page (`frame-ancestors 'none'`, and `X-Frame-Options: DENY` for older
//!   browsers). A handler that sets a stricter policy of its own (an evidence file: `sandbox`)
//!   keeps it, with `frame-ancestors 'none'` added.
//! * `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin` (a link to another
//!   site never tells it which page of ours, with which id, it came from).
//! * `Strict-Transport-Security` when the site is served over HTTPS, which the configuration
//!   says by `[web] cookie_secure` (cookies are marked Secure exactly when the site is behind
//!   HTTPS; a browser ignores the header over plain HTTP anyway).
//! * `Cache-Control: no-store` on every personal answer: any answer to a request that carries a
//!   session or CSRF cookie or an `Authorization` header, that sets a cookie, or that is not a
//!   GET or HEAD — unless its handler declared it `public` (the public log's tiles, the code's
//!   key set, static files), which holds nothing personal. Anonymous public pages and JSON
//!   (`/log`, the catalogue's JSON) stay cacheable.

use crate::auth::{CSRF_COOKIE, SESSION_COOKIE};
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of every answer that does not bring a stricter one.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// HSTS for a site served over HTTPS: one year; no `includeSubDomains`, because the city's
/// other hosts are not ours to decide for.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The layer: see the module's documentation.
pub(crate) async fn secure(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let personal =
        !matches!(*req.method(), Method::GET | Method::HEAD) || credentialed(req.headers());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    match h
        .get(header::CONTENT_SECURITY_POLICY)
        .map(HeaderValue::to_str)
    {
        None => {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
        }
        Some(Ok(own)) if !own.contains("frame-ancestors") => {
            if let Ok(v) = HeaderValue::from_str(&format!("{own}; frame-ancestors 'none'")) {
                h.insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        Some(_) => {}
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if state.config.cookie_secure {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    if (personal || h.contains_key(header::SET_COOKIE)) && !declared_public(h) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Whether the request says who is asking: an `Authorization` header, or the session or CSRF
/// cookie (a page rendered for it holds that reader's token).
fn credentialed(h: &HeaderMap) -> bool {
    h.contains_key(header::AUTHORIZATION)
        || h.get_all(header::COOKIE).iter().any(|v| {
            v.to_str().is_ok_and(|cookies| {
                cookies.split(';').any(|c| {
                    let name = c.split('=').next().unwrap_or_default().trim();
                    name == SESSION_COOKIE || name == CSRF_COOKIE
                })
            })
        })
}

/// The handler said its answer is the same for everyone (`Cache-Control: public, …`).
fn declared_public(h: &HeaderMap) -> bool {
    h.get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("public"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_credentialed_by_a_session_csrf_cookie_or_authorization_only() {
        let with = |name: header::HeaderName, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            credentialed(&h)
        };
        assert!(with(header::COOKIE, "mb_lang=en; mb_session=abc"));
        assert!(with(header::COOKIE, "mb_csrf=abc"));
        assert!(with(header::AUTHORIZATION, "Bearer x"));
        assert!(!with(header::COOKIE, "mb_lang=en"));
        assert!(!with(header::COOKIE, "not_mb_session=x"));
        assert!(!credentialed(&HeaderMap::new()));
    }
}
