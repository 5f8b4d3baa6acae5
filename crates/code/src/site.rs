//! The site code (签到码) an alliance's organiser shows at a volunteer service: the moral code's
//! signing (COSE_Sign1, EdDSA, the moral code's keys) with its own type and prefix, naming the
//! shift it is for and living [`SITE_LIFETIME_S`]; a fresh one every [`SITE_ROTATE_S`]. A
//! volunteer checks in and out by scanning it: the server verifies it, and refuses a code that
//! was forged, is for another shift, has lapsed, or was used by the same volunteer before.
//!
//! ```text
//! MBS1:<Base45( 18([ bstr({1: -8, 4: kid, 16: "moralbank-site-code"}), {},
//!                    bstr({"iss": text, "shift": bstr(16), "iat": int, "exp": int, "jti": bstr(16)}),
//!                    bstr(signature) ]) )>
//! ```

use crate::code::{
    base45_decode, from_bytes, int, sig_structure, to_bytes, Header, Sign1, ALG_EDDSA,
    COSE_SIGN1_TAG, HEADER_ALG, HEADER_KID, HEADER_TYP,
};
use crate::keys::{IssuerKey, KeySet};
use ciborium::Value;
use ed25519_dalek::Signature;

pub const SITE_PREFIX: &str = "MBS1:";
/// The protected header's type (label 16).
pub const SITE_TYPE: &str = "moralbank-site-code";
/// A code's life: long enough to scan once shown, short enough that a photo sent away lapses.
pub const SITE_LIFETIME_S: i64 = 120;
/// The organiser's screen shows a new code this often.
pub const SITE_ROTATE_S: i64 = 60;
const SITE_CHARS_MAX: usize = 400;

/// What a site code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteCode {
    /// The issuer (the city's moral code issuer).
    pub issuer: String,
    /// The shift (its id's 16 bytes).
    pub shift: [u8; 16],
    pub issued_at: i64,
    pub expires_at: i64,
    /// Unique per code: a volunteer uses it once.
    pub id: [u8; 16],
}

impl SiteCode {
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

/// Why a site code was refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiteError {
    #[error("too long to be a site code")]
    TooLarge,
    #[error("not a site code (it must start with MBS1:)")]
    WrongPrefix,
    #[error("not Base45")]
    NotBase45,
    #[error("not a COSE_Sign1")]
    NotCose,
    #[error("signed content that is not a site code")]
    WrongType,
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    #[error("signed by an unknown key")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("a field is missing or malformed")]
    BadField,
    #[error("the code has lapsed: show a fresh one")]
    Expired,
    #[error("the code is not valid yet")]
    NotYetValid,
}

impl SiteError {
    /// The refusal's code (`site_<step>`), which the pages translate.
    pub fn code(&self) -> &'static str {
        match self {
            SiteError::TooLarge => "site_too_large",
            SiteError::WrongPrefix => "site_wrong_prefix",
            SiteError::NotBase45 => "site_not_base45",
            SiteError::NotCose => "site_not_cose",
            SiteError::WrongType => "site_wrong_type",
            SiteError::UnsupportedAlgorithm => "site_unsupported_algorithm",
            SiteError::UnknownKey => "site_unknown_key",
            SiteError::BadSignature => "site_bad_signature",
            SiteError::BadField => "site_bad_field",
            SiteError::Expired => "site_expired",
            SiteError::NotYetValid => "site_not_yet_valid",
        }
    }
}

fn entry(k: &str, v: Value) -> (Value, Value) {
    (Value::Text(k.into()), v)
}

/// Sign a site code with the moral code's key.
pub fn encode_site(code: &SiteCode, key: &IssuerKey) -> String {
    let protected = to_bytes(&Value::Map(vec![
        (int(HEADER_ALG), int(ALG_EDDSA)),
        (int(HEADER_KID), Value::Bytes(key.kid().0.to_vec())),
        (int(HEADER_TYP), Value::Text(SITE_TYPE.into())),
    ]));
    let payload = to_bytes(&Value::Map(vec![
        entry("iss", Value::Text(code.issuer.clone())),
        entry("shift", Value::Bytes(code.shift.to_vec())),
        entry("iat", int(code.issued_at)),
        entry("exp", int(code.expires_at)),
        entry("jti", Value::Bytes(code.id.to_vec())),
    ]));
    let signature = key.sign(&sig_structure(&protected, &payload));
    let sign1 = Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload),
            Value::Bytes(signature.to_bytes().to_vec()),
        ])),
    );
    format!("{SITE_PREFIX}{}", base45::encode(to_bytes(&sign1)))
}

