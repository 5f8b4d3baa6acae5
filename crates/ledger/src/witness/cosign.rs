//! C2SP `tlog-cosignature` with Ed25519 (`cosignature/v1`): a witness's key, its timestamped
//! signature line on a checkpoint, and the verifier that checks one.
//!
//! * vkey: `<name>+<key ID, 8 hex>+<base64(0x04 ‖ 32-byte Ed25519 public key)>`, the key ID
//!   being the first 4 bytes of `SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)`;
//! * private key: `PRIVATE+KEY+<name>+<key ID>+<base64(0x04 ‖ 32-byte seed)>`, the signed-note
//!   layout with the cosignature's type byte;
//! * signature line: `— <name> base64(key ID ‖ timestamp (u64, big-endian) ‖ Ed25519 signature)`,
//!   the signature over `cosignature/v1\ntime <timestamp>\n` followed by the checkpoint's body.

use base64::Engine;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand::RngCore;
use signed_note::Signature;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// The signature type byte of `cosignature/v1` in key IDs and vkeys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// A timestamp may not exceed 2^63 − 1 (tlog-cosignature).
const TIMESTAMP_MAX: u64 = i64::MAX as u64;
/// The longest witness name accepted.
pub const NAME_LEN_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    #[error(
        "the witness name must be 1 to {NAME_LEN_MAX} printable characters without spaces or '+'"
    )]
    BadName,
    #[error(
        "not a cosignature/v1 private key (PRIVATE+KEY+<name>+<id>+<base64 of 0x04 and 32 bytes>)"
    )]
    BadPrivateKey,
    #[error("not a cosignature/v1 verifier key (<name>+<id>+<base64 of 0x04 and 32 bytes>)")]
    BadVerifierKey,
}

fn valid_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name)
        && name.len() <= NAME_LEN_MAX
        && name.chars().all(|c| c.is_ascii_graphic())
}

fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let mut material = vec![ALG_COSIGNATURE_V1];
    material.extend_from_slice(public.as_bytes());
    signed_note::key_id(name, &material)
}

fn vkey_string(name: &str, public: &VerifyingKey) -> String {
    let mut material = vec![ALG_COSIGNATURE_V1];
    material.extend_from_slice(public.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, public),
        B64.encode(material)
    )
}

/// The message a `cosignature/v1` signs: two header lines, then the checkpoint's body (its
/// text up to and including the newline before the blank line).
pub fn cosigned_message(timestamp: u64, body: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(body);
    msg
}

/// A new witness key named `name` (e.g. `bank.yuyao.example/witness`): the private key string
/// (keep secret, file mode 0600) and the public vkey string (give it to the log's operator).
pub fn generate_witness_key(name: &str) -> Result<(String, String), CosignError> {
    if !valid_name(name) {
        return Err(CosignError::BadName);
    }
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let mut material = vec![ALG_COSIGNATURE_V1];
    material.extend_from_slice(&seed);
    let public = key.verifying_key();
    let skey = format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, &public),
        B64.encode(material)
    );
    Ok((skey, vkey_string(name, &public)))
}

/// A witness's signing key.
pub struct WitnessKey {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WitnessKey({})", self.name)
    }
}

impl WitnessKey {
    pub fn from_private(skey: &str) -> Result<WitnessKey, CosignError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(CosignError::BadPrivateKey)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CosignError::BadPrivateKey);
        };
        let material = B64
            .decode(material)
            .map_err(|_| CosignError::BadPrivateKey)?;
        let seed: [u8; 32] = match material.split_first() {
            Some((&ALG_COSIGNATURE_V1, seed)) => {
                seed.try_into().map_err(|_| CosignError::BadPrivateKey)?
            }
            _ => return Err(CosignError::BadPrivateKey),
        };
        if !valid_name(name) || id.len() != 8 {
            return Err(CosignError::BadPrivateKey);
        }
        let key = SigningKey::from_bytes(&seed);
        let expected = key_id(name, &key.verifying_key());
        if u32::from_str_radix(id, 16).ok() != Some(expected) {
            return Err(CosignError::BadPrivateKey);
        }
        Ok(WitnessKey {
            name: name.to_string(),
            id: expected,
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public verifier key (vkey, type 0x04).
    pub fn vkey(&self) -> String {
        vkey_string(&self.name, &self.key.verifying_key())
    }

    /// The signature line (`— name base64…\n`) cosigning the checkpoint `body` at `timestamp`
    /// (seconds since the Unix epoch).
    pub fn cosign(&self, body: &[u8], timestamp: u64) -> String {
        let timestamp = timestamp.min(TIMESTAMP_MAX);
        let sig = self.key.sign(&cosigned_message(timestamp, body));
        let mut blob = timestamp.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        // The name was checked when the key was read, so the line is well formed.
        Signature::new(self.name.clone(), self.id, blob)
            .map(|s| String::from_utf8_lossy(&s.to_bytes()).into_owned())
            .unwrap_or_default()
    }
}

/// Checks `cosignature/v1` signatures by one witness key; a [`signed_note::Verifier`], so that
/// a note's verification finds it by name and key ID.
#[derive(Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl std::fmt::Debug for CosignatureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CosignatureVerifier({}+{:08x})", self.name, self.id)
    }
}

impl CosignatureVerifier {
    pub fn new(vkey: &str) -> Result<CosignatureVerifier, CosignError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CosignError::BadVerifierKey);
        };
        let material = B64
            .decode(material)
            .map_err(|_| CosignError::BadVerifierKey)?;
        let public: [u8; 32] = match material.split_first() {
            Some((&ALG_COSIGNATURE_V1, k)) => {
                k.try_into().map_err(|_| CosignError::BadVerifierKey)?
            }
            _ => return Err(CosignError::BadVerifierKey),
        };
        let key = VerifyingKey::from_bytes(&public).map_err(|_| CosignError::BadVerifierKey)?;
        if !valid_name(name)
            || id.len() != 8
            || u32::from_str_radix(id, 16).ok() != Some(key_id(name, &key))
        {
            return Err(CosignError::BadVerifierKey);
        }
        Ok(CosignatureVerifier {
            name: name.to_string(),
            id: key_id(name, &key),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.id
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, sig)) = split_timestamped(sig) else {
            return false;
        };
        let Ok(sig) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key
            .verify_strict(
                &cosigned_message(ts, msg),
                &ed25519_dalek::Signature::from_bytes(&sig),
            )
            .is_ok()
    }
}

/// A `timestamped_signature`'s timestamp and signature, if the bytes are one (72 bytes, the
/// timestamp at most 2^63 − 1).
fn split_timestamped(sig: &[u8]) -> Option<(u64, &[u8])> {
    if sig.len() != 8 + 64 {
        return None;
    }
    let (ts, rest) = sig.split_at(8);
    let ts = u64::from_be_bytes(ts.try_into().ok()?);
    (ts <= TIMESTAMP_MAX).then_some((ts, rest))
}

/// The timestamp of a (verified) cosignature.
pub fn cosignature_time(sig: &Signature) -> Option<u64> {
    split_timestamped(sig.signature()).map(|(ts, _)| ts)
}
