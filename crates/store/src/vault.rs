//! Field encryption and keyed hashing of personal data.
//!
//! * Encryption: AES-256-GCM with a random 96-bit nonce; the stored value is `nonce ‖ ciphertext`
//!   and the row keeps the key id, so keys rotate without re-encrypting everything at once.
//!   The associated data binds a ciphertext to its field and row, so a value copied into another
//!   row or column fails to decrypt.
//! * Lookup: HMAC-SHA-256 under a separate key, so equal values can be found without the table
//!   ever holding them in clear.
//! * Tokens (sessions, API keys, invites) are random 256-bit values stored as SHA-256 digests;
//!   short codes (one-time sign-in codes) are keyed with the HMAC key as well.
//! * Staff passwords: Argon2id.

use crate::{Result, StoreError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Vault(Arc<Inner>);

struct Inner {
    current: String,
    ciphers: BTreeMap<String, Aes256Gcm>,
    hmac_key: SecretSlice<u8>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Vault(current key {}, {} keys)",
            self.0.current,
            self.0.ciphers.len()
        )
    }
}

impl Vault {
    /// `keys` maps key id → 32-byte key; `current` names the one new values are sealed with.
    pub fn new(current: &str, keys: &BTreeMap<String, Vec<u8>>, hmac_key: &[u8]) -> Result<Vault> {
        if hmac_key.len() < 32 {
            return Err(StoreError::Config(
                "hmac_key must be at least 32 bytes".into(),
            ));
        }
        let mut ciphers = BTreeMap::new();
        for (kid, key) in keys {
            let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| {
                StoreError::Config(format!("encryption key '{kid}' must be exactly 32 bytes"))
            })?;
            ciphers.insert(kid.clone(), cipher);
        }
        if !ciphers.contains_key(current) {
            return Err(StoreError::Config(format!(
                "current encryption key '{current}' is not configured"
            )));
        }
        Ok(Vault(Arc::new(Inner {
            current: current.to_string(),
            ciphers,
            hmac_key: SecretSlice::from(hmac_key.to_vec()),
        })))
    }

    /// A vault with random keys, for tests.
    pub fn random() -> Vault {
        let mut keys = BTreeMap::new();
        keys.insert("k1".to_string(), random_bytes(32));
        Vault::new("k1", &keys, &random_bytes(32)).expect("random keys are well-formed")
    }

    pub fn current_key_id(&self) -> &str {
        &self.0.current
    }

    pub fn seal(&self, aad: &str, plaintext: &str) -> Result<Vec<u8>> {
        self.seal_bytes(aad, plaintext.as_bytes())
    }

    pub fn open(&self, key_id: &str, aad: &str, sealed: &[u8]) -> Result<String> {
        String::from_utf8(self.open_bytes(key_id, aad, sealed)?)
            .map_err(|_| StoreError::Crypto("not UTF-8"))
    }

    /// AES-256-GCM under the current key: `nonce ‖ ciphertext ‖ tag`. The caller keeps the key id.
    pub fn seal_bytes(&self, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let cipher = &self.0.ciphers[&self.0.current];
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto("encryption failed"))?;
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub fn open_bytes(&self, key_id: &str, aad: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let cipher = self
            .0
            .ciphers
            .get(key_id)
            .ok_or(StoreError::Crypto("unknown key id"))?;
        if sealed.len() < 12 + 16 {
            return Err(StoreError::Crypto("ciphertext too short"));
        }
        let (nonce, ct) = sealed.split_at(12);
        let pt = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Crypto("authentication failed"))?;
        Ok(pt)
    }

    /// Keyed hash for lookups; `domain` separates kinds of value (phone, resident id, …).
    pub fn lookup_hash(&self, domain: &str, value: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.hmac_key.expose_secret())
            .expect("HMAC accepts any key length");
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// SHA-256 of a high-entropy token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut b);
    b
}

/// A random token as URL-safe hex (256 bits).
pub fn random_token() -> String {
    hex::encode(random_bytes(32))
}

/// Equal in constant time (for secrets and their digests).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| StoreError::Crypto("password hashing failed"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_field_binding() {
        let v = Vault::random();
        let sealed = v.seal("phone:c1", "13800138000").expect("seal");
        assert!(!sealed.windows(11).any(|w| w == b"13800138000"));
        assert_eq!(
            v.open("k1", "phone:c1", &sealed).expect("open"),
            "13800138000"
        );
        assert!(v.open("k1", "phone:c2", &sealed).is_err());
        assert!(v.open("k9", "phone:c1", &sealed).is_err());
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(v.open("k1", "phone:c1", &flipped).is_err());
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let mut keys = BTreeMap::new();
        keys.insert("k1".to_string(), vec![1u8; 32]);
        let old = Vault::new("k1", &keys, &[9u8; 32]).expect("vault");
        let sealed = old.seal("name:x", "张三").expect("seal");
        keys.insert("k2".to_string(), vec![2u8; 32]);
        let new = Vault::new("k2", &keys, &[9u8; 32]).expect("vault");
        assert_eq!(new.open("k1", "name:x", &sealed).expect("open"), "张三");
        assert_eq!(new.lookup_hash("phone", "1"), old.lookup_hash("phone", "1"));
        assert_ne!(new.lookup_hash("phone", "1"), new.lookup_hash("name", "1"));
    }

    #[test]
    fn passwords_verify_only_when_equal() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
