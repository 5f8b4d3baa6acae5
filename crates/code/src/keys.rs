//! Issuer keys: Ed25519 key pairs named by a key id, the private key as a JWK for the caller's
//! key file, and the public key set as a JWKS (RFC 7517, with RFC 8037's OKP keys) that a
//! scanner caches. A key id is derived from the public key, so a key set cannot name a key
//! falsely: `kid = base64url(SHA-256(public key)[..8])`.
//!
//! It must not do IO: reading and writing key files belongs to the caller.

use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// How many bytes of the public key's SHA-256 name it.
pub const KID_BYTES: usize = 8;
/// Keys a set may hold: the current key and those whose codes may not have expired yet.
pub const KEYS_MAX: usize = 32;
/// The largest JWKS text accepted (a set of `KEYS_MAX` keys is about 5 KiB).
pub const JWKS_BYTES_MAX: usize = 64 * 1024;

/// A key id: the first 8 bytes of SHA-256 over the 32-byte public key. In a code's COSE header
/// it is those bytes; in a JWKS, their base64url form (11 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; KID_BYTES]);

impl Kid {
    pub(crate) fn of(public: &VerifyingKey) -> Kid {
        let digest = Sha256::digest(public.as_bytes());
        let mut kid = [0; KID_BYTES];
        kid.copy_from_slice(&digest[..KID_BYTES]);
        Kid(kid)
    }

    /// The kid from its base64url text, as in a JWK.
    pub fn parse(text: &str) -> Option<Kid> {
        let bytes = B64URL.decode(text).ok()?;
        <[u8; KID_BYTES]>::try_from(bytes).ok().map(Kid)
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&B64URL.encode(self.0))
    }
}

impl fmt::Debug for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kid({self})")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key text is not JSON of the expected shape")]
    NotJson,
    #[error(
        "the key set is larger than {JWKS_BYTES_MAX} bytes or holds more than {KEYS_MAX} keys"
    )]
    TooLarge,
    #[error("a key is not an Ed25519 key (kty \"OKP\", crv \"Ed25519\", alg \"EdDSA\")")]
    NotEd25519,
    #[error("a key's \"x\" is not a valid Ed25519 public key in base64url")]
    BadPublicKey,
    #[error("the private key's \"d\" is not 32 bytes of base64url")]
    BadPrivateKey,
    #[error("the private key's \"x\" is not the public key of its \"d\"")]
    PublicKeyMismatch,
    #[error("a key's \"kid\" is missing or is not the key id of its public key ({expected})")]
    KidMismatch { expected: Kid },
    #[error("two keys in the set have the same kid {0}")]
    DuplicateKid(Kid),
    #[error("the public key set holds a private key (\"d\"): do not publish it")]
    PrivateKeyInSet,
    #[error("the key set holds no Ed25519 signing key")]
    NoKeys,
}

/// An issuer's signing key. It signs codes; its [`PublicKey`] verifies them.
pub struct IssuerKey {
    signing: SigningKey,
    kid: Kid,
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerKey({})", self.kid)
    }
}

impl IssuerKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> IssuerKey {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        IssuerKey::from_seed(&seed)
    }

    /// The key of a 32-byte Ed25519 seed (RFC 8032's private key). For test vectors.
    pub fn from_seed(seed: &[u8; 32]) -> IssuerKey {
        let signing = SigningKey::from_bytes(seed);
        let kid = Kid::of(&signing.verifying_key());
        IssuerKey { signing, kid }
    }

    pub fn kid(&self) -> Kid {
        self.kid
    }

    pub fn public(&self) -> PublicKey {
        PublicKey {
            key: self.signing.verifying_key(),
            kid: self.kid,
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    /// The private key as an RFC 8037 JWK with `d`, for the caller's key file (mode 0600).
    pub fn to_private_jwk(&self) -> SecretString {
        let mut jwk = Jwk::public(&self.public());
        jwk.d = Some(B64URL.encode(self.signing.to_bytes()));
        SecretString::from(serde_json::to_string_pretty(&jwk).expect("a JWK always serialises"))
    }

    /// Read a key written by [`IssuerKey::to_private_jwk`]: `x` and `kid`, when present, must
    /// belong to `d`.
    pub fn from_private_jwk(text: &str) -> Result<IssuerKey, KeyError> {
        let jwk: Jwk = serde_json::from_str(text).map_err(|_| KeyError::NotJson)?;
        if !jwk.is_ed25519() {
            return Err(KeyError::NotEd25519);
        }
        let seed = jwk
            .d
            .as_deref()
            .and_then(|d| B64URL.decode(d).ok())
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .ok_or(KeyError::BadPrivateKey)?;
        let key = IssuerKey::from_seed(&seed);
        if let Some(x) = &jwk.x {
            if *x != B64URL.encode(key.signing.verifying_key().as_bytes()) {
                return Err(KeyError::PublicKeyMismatch);
            }
        }
        if jwk
            .kid
            .as_deref()
            .is_some_and(|kid| kid != key.kid.to_string())
        {
            return Err(KeyError::KidMismatch { expected: key.kid });
        }
        Ok(key)
    }
}

/// A public key that verifies codes, with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    kid: Kid,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.kid)
    }
}

