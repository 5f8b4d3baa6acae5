//! Why a scanned text is refused, step by step ([`VerifyError`], with a stable name per step
//! that the JavaScript verifier and `docs/moral-code.md` share), and the two limits those
//! refusals name. Apart from [`crate::code`] so that the claims' decoder can refuse too without
//! the two modules depending on each other.

/// Every code starts with this.
pub const PREFIX: &str = "MB1:";
/// The longest text [`crate::code::verify`] reads; longer input is refused before any decoding.
/// A code with every claim at its limit is shorter (a test checks it).
pub const CODE_CHARS_MAX: usize = 1024;

/// Why a code was refused. [`VerifyError::code`] is a stable name for each, the same in the
/// JavaScript verifier and in the documentation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the text is longer than {CODE_CHARS_MAX} characters: not a moral code")]
    TooLarge,
    #[error("the text does not start with {PREFIX}: not a moral code")]
    WrongPrefix,
    #[error("the text after {PREFIX} is not Base45")]
    NotBase45,
    #[error("the content is not a COSE_Sign1 structure")]
    NotCose,
    #[error("the code is not signed with EdDSA")]
    UnsupportedAlgorithm,
    #[error("the code is signed with a key that is not in the key set")]
    UnknownKey,
    #[error("the signature does not verify: the code was altered or forged")]
    BadSignature,
    #[error("the claim {0} is missing")]
    MissingClaim(&'static str),
    #[error("the claim {0} is not valid")]
    BadClaim(&'static str),
    #[error("the code expired at {expires_at} (unix seconds)")]
    Expired { expires_at: i64 },
    #[error("the code is issued at {issued_at} (unix seconds), in the future")]
    NotYetValid { issued_at: i64 },
}

impl VerifyError {
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::TooLarge => "too_large",
            VerifyError::WrongPrefix => "wrong_prefix",
            VerifyError::NotBase45 => "not_base45",
            VerifyError::NotCose => "not_cose",
            VerifyError::UnsupportedAlgorithm => "unsupported_algorithm",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::MissingClaim(_) => "missing_claim",
            VerifyError::BadClaim(_) => "bad_claim",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
        }
    }
}
