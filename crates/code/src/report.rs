//! The moral credit report (道德信用报告): what a household holds and presents to a bank, signed
//! like the moral code (COSE_Sign1, EdDSA) but with its own keys, its own type and its own text
//! form, so that neither can pass for the other:
//!
//! ```text
//! MBCR1:<base64url, no padding( 18([ bstr({1: -8, 4: kid, 16: "moralbank-credit-report"}),
//!                                    {}, bstr(report), bstr(signature) ]) )>
//! ```
//!
//! The report is a CBOR map with text keys, in this order (`docs/credit-report.md` is the
//! reference, with a test vector):
//!
//! ```text
//! { "v": 1, "iss": text, "aud": text, "sub": bstr .size 16, "iat": int, "exp": int,
//!   "jti": bstr .size 16, "consent": text, "tier": uint, "tier_rules": text,
//!   "lookback_months": uint, "credit_points": int,
//!   "points": [* {"category": text, "year": uint, "points": int}],
//!   "badges": [* text], "green_cards": uint, "in_publicity": uint,
//!   "line": null / {"table_version": uint, "max_line_yuan": uint, "rate_discount_bp": uint},
//!   "log": {"origin": text, "size": uint, "root": bstr .size 32} }
//! ```
//!
//! Principle 5: a household pseudonym for one bank (`sub`), figures and the log's checkpoint —
//! never a name, ID number, phone number or the text of a deed. The CBOR is read as strictly as
//! the code's: preferred serialisation only, every key present once and in order, no other key.

use crate::code::{
    int, sig_structure, to_bytes, Header, Sign1, ALG_EDDSA, COSE_SIGN1_TAG, HEADER_ALG, HEADER_KID,
    HEADER_TYP,
};
use crate::keys::{IssuerKey, KeySet};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use ed25519_dalek::Signature;

/// Every report starts with this.
pub const REPORT_PREFIX: &str = "MBCR1:";
/// The protected header's type (label 16).
pub const REPORT_TYPE: &str = "moralbank-credit-report";
/// The format's version, the report's `v`.
pub const REPORT_VERSION: i64 = 1;
/// The longest text [`verify_report`] reads.
pub const REPORT_CHARS_MAX: usize = 16_384;
/// At most this many (category, year) rows, and as many badges.
pub const ROWS_MAX: usize = 200;
pub use crate::report_cbor::TEXT_CHARS_MAX;

/// Points earned in one category (a standard's code) in one calendar year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CategoryPoints {
    pub category: String,
    pub year: u16,
    pub points: i64,
}

/// The suggested line from the published table: the bank still decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SuggestedLine {
    pub table_version: u32,
    pub max_line_yuan: u64,
    pub rate_discount_bp: u32,
}

/// The public log's checkpoint when the report was issued: what the figures stand on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogAnchor {
    pub origin: String,
    pub size: u64,
    #[serde(serialize_with = "hex_32")]
    pub root: [u8; 32],
}

fn hex_32<S: serde::Serializer>(b: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

fn hex_16<S: serde::Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex::encode(b))
}

/// What a report says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CreditReport {
    pub issuer: String,
    /// The bank it is for (its partner id).
    pub audience: String,
    /// The household's pseudonym for this bank only.
    #[serde(serialize_with = "hex_16")]
    pub subject: [u8; 16],
    pub issued_at: i64,
    pub expires_at: i64,
    #[serde(serialize_with = "hex_16")]
    pub report_id: [u8; 16],
    pub consent_id: String,
    pub tier: u8,
    pub tier_rules: String,
    pub lookback_months: u8,
    pub credit_points: i64,
    pub points: Vec<CategoryPoints>,
    pub badges: Vec<String>,
    pub green_cards: u32,
    pub in_publicity: u32,
    pub line: Option<SuggestedLine>,
    pub log: LogAnchor,
}

impl CreditReport {
    /// The report id as the hex text pages and the API show.
    pub fn id_hex(&self) -> String {
        hex::encode(self.report_id)
    }
}

/// Why a report could not be made or was refused. [`ReportError::code`] is a stable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the text is longer than {REPORT_CHARS_MAX} characters: not a credit report")]
    TooLarge,
    #[error("the text does not start with {REPORT_PREFIX}: not a moral credit report")]
    WrongPrefix,
    #[error("the text after {REPORT_PREFIX} is not base64url")]
    NotBase64,
    #[error("the content is not a COSE_Sign1 structure")]
    NotCose,
    #[error("the signed content is not a moral credit report (wrong type)")]
    WrongType,
    #[error("the report is not signed with EdDSA")]
    UnsupportedAlgorithm,
    #[error("the report is signed with a key that is not in the credit key set")]
    UnknownKey,
    #[error("the signature does not verify: the report was altered or forged")]
    BadSignature,
    #[error("the field {0} is missing, repeated, out of order or not valid")]
    BadField(&'static str),
    #[error("the report is addressed to another bank")]
    WrongAudience,
    #[error("the report expired at {expires_at} (unix seconds)")]
    Expired { expires_at: i64 },
    #[error("the report is issued at {issued_at} (unix seconds), in the future")]
    NotYetValid { issued_at: i64 },
}

