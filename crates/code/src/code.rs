//! The code itself: claims signed as a COSE_Sign1 (RFC 9052, EdDSA), CBOR in Base45
//! (RFC 9285) behind the prefix `MB1:`. Base45's alphabet is the QR code's alphanumeric set, so
//! the QR takes 5.5 bits per character instead of 8.
//!
//! ```text
//! MB1:<Base45( 18([ bstr({1: -8, 4: kid}), {}, bstr(claims), bstr(signature) ]) )>
//! ```
//!
//! Every CBOR item is read with `ciborium` and must be in preferred serialisation (definite
//! lengths, shortest integers): re-encoding what was read gives back the same bytes, so there is
//! one encoding of a code and a scanner written from `docs/moral-code.md` agrees with this one.
//! The steps of [`verify`] and their errors are the ones that document lists, in its order.

use crate::claims::{Claims, BADGES_MAX};
use crate::keys::{IssuerKey, KeySet, Kid, KID_BYTES};
pub use crate::refusal::{VerifyError, CODE_CHARS_MAX, PREFIX};
use ciborium::Value;
use ed25519_dalek::Signature;

/// A scanner's clock may be this far off the issuer's.
pub const DEFAULT_CLOCK_SKEW_S: i64 = 30;
pub(crate) const COSE_SIGN1_TAG: u64 = 18;
/// How deep arrays and maps may nest in a code (the claims use 3 levels).
const NESTING_MAX: usize = 16;
pub(crate) const HEADER_ALG: i64 = 1;
pub(crate) const HEADER_KID: i64 = 4;
/// The content type of the payload (RFC 9596); only the credit report sets it.
pub(crate) const HEADER_TYP: i64 = 16;
/// COSE's algorithm id for EdDSA (RFC 9053 §2.2); with an OKP Ed25519 key, Ed25519.
pub(crate) const ALG_EDDSA: i64 = -8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("a code carries at most {BADGES_MAX} badges")]
    TooManyBadges,
    #[error("the code would expire before it is issued")]
    ExpiresBeforeIssued,
}

/// Sign `claims` with `key`: the code's text, `MB1:…`.
pub fn encode(claims: &Claims, key: &IssuerKey) -> Result<String, EncodeError> {
    if claims.holder.badges.len() > BADGES_MAX {
        return Err(EncodeError::TooManyBadges);
    }
    if claims.expires_at <= claims.issued_at {
        return Err(EncodeError::ExpiresBeforeIssued);
    }
    let protected = to_bytes(&Value::Map(vec![
        (int(HEADER_ALG), int(ALG_EDDSA)),
        (int(HEADER_KID), Value::Bytes(key.kid().0.to_vec())),
    ]));
    let payload = to_bytes(&claims.to_cbor());
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
    let text = format!("{PREFIX}{}", base45::encode(to_bytes(&sign1)));
    // The claims' limits keep every code under what a verifier reads.
    assert!(
        text.len() <= CODE_CHARS_MAX,
        "a code of {} characters",
        text.len()
    );
    Ok(text)
}

/// Verify a scanned code offline: its form, its signature by a key of `keys`, and its times
/// against `now` (unix seconds) give or take `skew_s`. A trailing CR/LF (from a scanner that
/// types into a field) is ignored; nothing else is (a space is a Base45 digit).
pub fn verify(text: &str, keys: &KeySet, now: i64, skew_s: i64) -> Result<Claims, VerifyError> {
    let text = text.trim_end_matches(['\r', '\n']);
    if text.len() > CODE_CHARS_MAX {
        return Err(VerifyError::TooLarge);
    }
    let body = text.strip_prefix(PREFIX).ok_or(VerifyError::WrongPrefix)?;
    let bytes = base45_decode(body).ok_or(VerifyError::NotBase45)?;
    let sign1 = Sign1::parse(&bytes)?;
    let header = Header::parse(&sign1.protected)?;
    if header.alg != Some(ALG_EDDSA) {
        return Err(VerifyError::UnsupportedAlgorithm);
    }
    let key = header
        .kid
        .and_then(|kid| keys.get(&kid))
        .ok_or(VerifyError::UnknownKey)?;
    let signature = <[u8; 64]>::try_from(sign1.signature.as_slice())
        .map(|s| Signature::from_bytes(&s))
        .map_err(|_| VerifyError::BadSignature)?;
    if !key.verify(&sig_structure(&sign1.protected, &sign1.payload), &signature) {
        return Err(VerifyError::BadSignature);
    }
    let claims = Claims::from_cbor(from_bytes(&sign1.payload).ok_or(VerifyError::NotCose)?)?;
    if now >= claims.expires_at.saturating_add(skew_s) {
        return Err(VerifyError::Expired {
            expires_at: claims.expires_at,
        });
    }
    if claims.issued_at > now.saturating_add(skew_s) {
        return Err(VerifyError::NotYetValid {
            issued_at: claims.issued_at,
        });
    }
    Ok(claims)
}

/// The COSE_Sign1's four parts, as bytes.
pub(crate) struct Sign1 {
    pub(crate) protected: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
}

impl Sign1 {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Sign1, VerifyError> {
        let Some(Value::Tag(COSE_SIGN1_TAG, inner)) = from_bytes(bytes) else {
            return Err(VerifyError::NotCose);
        };
        let Value::Array(parts) = *inner else {
            return Err(VerifyError::NotCose);
        };
        // The unprotected header is not signed, so nothing is read from it; it must be a map.
        match <[Value; 4]>::try_from(parts) {
            Ok(
                [Value::Bytes(protected), Value::Map(_), Value::Bytes(payload), Value::Bytes(signature)],
            ) => Ok(Sign1 {
                protected,
                payload,
                signature,
            }),
            _ => Err(VerifyError::NotCose),
        }
    }
}

