//! Who signs in: staff accounts (Argon2id passwords, roles scoped by region or partner),
//! partner organisations and their API keys, sessions, and residents' one-time sign-in codes.

mod otp;
mod sessions;
mod staff;

pub use otp::{OtpIssued, OTP_ATTEMPTS_MAX, OTP_PER_HOUR_MAX, OTP_RESEND_GAP_MS, OTP_TTL_MS};
pub use sessions::{Session, SubjectKind};
pub use staff::{
    ApiKey, ApiPrincipal, NewStaff, Partner, Staff, API_SCOPES, BANK_SCOPES, PARTNER_KINDS,
};

crate::facet!(Accounts, accounts, "The accounts' part of the store (`store.accounts()`): staff, partners, API keys, sessions and sign-in codes.");
