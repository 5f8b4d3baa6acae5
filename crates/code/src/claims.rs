//! What a code says: CWT claims (RFC 8392) about the holder, and nothing more. Principle 5
//! (minimal disclosure): a rotating pseudonym, a tier, badges, a masked name and the code's own
//! times and id; never an ID number, phone, points history or household.
//!
//! The claims map, with the labels a partner's verifier reads (see `docs/moral-code.md`):
//!
//! ```text
//! {
//!   1: iss (text), 4: exp (int), 6: iat (int), 7: cti (bstr .size 16),
//!   -65537: {                       ; "moralbank", a private-use label (RFC 8392 §9.1)
//!     1: pseudonym (bstr .size 16), 2: tier (uint), 3: [* badge (text)],
//!     4: masked name (text), 5: printed card (bool)
//!   }
//! }
//! ```

use crate::refusal::VerifyError;
use ciborium::Value;
use rand::RngCore;
use std::fmt;

/// A phone code's default lifetime: it refreshes itself well within it.
pub const PHONE_LIFETIME_S: i64 = 90;
/// A printed card's default lifetime: one year.
pub const PRINTED_CARD_LIFETIME_S: i64 = 365 * 24 * 60 * 60;
pub const ISSUER_BYTES_MAX: usize = 64;
pub const BADGES_MAX: usize = 8;
pub const BADGE_CHARS_MAX: usize = 24;
pub const MASKED_NAME_CHARS_MAX: usize = 16;

/// The CBOR labels of the claims map.
pub(crate) mod label {
    pub const ISS: i64 = 1;
    pub const EXP: i64 = 4;
    pub const IAT: i64 = 6;
    pub const CTI: i64 = 7;
    /// Below -65536: RFC 8392's private-use range, so no registered claim can collide with it.
    pub const MORALBANK: i64 = -65537;
    pub const PSEUDONYM: i64 = 1;
    pub const TIER: i64 = 2;
    pub const BADGES: i64 = 3;
    pub const MASKED_NAME: i64 = 4;
    pub const PRINTED_CARD: i64 = 5;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the issuer must be 1 to {ISSUER_BYTES_MAX} printable ASCII characters, no spaces")]
    Issuer,
    #[error("a badge must be 1 to {BADGE_CHARS_MAX} characters of a-z, 0-9 and '-'")]
    Badge,
    #[error("the masked name must be 1 to {MASKED_NAME_CHARS_MAX} characters, none of them a control character")]
    MaskedName,
}