/// What the protected header says: the algorithm (label 1) and key id (label 4), when they are
/// an integer and a byte string of a kid's length.
pub(crate) struct Header {
    pub(crate) alg: Option<i64>,
    pub(crate) kid: Option<Kid>,
    /// The content's type (label 16, RFC 9596), when it is text.
    pub(crate) typ: Option<String>,
}

impl Header {
    pub(crate) fn parse(protected: &[u8]) -> Result<Header, VerifyError> {
        let Some(Value::Map(entries)) = from_bytes(protected) else {
            return Err(VerifyError::NotCose);
        };
        let mut labels = Vec::with_capacity(entries.len());
        let mut header = Header {
            alg: None,
            kid: None,
            typ: None,
        };
        for (label, value) in entries {
            // RFC 9052 §3: a label is an int or a tstr; each at most once.
            if !(label.is_integer() || label.is_text()) || labels.contains(&label) {
                return Err(VerifyError::NotCose);
            }
            match (
                label.as_integer().and_then(|l| i64::try_from(l).ok()),
                &value,
            ) {
                (Some(HEADER_ALG), Value::Integer(alg)) => header.alg = i64::try_from(*alg).ok(),
                (Some(HEADER_KID), Value::Bytes(kid)) => {
                    header.kid = <[u8; KID_BYTES]>::try_from(kid.as_slice()).ok().map(Kid);
                }
                (Some(HEADER_TYP), Value::Text(typ)) => header.typ = Some(typ.clone()),
                _ => {}
            }
            labels.push(label);
        }
        Ok(header)
    }
}

/// COSE's Sig_structure for a COSE_Sign1 with no external data (RFC 9052 §4.4): what is signed.
/// Written directly (`["Signature1", protected, h'', payload]` in preferred serialisation)
/// rather than through a CBOR value, which would copy the payload twice more; a test checks it
/// against ciborium's encoding.
pub(crate) fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    const CONTEXT: &[u8] = b"Signature1";
    let mut out = Vec::with_capacity(protected.len() + payload.len() + 32);
    out.push(0x84); // an array of four
    out.push(0x60 | CONTEXT.len() as u8); // a text string of ten bytes
    out.extend_from_slice(CONTEXT);
    bstr_head(&mut out, protected.len());
    out.extend_from_slice(protected);
    out.push(0x40); // no external data
    bstr_head(&mut out, payload.len());
    out.extend_from_slice(payload);
    out
}

/// A byte string's head for `len` bytes, in its shortest form.
fn bstr_head(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=23 => out.push(0x40 | len as u8),
        24..=0xff => out.extend_from_slice(&[0x58, len as u8]),
        0x100..=0xffff => {
            out.push(0x59);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x5a);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

pub(crate) fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

pub(crate) fn to_bytes(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("writing CBOR to memory cannot fail");
    out
}

/// One CBOR item that is all of `bytes`, in preferred serialisation, within the subset a code
/// uses (see [`in_subset`]).
pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Value> {
    let value: Value = ciborium::from_reader(bytes).ok()?;
    let subset = match &value {
        Value::Tag(COSE_SIGN1_TAG, inner) => in_subset(inner, 1),
        other => in_subset(other, 0),
    };
    (subset && to_bytes(&value) == bytes).then_some(value)
}

/// The CBOR a code is made of: integers, byte and text strings, arrays, maps, booleans and
/// null, nested at most [`NESTING_MAX`] deep; no floats, and no tag but the COSE_Sign1's. A
/// small subset keeps a scanner's decoder small (`js/verify.js`) and its answers the same.
fn in_subset(value: &Value, depth: usize) -> bool {
    if depth > NESTING_MAX {
        return false;
    }
    match value {
        Value::Integer(_) | Value::Bytes(_) | Value::Text(_) | Value::Bool(_) | Value::Null => true,
        Value::Array(items) => items.iter().all(|v| in_subset(v, depth + 1)),
        Value::Map(entries) => entries
            .iter()
            .all(|(k, v)| in_subset(k, depth + 1) && in_subset(v, depth + 1)),
        _ => false,
    }
}

/// Base45 (RFC 9285). The `base45` crate reads a final pair above 255 modulo 256; the RFC says
/// such a pair is invalid, and accepting it would give one code two spellings.
pub(crate) fn base45_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 3 == 2 {
        let value = |c: u8| base45::alphabet::decode(c).map(u32::from);
        let tail = text.as_bytes().get(text.len() - 2..)?;
        if value(tail[0])? + 45 * value(tail[1])? > 255 {
            return None;
        }
    }
    base45::decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sig_structure_written_directly_is_ciboriums() {
        for len in [0usize, 1, 23, 24, 255, 256, 1_500, 65_535, 65_536, 70_000] {
            let protected = vec![0xa1; len.min(40)];
            let payload = vec![7u8; len];
            let by_value = to_bytes(&Value::Array(vec![
                Value::Text("Signature1".into()),
                Value::Bytes(protected.clone()),
                Value::Bytes(vec![]),
                Value::Bytes(payload.clone()),
            ]));
            assert_eq!(sig_structure(&protected, &payload), by_value, "{len}");
        }
    }
}