impl ReportError {
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::TooLarge => "too_large",
            ReportError::WrongPrefix => "wrong_prefix",
            ReportError::NotBase64 => "not_base64",
            ReportError::NotCose => "not_cose",
            ReportError::WrongType => "wrong_type",
            ReportError::UnsupportedAlgorithm => "unsupported_algorithm",
            ReportError::UnknownKey => "unknown_key",
            ReportError::BadSignature => "bad_signature",
            ReportError::BadField(_) => "bad_field",
            ReportError::WrongAudience => "wrong_audience",
            ReportError::Expired { .. } => "expired",
            ReportError::NotYetValid { .. } => "not_yet_valid",
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn uint(u: u64) -> Value {
    Value::Integer(u.into())
}

fn entry(k: &str, v: Value) -> (Value, Value) {
    (text(k), v)
}

fn check_text(field: &'static str, s: &str) -> Result<(), ReportError> {
    if crate::report_cbor::text_ok(s) {
        Ok(())
    } else {
        Err(ReportError::BadField(field))
    }
}

impl From<crate::report_cbor::Bad> for ReportError {
    fn from(b: crate::report_cbor::Bad) -> ReportError {
        ReportError::BadField(b.0)
    }
}

impl CreditReport {
    fn check(&self) -> Result<(), ReportError> {
        check_text("iss", &self.issuer)?;
        check_text("aud", &self.audience)?;
        check_text("consent", &self.consent_id)?;
        check_text("tier_rules", &self.tier_rules)?;
        check_text("origin", &self.log.origin)?;
        if self.expires_at <= self.issued_at {
            return Err(ReportError::BadField("exp"));
        }
        if self.points.len() > ROWS_MAX {
            return Err(ReportError::BadField("points"));
        }
        if self.badges.len() > ROWS_MAX {
            return Err(ReportError::BadField("badges"));
        }
        for p in &self.points {
            check_text("category", &p.category)?;
        }
        for b in &self.badges {
            check_text("badges", b)?;
        }
        Ok(())
    }

