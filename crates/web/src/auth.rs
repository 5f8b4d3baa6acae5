//! Who is asking: cookie sessions (pages), bearer session tokens and partner API keys (API),
//! CSRF tokens for every state-changing form, and login rate limiting.

use crate::error::AppError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use moralbank_store::{ApiPrincipal, Session, Staff, SubjectKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "mb_session";
pub const CSRF_COOKIE: &str = "mb_csrf";
pub const LANG_COOKIE: &str = "mb_lang";

#[derive(Debug, Clone)]
pub enum Principal {
    Anonymous,
    Citizen { id: String },
    Staff(Staff),
    Partner(ApiPrincipal),
}

impl Principal {
    pub fn staff(&self) -> Option<&Staff> {
        match self {
            Principal::Staff(s) => Some(s),
            _ => None,
        }
    }

    pub fn citizen_id(&self) -> Option<&str> {
        match self {
            Principal::Citizen { id } => Some(id),
            _ => None,
        }
    }
}

/// The caller of a page: principal, language, CSRF token, cookie jar.
#[derive(Clone)]
pub struct PageCtx {
    pub principal: Principal,
    pub lang: &'static str,
    /// The token forms must echo: the session's when signed in, else the double-submit cookie's.
    pub csrf: String,
    pub jar: CookieJar,
    pub session_token: Option<String>,
    pub client: String,
    /// The page's own path (no query) for links that come back to it; `/` after a form post.
    pub path: String,
}

impl PageCtx {
    pub fn check_csrf(&self, presented: &str) -> Result<(), AppError> {
        if !self.csrf.is_empty()
            && moralbank_store::vault::ct_eq(self.csrf.as_bytes(), presented.as_bytes())
        {
            Ok(())
        } else {
            Err(AppError::Csrf)
        }
    }
}

fn client_addr(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

async fn principal_for_session(state: &AppState, session: &Session) -> Result<Principal, AppError> {
    Ok(match session.kind {
        SubjectKind::Citizen => Principal::Citizen {
            id: session.subject_id.clone(),
        },
        SubjectKind::Staff => match state.store.accounts().staff(&session.subject_id).await? {
            Some(s) if s.active => Principal::Staff(s),
            _ => Principal::Anonymous,
        },
    })
}

/// Where the page's context goes once its extractor has read it, so that a failure of the page
/// is rendered for the same reader (`frame::render_failures` puts one in every request).
#[derive(Clone, Default)]
pub(crate) struct FrameSlot(Arc<Mutex<Option<PageCtx>>>);

impl FrameSlot {
    pub(crate) fn fill(&self, ctx: &PageCtx) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(ctx.clone());
        }
    }

    pub(crate) fn take(&self) -> Option<PageCtx> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = match jar.get(LANG_COOKIE).map(Cookie::value) {
            Some("en") => "en",
            _ => "zh",
        };
        let mut principal = Principal::Anonymous;
        let mut csrf = jar
            .get(CSRF_COOKIE)
            .map(|c| c.value().to_string())
            .unwrap_or_default();
        let mut session_token = None;
        if let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) {
            if token.len() <= 128 {
                if let Some(session) = state.store.accounts().session(&token).await? {
                    principal = principal_for_session(state, &session).await?;
                    csrf = session.csrf_token;
                    session_token = Some(token);
                }
            }
        }
        let ctx = PageCtx {
            principal,
            lang,
            csrf,
            jar,
            session_token,
            client: client_addr(parts),
            // A form's target may have no page of its own to come back to.
            path: if parts.method == axum::http::Method::GET {
                parts.uri.path().to_string()
            } else {
                "/".into()
            },
        };
        // A failure of the page is rendered for this reader (see `frame::render_failures`).
        if let Some(slot) = parts.extensions.get::<FrameSlot>() {
            slot.fill(&ctx);
        }
        Ok(ctx)
    }
}

/// The caller of the API: a bearer session token or a partner API key.
pub struct ApiCaller {
    pub principal: Principal,
    pub client: String,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let client = client_addr(parts);
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(ApiCaller {
                principal: Principal::Anonymous,
                client,
            });
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 200)
            .ok_or(AppError::Unauthorized)?;
        let principal = if token.starts_with("mbk_") {
            state
                .store
                .accounts()
                .authenticate_api_key(token)
                .await?
                .map(Principal::Partner)
        } else {
            match state.store.accounts().session(token).await? {
                Some(s) => Some(principal_for_session(state, &s).await?),
                None => None,
            }
        };
        // A token that was presented but is wrong is an error, never a silent downgrade.
        match principal {
            Some(Principal::Anonymous) | None => Err(AppError::Unauthorized),
            Some(p) => Ok(ApiCaller {
                principal: p,
                client,
            }),
        }
    }
}

pub fn session_cookie(token: String, secure: bool, ttl_s: u64) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::seconds(ttl_s as i64))
        .build()
}

pub fn csrf_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((CSRF_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::build((name, "")).path("/").build();
    c.make_removal();
    c
}

/// Fixed-window attempt counter per key (client address, account, phone digest), in memory.
/// One server process is the unit; a cluster puts a shared limiter in front as well.
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Beyond this many tracked keys the oldest windows are dropped (bounded memory).
const LIMITER_KEYS_MAX: usize = 100_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Count one attempt for each key; refuse when any key is over its limit.
    pub fn check(&self, keys: &[String]) -> Result<(), AppError> {
        let now = Instant::now();
        let window = Duration::from_secs(60);
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > LIMITER_KEYS_MAX {
            map.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let mut retry = 0;
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= window {
                *entry = (now, 0);
            }
            entry.1 += 1;
            if entry.1 > self.per_minute {
                retry = retry.max(60 - now.duration_since(entry.0).as_secs());
            }
        }
        if retry > 0 {
            Err(AppError::RateLimited {
                retry_after_s: retry.max(1),
            })
        } else {
            Ok(())
        }
    }
}

/// A rate-limit key that does not keep the raw value (phones, usernames) in memory.
pub fn limit_key(kind: &str, value: &str) -> String {
    use sha2::Digest;
    format!(
        "{kind}:{}",
        hex::encode(&sha2::Sha256::digest(value.as_bytes())[..12])
    )
}
