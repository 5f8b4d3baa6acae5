//! Idempotency keys: what a client sends in the `Idempotency-Key` header so that a retry of the
//! same request returns the original result, and how a key is scoped to the client that sent it
//! so that two clients' keys never collide. One rule for every kind of write (ledger entries,
//! redemptions, partners' deeds): `partner:<partner id>/<key>`.

use crate::FieldError;

/// Longest key a client may send, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 200;

/// A key as its client sent it: 1 to 200 printable ASCII characters without spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

/// Whose key it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner<'a> {
    /// A partner organisation, by its id.
    Partner(&'a str),
    /// A resident sending a page's form, by their id: the form's one-time token.
    Citizen(&'a str),
}

impl IdempotencyKey {
    /// The header's field name, as errors name it.
    pub const FIELD: &'static str = "Idempotency-Key";

    pub fn parse(raw: &str) -> Result<IdempotencyKey, FieldError> {
        if raw.is_empty()
            || raw.len() > IDEMPOTENCY_KEY_BYTES_MAX
            || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Self::invalid());
        }
        Ok(IdempotencyKey(raw.to_string()))
    }

    /// The refusal of a key that is not 1 to 200 printable ASCII characters (a header that is
    /// not even text included).
    pub fn invalid() -> FieldError {
        FieldError::new(
            Self::FIELD,
            "invalid_format",
            "1 to 200 printable ASCII characters without spaces",
        )
    }

    /// The refusal for a request that needs a key and sent none; `hint` says what it is unique
    /// to (e.g. "unique per deed, and reuse it when retrying").
    pub fn missing(hint: &str) -> FieldError {
        FieldError::new(
            Self::FIELD,
            "missing",
            format!("send an Idempotency-Key header, {hint}"),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as stored: scoped to its owner.
    pub fn scoped(&self, owner: KeyOwner<'_>) -> String {
        match owner {
            KeyOwner::Partner(id) => format!("partner:{id}/{}", self.0),
            KeyOwner::Citizen(id) => format!("citizen:{id}/{}", self.0),
        }
    }

    /// The client's own part of a stored key, for messages that quote it back.
    pub fn unscoped(stored: &str) -> &str {
        stored.split_once('/').map_or(stored, |(_, k)| k)
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_and_scoped_to_their_owner() {
        let k = IdempotencyKey::parse("scan-0001").expect("valid");
        assert_eq!(k.scoped(KeyOwner::Partner("p1")), "partner:p1/scan-0001");
        assert_eq!(
            IdempotencyKey::unscoped("partner:p1/scan-0001"),
            "scan-0001"
        );
        assert_eq!(IdempotencyKey::unscoped("partner:p1/a/b"), "a/b");
        for bad in ["", "has space", "é", &"x".repeat(201)] {
            let e = IdempotencyKey::parse(bad).unwrap_err();
            assert_eq!(
                (e.field.as_str(), e.code),
                ("Idempotency-Key", "invalid_format"),
                "{bad:?}"
            );
        }
        assert!(IdempotencyKey::parse(&"x".repeat(200)).is_ok());
        assert_eq!(IdempotencyKey::missing("unique per scan").code, "missing");
    }
}