/// Who issued the code, e.g. `yuyao`: short, since it is in every code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    pub fn parse(s: &str) -> Result<Issuer, ClaimError> {
        let ok =
            (1..=ISSUER_BYTES_MAX).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Issuer(s.to_string())).ok_or(ClaimError::Issuer)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A badge id such as `green-card` (a 道德绿卡) or `volunteer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge(String);

impl Badge {
    pub fn parse(s: &str) -> Result<Badge, ClaimError> {
        let ok = (1..=BADGE_CHARS_MAX).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Badge(s.to_string())).ok_or(ClaimError::Badge)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The holder's name as shown to a partner, already masked by the caller (张*明).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskedName(String);

impl MaskedName {
    pub fn parse(s: &str) -> Result<MaskedName, ClaimError> {
        let chars = s.chars().count();
        let ok = (1..=MASKED_NAME_CHARS_MAX).contains(&chars) && !s.chars().any(char::is_control);
        ok.then(|| MaskedName(s.to_string()))
            .ok_or(ClaimError::MaskedName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 16 opaque bytes standing for the holder in one code. The caller derives it (e.g. a keyed
/// hash of the citizen and a time window) so that it rotates and two scans cannot be linked
/// without the server.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pseudonym(pub [u8; 16]);

/// The code's unique id (CWT `cti`), random: the key of replay checks on redemption.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodeId(pub [u8; 16]);

impl CodeId {
    pub fn random() -> CodeId {
        let mut id = [0; 16];
        rand::rngs::OsRng.fill_bytes(&mut id);
        CodeId(id)
    }
}

macro_rules! hex_display {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($t))
            }
        }
    };
}
hex_display!(Pseudonym);
hex_display!(CodeId);

/// What a code says about its holder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pseudonym: Pseudonym,
    pub tier: u8,
    /// At most [`BADGES_MAX`].
    pub badges: Vec<Badge>,
    pub masked_name: MaskedName,
}

/// What carries the code, which sets its lifetime and what it may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// The resident's phone: short-lived, refreshed before it expires.
    Phone,
    /// A long-lived printed card for residents without a smartphone. It opens eligibility-only
    /// benefits, never quota or points ones (a copy of it could be replayed for a year).
    PrintedCard,
}

/// How long codes live, in seconds (configurable by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub phone_s: i64,
    pub printed_card_s: i64,
}

impl Default for Lifetimes {
    fn default() -> Lifetimes {
        Lifetimes {
            phone_s: PHONE_LIFETIME_S,
            printed_card_s: PRINTED_CARD_LIFETIME_S,
        }
    }
}

/// A code's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub issuer: Issuer,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds; the code is refused from this second on (give or take the clock skew).
    pub expires_at: i64,
    pub code_id: CodeId,
    pub printed_card: bool,
    pub holder: Holder,
}

impl Claims {
    /// New claims for `holder`, issued `now`, with a fresh random code id.
    pub fn issue(
        issuer: Issuer,
        holder: Holder,
        carrier: Carrier,
        now: i64,
        lifetimes: &Lifetimes,
    ) -> Claims {
        let lifetime_s = match carrier {
            Carrier::Phone => lifetimes.phone_s,
            Carrier::PrintedCard => lifetimes.printed_card_s,
        };
        Claims {
            issuer,
            issued_at: now,
            expires_at: now.saturating_add(lifetime_s),
            code_id: CodeId::random(),
            printed_card: carrier == Carrier::PrintedCard,
            holder,
        }
    }

    pub(crate) fn to_cbor(&self) -> Value {
        let int = |i: i64| Value::Integer(i.into());
        let h = &self.holder;
        let moralbank = Value::Map(vec![
            (int(label::PSEUDONYM), Value::Bytes(h.pseudonym.0.to_vec())),
            (int(label::TIER), int(h.tier.into())),
            (
                int(label::BADGES),
                Value::Array(h.badges.iter().map(|b| Value::Text(b.0.clone())).collect()),
            ),
            (
                int(label::MASKED_NAME),
                Value::Text(h.masked_name.0.clone()),
            ),
            (int(label::PRINTED_CARD), Value::Bool(self.printed_card)),
        ]);
        // Keys in ascending order of their encodings: RFC 8949 §4.2.1's deterministic order.
        Value::Map(vec![
            (int(label::ISS), Value::Text(self.issuer.0.clone())),
            (int(label::EXP), int(self.expires_at)),
            (int(label::IAT), int(self.issued_at)),
            (int(label::CTI), Value::Bytes(self.code_id.0.to_vec())),
            (int(label::MORALBANK), moralbank),
        ])
    }

    /// The claims of a verified payload. Unknown claims are ignored: a claim that changes what a
    /// code permits would come with a new prefix, not in `MB1:`.
    pub(crate) fn from_cbor(value: Value) -> Result<Claims, VerifyError> {
        let mut map = Fields::new(value)?;
        let issuer = map.take(label::ISS, "iss", |v| match v {
            Value::Text(t) => Issuer::parse(&t).ok(),
            _ => None,
        })?;
        let expires_at = map.take(label::EXP, "exp", as_i64)?;
        let issued_at = map.take(label::IAT, "iat", as_i64)?;
        let code_id = map.take(label::CTI, "cti", |v| as_16_bytes(v).map(CodeId))?;
        let mut mb = map.take(label::MORALBANK, "moralbank", |v| Fields::new(v).ok())?;
        let pseudonym = mb.take(label::PSEUDONYM, "pseudonym", |v| {
            as_16_bytes(v).map(Pseudonym)
        })?;
        let tier = mb.take(label::TIER, "tier", |v| {
            as_i64(v).and_then(|t| u8::try_from(t).ok())
        })?;
        let badges = mb.take(label::BADGES, "badges", as_badges)?;
        let masked_name = mb.take(label::MASKED_NAME, "masked_name", |v| match v {
            Value::Text(t) => MaskedName::parse(&t).ok(),
            _ => None,
        })?;
        let printed_card = mb.take(label::PRINTED_CARD, "printed_card", |v| match v {
            Value::Bool(b) => Some(b),
            _ => None,
        })?;
        if expires_at <= issued_at {
            return Err(VerifyError::BadClaim("exp"));
        }
        Ok(Claims {
            issuer,
            issued_at,
            expires_at,
            code_id,
            printed_card,
            holder: Holder {
                pseudonym,
                tier,
                badges,
                masked_name,
            },
        })
    }
}

/// A CBOR map's entries by integer label, each key at most once.
struct Fields(Vec<(i64, Value)>);

impl Fields {
    fn new(value: Value) -> Result<Fields, VerifyError> {
        let Value::Map(entries) = value else {
            return Err(VerifyError::NotCose);
        };
        let mut fields = Vec::with_capacity(entries.len());
        let mut texts = Vec::new();
        for (key, value) in entries {
            match key {
                Value::Integer(i) => {
                    let i = i64::try_from(i).map_err(|_| VerifyError::NotCose)?;
                    if fields.iter().any(|(k, _)| *k == i) {
                        return Err(VerifyError::NotCose);
                    }
                    fields.push((i, value));
                }
                // Text labels are allowed (and ignored), but not twice either.
                Value::Text(t) if !texts.contains(&t) => texts.push(t),
                _ => return Err(VerifyError::NotCose),
            }
        }
        Ok(Fields(fields))
    }

    fn take<T>(
        &mut self,
        label: i64,
        name: &'static str,
        parse: impl FnOnce(Value) -> Option<T>,
    ) -> Result<T, VerifyError> {
        let at = self
            .0
            .iter()
            .position(|(k, _)| *k == label)
            .ok_or(VerifyError::MissingClaim(name))?;
        let (_, value) = self.0.swap_remove(at);
        parse(value).ok_or(VerifyError::BadClaim(name))
    }
}

fn as_i64(v: Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i).ok(),
        _ => None,
    }
}

fn as_16_bytes(v: Value) -> Option<[u8; 16]> {
    match v {
        Value::Bytes(b) => <[u8; 16]>::try_from(b).ok(),
        _ => None,
    }
}

fn as_badges(v: Value) -> Option<Vec<Badge>> {
    let Value::Array(items) = v else { return None };
    if items.len() > BADGES_MAX {
        return None;
    }
    items
        .into_iter()
        .map(|item| match item {
            Value::Text(t) => Badge::parse(&t).ok(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_badges_and_names_are_parsed_not_trusted() {
        assert!(Issuer::parse("yuyao").is_ok());
        assert_eq!(Issuer::parse("").unwrap_err(), ClaimError::Issuer);
        assert_eq!(Issuer::parse("yu yao").unwrap_err(), ClaimError::Issuer);
        assert!(Issuer::parse(&"a".repeat(ISSUER_BYTES_MAX)).is_ok());
        assert!(Issuer::parse(&"a".repeat(ISSUER_BYTES_MAX + 1)).is_err());

        assert!(Badge::parse("green-card").is_ok());
        for bad in [
            "",
            "Green-Card",
            "green card",
            "绿卡",
            &"a".repeat(BADGE_CHARS_MAX + 1),
        ] {
            assert_eq!(Badge::parse(bad).unwrap_err(), ClaimError::Badge, "{bad:?}");
        }

        assert!(MaskedName::parse("张*明").is_ok());
        assert!(MaskedName::parse(&"名".repeat(MASKED_NAME_CHARS_MAX)).is_ok());
        for bad in ["", "张\n明", &"名".repeat(MASKED_NAME_CHARS_MAX + 1)] {
            assert_eq!(
                MaskedName::parse(bad).unwrap_err(),
                ClaimError::MaskedName,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_printed_card_lives_a_year_and_says_so_a_phone_code_ninety_seconds() {
        let holder = Holder {
            pseudonym: Pseudonym([1; 16]),
            tier: 2,
            badges: vec![],
            masked_name: MaskedName::parse("李*").expect("name"),
        };
        let issuer = Issuer::parse("yuyao").expect("issuer");
        let lifetimes = Lifetimes::default();
        let phone = Claims::issue(
            issuer.clone(),
            holder.clone(),
            Carrier::Phone,
            1000,
            &lifetimes,
        );
        assert_eq!((phone.expires_at, phone.printed_card), (1090, false));
        let card = Claims::issue(issuer, holder, Carrier::PrintedCard, 1000, &lifetimes);
        assert_eq!(
            (card.expires_at, card.printed_card),
            (1000 + 365 * 86400, true)
        );
        assert_ne!(phone.code_id, card.code_id, "every code has its own id");
    }
}
