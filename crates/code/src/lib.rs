//! The moral code (道德码): what a resident's phone shows and a partner scans, verifiable
//! offline with this crate alone (a partner's scanner needs nothing else).
//!
//! * [`keys`]: issuer keys (Ed25519) named by key ids, the private key as a JWK for a key file,
//!   the public key set as a JWKS (RFC 8037);
//! * [`claims`]: what a code says (CWT claims, RFC 8392): a rotating pseudonym, tier, badges, a
//!   masked name, issue and expiry times, a unique id, and whether it is a printed card;
//! * [`code`]: the claims signed as a COSE_Sign1 (RFC 9052, EdDSA), Base45 (RFC 9285) with the
//!   prefix `MB1:`, and their verification, each failure with its own reason;
//! * [`qr`]: the QR of a code, as SVG;
//! * [`report`]: the moral credit report a household presents to a bank: the same signing, its
//!   own keys, type and text form `MBCR1:`, verified offline (`docs/credit-report.md`);
//! * [`site`]: the rotating site code an alliance shows for volunteers' check-in (`MBS1:`,
//!   the moral code's keys, its own type; `docs/dispatch.md`).
//!
//! The format is documented for partners in `docs/moral-code.md`; `js/verify.js` is the same
//! verifier for the browser. This crate must not do IO: no files, clock, network or database
//! (the caller passes `now`, and stores keys).

pub mod claims;
pub mod code;
pub mod keys;
pub mod qr;
pub mod refusal;
pub mod report;
mod report_cbor;
pub mod site;

pub use claims::{
    Badge, Carrier, ClaimError, Claims, CodeId, Holder, Issuer, Lifetimes, MaskedName, Pseudonym,
    PHONE_LIFETIME_S, PRINTED_CARD_LIFETIME_S,
};
pub use code::{
    encode, verify, EncodeError, VerifyError, CODE_CHARS_MAX, DEFAULT_CLOCK_SKEW_S, PREFIX,
};
pub use keys::{IssuerKey, KeyError, KeySet, Kid, PublicKey};
pub use qr::{CodeQr, QrTooLong};
pub use report::{
    encode_report, verify_report, CategoryPoints, CreditReport, LogAnchor, ReportError,
    SuggestedLine, REPORT_PREFIX,
};

/// `js/verify.js`, the browser verifier, for a server to hand to its scanner page.
pub const VERIFY_JS: &str = include_str!("../js/verify.js");
