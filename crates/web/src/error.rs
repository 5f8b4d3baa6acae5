//! One error type for the HTTP boundary, rendered as RFC 9457 `application/problem+json` for the
//! API. Each variant has a stable `type` URI; the internal cause of a 500 is logged once here
//! and never sent to the client.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::{FieldError, FieldErrors};
use moralbank_store::StoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("conflict")]
    Conflict(FieldError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("sign-in required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("too many requests")]
    RateLimited { retry_after_s: u64 },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    TooLarge,
    #[error("the form expired or did not come from this site")]
    Csrf,
    #[error("service unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl AppError {
    pub fn invalid(field: &'static str, code: &'static str, detail: &str) -> AppError {
        AppError::Invalid(FieldError::new(field, code, detail).into())
    }

    /// The field errors a form shows next to its fields (invalid input, 422, or a clash with
    /// an existing record, 409) with that status; any other error comes back unchanged.
    pub fn into_field_errors(self) -> Result<(Vec<FieldError>, StatusCode), AppError> {
        match self {
            AppError::Invalid(e) => Ok((e.0, StatusCode::UNPROCESSABLE_ENTITY)),
            AppError::Conflict(e) => Ok((vec![e], StatusCode::CONFLICT)),
            other => Err(other),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug of the `type` URI (`/problems/<slug>`), also the translation key suffix.
    pub fn slug(&self) -> &'static str {
        match self {
            AppError::Invalid(_) => "validation",
            AppError::Conflict(_) => "conflict",
            AppError::NotFound(_) => "not-found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Csrf => "csrf",
            AppError::RateLimited { .. } => "rate-limited",
            AppError::BadRequest(_) => "bad-request",
            AppError::TooLarge => "too-large",
            AppError::Unavailable => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn problem(&self) -> Problem {
        let (title, detail, errors) = match self {
            AppError::Invalid(e) => ("Invalid input", summarize(&e.0), e.0.clone()),
            AppError::Conflict(e) => ("Conflict", e.to_string(), vec![e.clone()]),
            AppError::NotFound(what) => ("Not found", format!("{what} not found"), vec![]),
            AppError::Unauthorized => (
                "Sign-in required",
                "sign in, or send a valid bearer token or API key".into(),
                vec![],
            ),
            AppError::Forbidden => ("Forbidden", "your role may not do this here".into(), vec![]),
            AppError::Csrf => (
                "Form expired",
                "the form expired or did not come from this site; reload and try again".into(),
                vec![],
            ),
            AppError::RateLimited { retry_after_s } => (
                "Too many requests",
                format!("too many attempts; try again in {retry_after_s} s"),
                vec![],
            ),
            AppError::BadRequest(d) => ("Bad request", d.clone(), vec![]),
            AppError::TooLarge => (
                "Request too large",
                "the request body is larger than this endpoint accepts".into(),
                vec![],
            ),
            AppError::Unavailable => (
                "Unavailable",
                "the service cannot reach its database".into(),
                vec![],
            ),
            AppError::Internal(_) => (
                "Internal error",
                "something went wrong on our side; it has been logged".into(),
                vec![],
            ),
        };
        Problem {
            type_: format!("/problems/{}", self.slug()),
            title,
            status: self.status().as_u16(),
            detail,
            errors,
        }
    }
}

fn summarize(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(f) => AppError::Invalid(f),
            StoreError::Conflict(f) => AppError::Conflict(f),
            StoreError::NotFound { what } => AppError::NotFound(what),
            StoreError::RateLimited { retry_after_s } => AppError::RateLimited { retry_after_s },
            StoreError::Unavailable(why) => {
                tracing::warn!(cause = %why, "ledger unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(e: FieldErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e.into())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            // Store errors name tables and constraints, never row values.
            tracing::error!(error = %cause, "request failed");
        }
        let problem = self.problem();
        let mut res = (self.status(), axum::Json(problem)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let AppError::RateLimited { retry_after_s } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

/// JSON body extractor whose rejections are problem details naming what was wrong.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(AppError::Invalid(
                FieldError::new(
                    data_error_field(&e.body_text()),
                    "json_field",
                    e.body_text(),
                )
                .into(),
            )),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest(
                "send the body as JSON with Content-Type: application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::TooLarge),
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// The request's body, not read yet. A handler first says who may call it (`authz::require`),
/// then reads the body with [`UnreadBody::json`] (or [`UnreadBody::text`]): a caller who may not
/// use a route gets 401 or 403 whatever they sent, never a 4xx that describes what the route
/// expects. Every API handler that takes a body takes it this way.
pub struct UnreadBody(axum::extract::Request);

impl<S: Send + Sync> axum::extract::FromRequest<S> for UnreadBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UnreadBody(req))
    }
}

impl UnreadBody {
    /// The body as JSON of `T`, refused as [`ApiJson`] refuses it.
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, AppError> {
        use axum::extract::FromRequest;
        let ApiJson(v) = ApiJson::<T>::from_request(self.0, &()).await?;
        Ok(v)
    }

    /// The body as UTF-8 text (a partner's CSV file); otherwise a 422 naming `field`.
    pub async fn text(self, field: &'static str) -> Result<String, AppError> {
        use axum::extract::FromRequest;
        let bytes = axum::body::Bytes::from_request(self.0, &())
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge
                } else {
                    AppError::BadRequest(e.body_text())
                }
            })?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| AppError::invalid(field, "invalid_encoding", "send UTF-8 text"))
    }
}

/// A path parameter, as `axum::extract::Path` reads it, but never refusing a request by itself:
/// a parameter that is not UTF-8 (`%FF`) can name nothing here (every id is ASCII), so it reads
/// as empty, which every handler answers as it answers an id that does not exist (404) — after
/// it has said who may call it. Handlers take this, not `axum::extract::Path`.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Default + Send>
    axum::extract::FromRequestParts<S> for Path<T>
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Path(
            axum::extract::Path::<T>::from_request_parts(parts, state)
                .await
                .map(|p| p.0)
                .unwrap_or_default(),
        ))
    }
}

/// serde's message reads "…: missing field `phone` at line 1 column 2" or starts with the path.
fn data_error_field(text: &str) -> String {
    if let Some(i) = text.find("missing field `") {
        let rest = &text[i + 15..];
        return rest.split('`').next().unwrap_or("body").to_string();
    }
    text.split(": ")
        .nth(1)
        .and_then(|p| p.split(':').next())
        .filter(|p| !p.contains(' '))
        .unwrap_or("body")
        .to_string()
}