impl PublicKey {
    /// The key of 32 public key bytes; weak (small-order) points are refused.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::BadPublicKey)?;
        if key.is_weak() {
            return Err(KeyError::BadPublicKey);
        }
        Ok(PublicKey {
            kid: Kid::of(&key),
            key,
        })
    }

    pub fn kid(&self) -> Kid {
        self.kid
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Strict verification (RFC 8032 §5.1.7 with canonical `S`), as the format requires.
    pub(crate) fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        self.key.verify_strict(message, signature).is_ok()
    }
}

/// The public keys a verifier accepts: at most [`KEYS_MAX`], each kid once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl KeySet {
    pub fn new(keys: Vec<PublicKey>) -> Result<KeySet, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        if keys.len() > KEYS_MAX {
            return Err(KeyError::TooLarge);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(KeyError::DuplicateKid(key.kid));
            }
        }
        Ok(KeySet { keys })
    }

    pub fn get(&self, kid: &Kid) -> Option<&PublicKey> {
        self.keys.iter().find(|k| k.kid == *kid)
    }

    pub fn keys(&self) -> &[PublicKey] {
        &self.keys
    }

    /// The set as a JWKS document (`{"keys":[…]}`), as served at
    /// `/.well-known/moral-code/keys`.
    pub fn to_jwks(&self) -> String {
        let set = Jwks {
            keys: self.keys.iter().map(Jwk::public).collect(),
        };
        serde_json::to_string_pretty(&set).expect("a JWKS always serialises")
    }

    /// Read a JWKS. Keys of another type or use (not OKP/Ed25519/EdDSA/sig) are skipped, as
    /// RFC 7517 §5 asks; an Ed25519 key that is malformed, whose kid is not its own, or that
    /// carries a private part is an error, and so is a set with no usable key.
    pub fn from_jwks(text: &str) -> Result<KeySet, KeyError> {
        if text.len() > JWKS_BYTES_MAX {
            return Err(KeyError::TooLarge);
        }
        let set: Jwks = serde_json::from_str(text).map_err(|_| KeyError::NotJson)?;
        let mut keys = Vec::new();
        for jwk in set.keys.iter().filter(|jwk| jwk.is_ed25519()) {
            if jwk.d.is_some() {
                return Err(KeyError::PrivateKeyInSet);
            }
            let x = jwk
                .x
                .as_deref()
                .and_then(|x| B64URL.decode(x).ok())
                .and_then(|x| <[u8; 32]>::try_from(x).ok())
                .ok_or(KeyError::BadPublicKey)?;
            let key = PublicKey::from_bytes(&x)?;
            if jwk.kid.as_deref() != Some(key.kid.to_string().as_str()) {
                return Err(KeyError::KidMismatch { expected: key.kid });
            }
            keys.push(key);
        }
        KeySet::new(keys)
    }
}

#[derive(Serialize, Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

/// One JWK as RFC 8037 writes an Ed25519 key. Other members a JWK may have are ignored.
#[derive(Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
}