fn payload(bytes: &[u8]) -> Option<SiteCode> {
    let Value::Map(map) = from_bytes(bytes)? else {
        return None;
    };
    let get = |k: &str| {
        map.iter()
            .find(|(key, _)| key.as_text() == Some(k))
            .map(|(_, v)| v)
    };
    let int_of = |v: &Value| v.as_integer().and_then(|i| i64::try_from(i).ok());
    let bytes16 = |v: &Value| {
        v.as_bytes()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
    };
    if map.len() != 5 {
        return None;
    }
    Some(SiteCode {
        issuer: get("iss")?.as_text()?.to_string(),
        shift: bytes16(get("shift")?)?,
        issued_at: int_of(get("iat")?)?,
        expires_at: int_of(get("exp")?)?,
        id: bytes16(get("jti")?)?,
    })
}

/// Verify a scanned site code against the moral code's keys at `now` (unix seconds), give or
/// take `skew_s`. Surrounding whitespace is ignored.
pub fn verify_site(
    text: &str,
    keys: &KeySet,
    now: i64,
    skew_s: i64,
) -> Result<SiteCode, SiteError> {
    let text = text.trim();
    if text.len() > SITE_CHARS_MAX {
        return Err(SiteError::TooLarge);
    }
    let body = text
        .strip_prefix(SITE_PREFIX)
        .ok_or(SiteError::WrongPrefix)?;
    let bytes = base45_decode(body).ok_or(SiteError::NotBase45)?;
    let sign1 = Sign1::parse(&bytes).map_err(|_| SiteError::NotCose)?;
    let header = Header::parse(&sign1.protected).map_err(|_| SiteError::NotCose)?;
    if header.typ.as_deref() != Some(SITE_TYPE) {
        return Err(SiteError::WrongType);
    }
    if header.alg != Some(ALG_EDDSA) {
        return Err(SiteError::UnsupportedAlgorithm);
    }
    let key = header
        .kid
        .and_then(|kid| keys.get(&kid))
        .ok_or(SiteError::UnknownKey)?;
    let signature = <[u8; 64]>::try_from(sign1.signature.as_slice())
        .map(|s| Signature::from_bytes(&s))
        .map_err(|_| SiteError::BadSignature)?;
    if !key.verify(&sig_structure(&sign1.protected, &sign1.payload), &signature) {
        return Err(SiteError::BadSignature);
    }
    let code = payload(&sign1.payload).ok_or(SiteError::BadField)?;
    if now >= code.expires_at.saturating_add(skew_s) {
        return Err(SiteError::Expired);
    }
    if code.issued_at > now.saturating_add(skew_s) {
        return Err(SiteError::NotYetValid);
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(now: i64) -> SiteCode {
        SiteCode {
            issuer: "yuyao".into(),
            shift: [7; 16],
            issued_at: now,
            expires_at: now + SITE_LIFETIME_S,
            id: [9; 16],
        }
    }

    fn keys(k: &IssuerKey) -> KeySet {
        KeySet::new(vec![k.public()]).expect("one key")
    }

    #[test]
    fn a_site_code_round_trips_and_lapses() {
        let k = IssuerKey::generate();
        let text = encode_site(&code(1_000), &k);
        assert!(text.starts_with(SITE_PREFIX));
        assert_eq!(verify_site(&text, &keys(&k), 1_050, 0), Ok(code(1_000)));
        assert_eq!(
            verify_site(&text, &keys(&k), 1_000 + SITE_LIFETIME_S, 0),
            Err(SiteError::Expired)
        );
        assert_eq!(
            verify_site(&text, &keys(&k), 900, 30),
            Err(SiteError::NotYetValid)
        );
    }

    #[test]
    fn a_forged_or_foreign_code_is_refused() {
        let k = IssuerKey::generate();
        let other = IssuerKey::generate();
        let text = encode_site(&code(1_000), &other);
        assert_eq!(
            verify_site(&text, &keys(&k), 1_000, 0),
            Err(SiteError::UnknownKey)
        );
        // The same kid with another key's signature: swap the signature bytes' last character.
        let good = encode_site(&code(1_000), &k);
        let mut tampered = good.clone().into_bytes();
        let i = tampered.len() - 10;
        tampered[i] = if tampered[i] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(matches!(
            verify_site(&tampered, &keys(&k), 1_000, 0),
            Err(SiteError::BadSignature | SiteError::NotCose | SiteError::NotBase45)
        ));
        // A moral code is not a site code, and a site code is not a moral code.
        assert_eq!(
            verify_site("MB1:ABC", &keys(&k), 1_000, 0),
            Err(SiteError::WrongPrefix)
        );
        assert_eq!(
            crate::verify(&good, &keys(&k), 1_000, 0).unwrap_err(),
            crate::VerifyError::WrongPrefix
        );
    }
}
