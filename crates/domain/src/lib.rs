//! Pure types and rules of Moral Bank.
//!
//! This crate owns the vocabulary every other layer speaks: resident ID numbers (GB 11643),
//! mainland mobile phones, person names and how each is masked, staff roles, region levels and
//! the validation error that names the offending field. It must not touch IO, HTTP or SQL:
//! `cargo tree -p moralbank-domain -i sqlx` finds nothing, and CI checks that.

pub mod citydata;
pub mod credit;
pub mod deed;
pub mod dispatch;
mod error;
mod idempotency;
mod identity;
pub mod market;
mod region;
mod role;
pub mod tier;
pub mod time;

pub use error::{FieldError, FieldErrors};
pub use idempotency::{IdempotencyKey, KeyOwner, IDEMPOTENCY_KEY_BYTES_MAX};
pub use identity::{
    ConsentVersion, OtpCode, OtpPurpose, Password, PersonName, Phone, ResidentId, Username,
    PASSWORD_CHARS_MAX,
};
pub use region::RegionLevel;
pub use role::Role;

/// The enrolment consent text currently in force. A new text gets a new version; every
/// enrolment records the version the resident agreed to.
pub const ENROLMENT_CONSENT_VERSION: &str = "enrolment-2026-11";

/// A fresh identifier. Time-ordered UUIDv7, so no database sequence is needed and rows from
/// different regions (or shards) never collide, while inserts stay roughly append-ordered.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Parse an identifier that came from outside (a URL, a form).
pub fn parse_id(field: &'static str, raw: &str) -> Result<String, FieldError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.to_string())
        .map_err(|_| FieldError::new(field, "invalid_id", "is not a valid identifier"))
}
