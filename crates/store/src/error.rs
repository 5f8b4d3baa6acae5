use domain::{FieldError, FieldErrors};

/// What can go wrong in the store. "Not found" and "the database is down" are different
/// variants on purpose: callers must never confuse the two.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Input refused for a reason only the data can tell (unknown village, expired invite).
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The input clashes with an existing record (already enrolled, name taken).
    #[error("{0}")]
    Conflict(FieldError),
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("too many attempts; try again in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    #[error("configuration: {0}")]
    Config(String),
    #[error("migration: {0}")]
    Migration(String),
    #[error("stored data could not be decrypted or verified: {0}")]
    Crypto(&'static str),
    /// Stored rows contradict an invariant (found on reading back: tampering or a bug).
    #[error("integrity: {0}")]
    Integrity(String),
    /// The ledger's writer could not commit (the database failed mid-batch, or it stopped).
    /// Nothing of the request was written; retrying with the same idempotency key is safe.
    #[error("the ledger is unavailable: {0}")]
    Unavailable(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub fn invalid(field: &'static str, code: &'static str, detail: &str) -> StoreError {
        StoreError::Invalid(FieldError::new(field, code, detail).into())
    }

    pub fn conflict(field: &'static str, code: &'static str, detail: &str) -> StoreError {
        StoreError::Conflict(FieldError::new(field, code, detail))
    }

    /// Is this a unique-constraint violation? Racing writers that both passed the pre-checks
    /// end here, and get the same conflict the pre-check would have given.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
    }
}

/// A deed's rules refused a step: a caller outside the deed's circle is told it does not exist.
impl From<domain::deed::Refusal> for StoreError {
    fn from(r: domain::deed::Refusal) -> Self {
        match r {
            domain::deed::Refusal::Hidden => StoreError::NotFound { what: "deed" },
            domain::deed::Refusal::Conflict(e) => StoreError::Conflict(e),
        }
    }
}
