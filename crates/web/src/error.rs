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

/// JSON body extractor whose rejections are problem details naming what was wrong. Numbers
/// are compared by value, as JSON Schema does: `10.0` is the integer 10 (an integer field
/// still refuses `10.5`, and any number beyond its type's range).
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        let mut value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(AppError::BadRequest(
                    "send the body as JSON with Content-Type: application/json".into(),
                ))
            }
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::TooLarge)
            }
            Err(e) => return Err(AppError::BadRequest(e.body_text())),
        };
        integral_numbers_as_integers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let text = if path == "." {
                    format!(
                        "Failed to deserialize the JSON body into the target type: {}",
                        e.inner()
                    )
                } else {
                    format!(
                        "Failed to deserialize the JSON body into the target type: {path}: {}",
                        e.inner()
                    )
                };
                AppError::Invalid(
                    FieldError::new(data_error_field(&text), "json_field", text).into(),
                )
            })
    }
}

/// `10.0` → `10`, everywhere in a JSON value, when the number is whole and fits an i64 or u64.
fn integral_numbers_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // The casts saturate; the range checks keep only the exact conversions.
                if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    *v = Value::from(f as i64);
                } else if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *v = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
}

/// The query string, read into `T` only when the handler asks ([`ApiQuery::read`]), after it
/// said who may call it (`authz::require`): a caller who may not use a route gets 401 or 403
/// whatever they sent. A query that does not read is a problem naming the parameter (422), like
/// the JSON body's, never axum's plain-text 400.
pub struct ApiQuery<T>(Result<T, AppError>);

impl<T> ApiQuery<T> {
    /// The query's values, or the 422 naming the parameter that did not read.
    pub fn read(self) -> Result<T, AppError> {
        self.0
    }
}

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ApiQuery(
            match axum::extract::Query::<T>::from_request_parts(parts, state).await {
                Ok(axum::extract::Query(v)) => Ok(v),
                Err(e) => {
                    // "Failed to deserialize query string: limit: invalid digit found in string"
                    let text = e.body_text();
                    let detail = text
                        .split_once(": ")
                        .map_or(text.as_str(), |(_, rest)| rest)
                        .to_string();
                    // "missing field `limit`", "duplicate field `limit`", "limit: invalid digit…"
                    let field = match detail.split_once("field `") {
                        Some((_, rest)) => rest.split('`').next().unwrap_or("query"),
                        None => detail
                            .split_once(": ")
                            .map(|(f, _)| f)
                            .filter(|f| !f.contains(' '))
                            .unwrap_or("query"),
                    }
                    .to_string();
                    let detail = detail
                        .strip_prefix(&format!("{field}: "))
                        .unwrap_or(&detail)
                        .to_string();
                    Err(AppError::Invalid(
                        FieldError::new(field, "query_field", detail).into(),
                    ))
                }
            },
        ))
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::extract::FromRequest;

    #[derive(serde::Deserialize, Debug)]
    struct Body {
        points: i64,
        index: u64,
    }

    async fn parse(body: &str) -> Result<Body, AppError> {
        let req = axum::http::Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        ApiJson::<Body>::from_request(req, &()).await.map(|b| b.0)
    }

    #[tokio::test]
    async fn whole_numbers_written_with_a_fraction_are_integers_and_others_are_refused() {
        let b = parse(r#"{"points": 10.0, "index": 3e2}"#).await.unwrap();
        assert_eq!((b.points, b.index), (10, 300));
        for (body, field) in [
            (r#"{"points": 10.5, "index": 1}"#, "points"),
            (r#"{"points": 1, "index": 1.2e20}"#, "index"),
            (r#"{"points": 1, "index": -1}"#, "index"),
            (r#"{"points": 1}"#, "index"),
        ] {
            match parse(body).await {
                Err(AppError::Invalid(e)) => assert_eq!(e.0[0].field, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
