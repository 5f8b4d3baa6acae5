//! The one reader of the `Idempotency-Key` header, for every route that takes it (ledger
//! postings, partners' deeds, redemptions). The extractor never refuses a request by itself:
//! a handler first checks who may call it (so that a caller who may not gets 403, not a
//! complaint about a header), then asks for the key with [`IdempotencyHeader::require`].

use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use domain::{FieldError, IdempotencyKey};
use std::convert::Infallible;

/// The header as sent: absent, or parsed (a key, or why it is not one).
pub struct IdempotencyHeader(Option<Result<IdempotencyKey, FieldError>>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IdempotencyHeader(parts.headers.get("idempotency-key").map(
            |v| match v.to_str() {
                Ok(raw) => IdempotencyKey::parse(raw),
                Err(_) => Err(IdempotencyKey::invalid()),
            },
        )))
    }
}

impl IdempotencyHeader {
    /// The key, or a 422 naming the header: missing (saying it must be `hint`, e.g. "unique per
    /// scan"), or not 1 to 200 printable ASCII characters.
    pub fn require(self, hint: &str) -> Result<IdempotencyKey, AppError> {
        match self.0 {
            Some(parsed) => Ok(parsed?),
            None => Err(IdempotencyKey::missing(hint).into()),
        }
    }
}