impl Jwk {
    fn public(key: &PublicKey) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: Some("Ed25519".into()),
            x: Some(B64URL.encode(key.as_bytes())),
            d: None,
            kid: Some(key.kid.to_string()),
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
        }
    }

    /// An Ed25519 signing key: `alg` and `use`, when present, must say so too.
    fn is_ed25519(&self) -> bool {
        self.kty == "OKP"
            && self.crv.as_deref() == Some("Ed25519")
            && self.alg.as_deref().is_none_or(|a| a == "EdDSA")
            && self.use_.as_deref().is_none_or(|u| u == "sig")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// RFC 8032 §7.1, test 1.
    const RFC8032_SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn rfc8032_key() -> IssuerKey {
        let seed: [u8; 32] = hex::decode(RFC8032_SEED)
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        IssuerKey::from_seed(&seed)
    }

    #[test]
    fn the_kid_is_the_first_eight_bytes_of_the_public_keys_sha256() {
        let key = rfc8032_key();
        assert_eq!(hex::encode(key.public().as_bytes()), RFC8032_PUBLIC);
        let digest = Sha256::digest(hex::decode(RFC8032_PUBLIC).expect("hex"));
        assert_eq!(key.kid().0, digest[..8]);
        assert_eq!(key.kid().to_string().len(), 11);
        assert_eq!(Kid::parse(&key.kid().to_string()), Some(key.kid()));
    }

    #[test]
    fn a_jwks_round_trips_and_is_rfc_8037_shaped() {
        let (a, b) = (IssuerKey::generate(), IssuerKey::generate());
        let set = KeySet::new(vec![a.public(), b.public()]).expect("set");
        let jwks = set.to_jwks();
        let json: serde_json::Value = serde_json::from_str(&jwks).expect("json");
        let first = &json["keys"][0];
        assert_eq!(first["kty"], "OKP");
        assert_eq!(first["crv"], "Ed25519");
        assert_eq!(first["alg"], "EdDSA");
        assert_eq!(first["use"], "sig");
        assert_eq!(first["kid"], a.kid().to_string());
        assert_eq!(
            first["x"],
            B64URL.encode(a.public().as_bytes()),
            "x is unpadded base64url"
        );
        assert!(
            first.get("d").is_none(),
            "no private part in the public set"
        );
        assert_eq!(KeySet::from_jwks(&jwks).expect("parses"), set);
    }

    #[test]
    fn a_private_jwk_round_trips_and_never_shows_in_debug() {
        let key = IssuerKey::generate();
        let text = key.to_private_jwk();
        let back = IssuerKey::from_private_jwk(text.expose_secret()).expect("parses");
        assert_eq!(back.kid(), key.kid());
        assert_eq!(back.signing.to_bytes(), key.signing.to_bytes());
        assert!(!format!("{key:?}").contains(&B64URL.encode(key.signing.to_bytes())));
        assert_eq!(format!("{key:?}"), format!("IssuerKey({})", key.kid()));
    }

    #[test]
    fn a_private_jwk_whose_parts_disagree_is_refused() {
        let key = IssuerKey::generate();
        let other = IssuerKey::generate();
        let mut jwk: serde_json::Value =
            serde_json::from_str(key.to_private_jwk().expose_secret()).expect("json");
        let good = jwk.clone();
        jwk["x"] = B64URL.encode(other.public().as_bytes()).into();
        assert_eq!(
            IssuerKey::from_private_jwk(&jwk.to_string()).unwrap_err(),
            KeyError::PublicKeyMismatch
        );
        let mut jwk = good.clone();
        jwk["kid"] = other.kid().to_string().into();
        assert_eq!(
            IssuerKey::from_private_jwk(&jwk.to_string()).unwrap_err(),
            KeyError::KidMismatch {
                expected: key.kid()
            }
        );
        let mut jwk = good.clone();
        jwk["d"] = "AAAA".into();
        assert_eq!(
            IssuerKey::from_private_jwk(&jwk.to_string()).unwrap_err(),
            KeyError::BadPrivateKey
        );
        let mut jwk = good;
        jwk["crv"] = "X25519".into();
        assert_eq!(
            IssuerKey::from_private_jwk(&jwk.to_string()).unwrap_err(),
            KeyError::NotEd25519
        );
        assert_eq!(
            IssuerKey::from_private_jwk("PRIVATE").unwrap_err(),
            KeyError::NotJson
        );
    }

    #[test]
    fn a_jwks_skips_foreign_keys_and_refuses_bad_ed25519_ones() {
        let key = IssuerKey::generate();
        let ours = serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(key.public().as_bytes()),
            "kid": key.kid().to_string(), "alg": "EdDSA", "use": "sig"
        });
        let rsa = serde_json::json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r1"});
        let x25519 = serde_json::json!({"kty": "OKP", "crv": "X25519", "x": "AAAA"});
        let set = |keys: Vec<serde_json::Value>| serde_json::json!({ "keys": keys }).to_string();

        let parsed = KeySet::from_jwks(&set(vec![rsa.clone(), ours.clone(), x25519]))
            .expect("foreign keys skipped");
        assert_eq!(parsed.keys().len(), 1);
        assert!(parsed.get(&key.kid()).is_some());

        assert_eq!(
            KeySet::from_jwks(&set(vec![rsa])).unwrap_err(),
            KeyError::NoKeys
        );
        assert_eq!(
            KeySet::from_jwks(&set(vec![ours.clone(), ours.clone()])).unwrap_err(),
            KeyError::DuplicateKid(key.kid())
        );
        let mut wrong_kid = ours.clone();
        wrong_kid["kid"] = "AAAAAAAAAAA".into();
        assert_eq!(
            KeySet::from_jwks(&set(vec![wrong_kid])).unwrap_err(),
            KeyError::KidMismatch {
                expected: key.kid()
            }
        );
        let mut no_kid = ours.clone();
        no_kid.as_object_mut().expect("object").remove("kid");
        assert!(matches!(
            KeySet::from_jwks(&set(vec![no_kid])).unwrap_err(),
            KeyError::KidMismatch { .. }
        ));
        let mut short_x = ours.clone();
        short_x["x"] = "AAAA".into();
        assert_eq!(
            KeySet::from_jwks(&set(vec![short_x])).unwrap_err(),
            KeyError::BadPublicKey
        );
        let mut leaked = ours.clone();
        leaked["d"] = "AAAA".into();
        assert_eq!(
            KeySet::from_jwks(&set(vec![leaked])).unwrap_err(),
            KeyError::PrivateKeyInSet
        );
        assert_eq!(KeySet::from_jwks("[1, 2]").unwrap_err(), KeyError::NotJson);
        let huge = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "a".repeat(JWKS_BYTES_MAX));
        assert_eq!(KeySet::from_jwks(&huge).unwrap_err(), KeyError::TooLarge);
    }

    #[test]
    fn a_small_order_public_key_is_refused() {
        // The identity point (y = 1): every signature "verifies" under it without `is_weak`.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::from_bytes(&identity).unwrap_err(),
            KeyError::BadPublicKey
        );
    }
}