    fn to_cbor(&self) -> Value {
        let points = self
            .points
            .iter()
            .map(|p| {
                Value::Map(vec![
                    entry("category", text(&p.category)),
                    entry("year", uint(u64::from(p.year))),
                    entry("points", int(p.points)),
                ])
            })
            .collect();
        let line = self.line.map_or(Value::Null, |l| {
            Value::Map(vec![
                entry("table_version", uint(u64::from(l.table_version))),
                entry("max_line_yuan", uint(l.max_line_yuan)),
                entry("rate_discount_bp", uint(u64::from(l.rate_discount_bp))),
            ])
        });
        Value::Map(vec![
            entry("v", int(REPORT_VERSION)),
            entry("iss", text(&self.issuer)),
            entry("aud", text(&self.audience)),
            entry("sub", Value::Bytes(self.subject.to_vec())),
            entry("iat", int(self.issued_at)),
            entry("exp", int(self.expires_at)),
            entry("jti", Value::Bytes(self.report_id.to_vec())),
            entry("consent", text(&self.consent_id)),
            entry("tier", uint(u64::from(self.tier))),
            entry("tier_rules", text(&self.tier_rules)),
            entry("lookback_months", uint(u64::from(self.lookback_months))),
            entry("credit_points", int(self.credit_points)),
            entry("points", Value::Array(points)),
            entry(
                "badges",
                Value::Array(self.badges.iter().map(|b| text(b)).collect()),
            ),
            entry("green_cards", uint(u64::from(self.green_cards))),
            entry("in_publicity", uint(u64::from(self.in_publicity))),
            entry("line", line),
            entry(
                "log",
                Value::Map(vec![
                    entry("origin", text(&self.log.origin)),
                    entry("size", uint(self.log.size)),
                    entry("root", Value::Bytes(self.log.root.to_vec())),
                ]),
            ),
        ])
    }
}

/// The report from its payload's bytes, each key expected in order (see [`crate::report_cbor`]):
/// a payload that is no well-formed CBOR of the subset is `NotCose`, a wrong shape the field.
fn from_payload(payload: &[u8]) -> Result<CreditReport, ReportError> {
    if !crate::report_cbor::well_formed(payload) {
        return Err(ReportError::NotCose);
    }
    let mut m = crate::report_cbor::Reader::new(payload);
    m.map("report", 18)?;
    if m.int::<i64>("v")? != REPORT_VERSION {
        return Err(ReportError::BadField("v"));
    }
    let issuer = m.text("iss")?;
    let audience = m.text("aud")?;
    let subject = m.bytes::<16>("sub")?;
    let issued_at = m.int("iat")?;
    let expires_at = m.int("exp")?;
    let report_id = m.bytes::<16>("jti")?;
    let consent_id = m.text("consent")?;
    let tier = m.int("tier")?;
    let tier_rules = m.text("tier_rules")?;
    let lookback_months = m.int("lookback_months")?;
    let credit_points = m.int("credit_points")?;
    let rows = m.array("points", ROWS_MAX)?;
    let mut points = Vec::with_capacity(rows);
    for _ in 0..rows {
        m.map("points", 3)?;
        points.push(CategoryPoints {
            category: m.text("category")?,
            year: m.int("year")?,
            points: m.int("points")?,
        });
    }
    let n = m.array("badges", ROWS_MAX)?;
    let mut badges = Vec::with_capacity(n);
    for _ in 0..n {
        badges.push(m.text_value("badges")?);
    }
    let green_cards = m.int("green_cards")?;
    let in_publicity = m.int("in_publicity")?;
    let line = if m.null("line")? {
        None
    } else {
        m.map("line", 3)?;
        Some(SuggestedLine {
            table_version: m.int("table_version")?,
            max_line_yuan: m.int("max_line_yuan")?,
            rate_discount_bp: m.int("rate_discount_bp")?,
        })
    };
    m.key("log")?;
    m.map("log", 3)?;
    let log = LogAnchor {
        origin: m.text("origin")?,
        size: m.int("size")?,
        root: m.bytes::<32>("root")?,
    };
    let report = CreditReport {
        issuer,
        audience,
        subject,
        issued_at,
        expires_at,
        report_id,
        consent_id,
        tier,
        tier_rules,
        lookback_months,
        credit_points,
        points,
        badges,
        green_cards,
        in_publicity,
        line,
        log,
    };
    report.check()?;
    Ok(report)
}

/// Sign `report` with `key` (the credit key, not the moral code's): the report's text.
pub fn encode_report(report: &CreditReport, key: &IssuerKey) -> Result<String, ReportError> {
    report.check()?;
    let protected = to_bytes(&Value::Map(vec![
        (int(HEADER_ALG), int(ALG_EDDSA)),
        (int(HEADER_KID), Value::Bytes(key.kid().0.to_vec())),
        (int(HEADER_TYP), text(REPORT_TYPE)),
    ]));
    let payload = to_bytes(&report.to_cbor());
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
    let out = format!(
        "{REPORT_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(to_bytes(&sign1))
    );
    if out.len() > REPORT_CHARS_MAX {
        return Err(ReportError::TooLarge);
    }
    Ok(out)
}

/// Verify a presented report offline: its form, its type, its signature by a key of `keys`, its
/// audience (when `audience` is given: the bank that reads it) and its times against `now` (unix
/// seconds) give or take `skew_s`. Surrounding whitespace (a file's last newline) is ignored.
pub fn verify_report(
    text: &str,
    keys: &KeySet,
    audience: Option<&str>,
    now: i64,
    skew_s: i64,
) -> Result<CreditReport, ReportError> {
    let text = text.trim();
    if text.len() > REPORT_CHARS_MAX {
        return Err(ReportError::TooLarge);
    }
    let body = text
        .strip_prefix(REPORT_PREFIX)
        .ok_or(ReportError::WrongPrefix)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| ReportError::NotBase64)?;
    let sign1 = Sign1::parse(&bytes).map_err(|_| ReportError::NotCose)?;
    let header = Header::parse(&sign1.protected).map_err(|_| ReportError::NotCose)?;
    if header.typ.as_deref() != Some(REPORT_TYPE) {
        return Err(ReportError::WrongType);
    }
    if header.alg != Some(ALG_EDDSA) {
        return Err(ReportError::UnsupportedAlgorithm);
    }
    let key = header
        .kid
        .and_then(|kid| keys.get(&kid))
        .ok_or(ReportError::UnknownKey)?;
    let signature = <[u8; 64]>::try_from(sign1.signature.as_slice())
        .map(|s| Signature::from_bytes(&s))
        .map_err(|_| ReportError::BadSignature)?;
    if !key.verify(&sig_structure(&sign1.protected, &sign1.payload), &signature) {
        return Err(ReportError::BadSignature);
    }
    let report = from_payload(&sign1.payload)?;
    if audience.is_some_and(|a| a != report.audience) {
        return Err(ReportError::WrongAudience);
    }
    if now >= report.expires_at.saturating_add(skew_s) {
        return Err(ReportError::Expired {
            expires_at: report.expires_at,
        });
    }
    if report.issued_at > now.saturating_add(skew_s) {
        return Err(ReportError::NotYetValid {
            issued_at: report.issued_at,
        });
    }
    Ok(report)
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
