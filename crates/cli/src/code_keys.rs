//! The moral code's issuer keys: `DATA_DIR/code-keys.toml` (mode 0600), written by
//! `moralbank keys code-generate` and rotated by `moralbank keys code-rotate`. The file holds
//! the current private key (a JWK) and the public keys of rotated ones with when they were
//! retired. A retired key stays published at `/.well-known/moral-code/keys` until every code it
//! signed has expired (the longest lifetime, a printed card's, plus the clock skew, after its
//! retirement), and is dropped from the file at the next rotation after that. Nothing here
//! prints or logs a private key.

use crate::config::{toml_error, Config};
use crate::error::{CliError, Result};
use crate::keys::write_private_file;
use moralbank_code::{IssuerKey, KeySet, PublicKey};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

pub const CODE_KEY_FILE_NAME: &str = "code-keys.toml";
/// The moral credit report's keys: the same format in their own file, so that a report and a
/// code are never signed by the same key (`moralbank keys credit-generate`).
pub const CREDIT_KEY_FILE_NAME: &str = "credit-keys.toml";
/// A report lives as long as its consent, at most 30 days; plus the clock skew.
pub const CREDIT_LONGEST_S: i64 = 30 * 86_400 + moralbank_code::DEFAULT_CLOCK_SKEW_S;
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeKeyFile {
    /// The current signing key, a private JWK (RFC 8037). Secret.
    private_jwk: String,
    /// Public keys (hex) of rotated signing keys from files written before retirement times were
    /// kept; treated as retired at the next rotation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retired_public_keys: Vec<String>,
    /// Rotated signing keys, newest first.
    #[serde(default)]
    retired: Vec<RetiredKey>,
}

#[derive(serde::Serialize, serde::Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RetiredKey {
    /// The public key, hex.
    public_key: String,
    /// When it stopped signing (unix seconds).
    retired_at: i64,
}

pub struct CodeKeys {
    pub signer: IssuerKey,
    /// The current public key and the retired ones: what verifiers accept.
    pub published: KeySet,
}

pub fn path(config: &Config) -> PathBuf {
    config.data_dir.join(CODE_KEY_FILE_NAME)
}

pub fn credit_path(config: &Config) -> PathBuf {
    config.data_dir.join(CREDIT_KEY_FILE_NAME)
}

fn to_toml(f: &CodeKeyFile) -> String {
    format!(
        "# Moral Bank moral-code issuer keys, written by `moralbank keys code-generate`.\n\
         # private_jwk signs every code: keep this file secret (mode 0600) and backed up.\n{}",
        toml::to_string(f).unwrap_or_default()
    )
}

/// The keys to publish at `now_s`: the signer, and the retired keys whose codes may still be
/// valid (`longest_s`: the longest code lifetime plus the clock skew).
fn load_at(f: &CodeKeyFile, now_s: i64, longest_s: i64) -> Result<CodeKeys> {
    let signer = IssuerKey::from_private_jwk(&f.private_jwk)
        .map_err(|_| CliError::Config("the moral code's private key is not valid".into()))?;
    let mut keys = vec![signer.public()];
    let live = f
        .retired
        .iter()
        .filter(|r| r.retired_at + longest_s >= now_s)
        .map(|r| &r.public_key);
    for hex_key in live.chain(&f.retired_public_keys) {
        let bytes: [u8; 32] = hex::decode(hex_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                CliError::Config("a retired moral-code public key is not 32 bytes of hex".into())
            })?;
        keys.push(
            PublicKey::from_bytes(&bytes)
                .map_err(|e| CliError::Config(format!("a retired moral-code public key: {e}")))?,
        );
    }
    let published =
        KeySet::new(keys).map_err(|e| CliError::Config(format!("moral-code keys: {e}")))?;
    Ok(CodeKeys { signer, published })
}

/// Every key the file holds (for a caller that does not know the lifetimes).
fn load(f: &CodeKeyFile) -> Result<CodeKeys> {
    load_at(f, i64::MIN / 2, 0)
}

pub fn write_new(path: &Path) -> Result<CodeKeys> {
    let f = CodeKeyFile {
        private_jwk: IssuerKey::generate()
            .to_private_jwk()
            .expose_secret()
            .to_string(),
        retired_public_keys: Vec::new(),
        retired: Vec::new(),
    };
    write_private_file(path, &to_toml(&f), false)?;
    load(&f)
}

fn read_file(path: &Path) -> Result<CodeKeyFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::Config(format!(
                "no moral-code keys: create them with `moralbank keys code-generate` (writes {})",
                path.display()
            ))
        } else {
            CliError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }
        }
    })?;
    toml::from_str(&text).map_err(|e| toml_error(&path.display().to_string(), &text, &e))
}

pub fn read(path: &Path) -> Result<CodeKeys> {
    load(&read_file(path)?)
}

/// The keys to publish now: retired keys whose codes have all expired (`longest_s` after their
/// retirement) are left out.
pub fn read_published(path: &Path, now_s: i64, longest_s: i64) -> Result<CodeKeys> {
    load_at(&read_file(path)?, now_s, longest_s)
}

pub fn read_or_create(path: &Path) -> Result<CodeKeys> {
    if path.exists() {
        read(path)
    } else {
        write_new(path)
    }
}

/// A new signing key; the old public key stays published (retired `now_s`) until the codes it
/// signed have expired (`longest_s`: the longest code lifetime plus the clock skew). Keys
/// retired longer ago than that are dropped from the file.
pub fn rotate(path: &Path, now_s: i64, longest_s: i64) -> Result<CodeKeys> {
    let old = read_file(path)?;
    let old_keys = load(&old)?;
    let mut retired = vec![RetiredKey {
        public_key: hex::encode(old_keys.signer.public().as_bytes()),
        retired_at: now_s,
    }];
    // Keys from a file without retirement times: count them as retired now (the safe side).
    retired.extend(old.retired_public_keys.iter().map(|k| RetiredKey {
        public_key: k.clone(),
        retired_at: now_s,
    }));
    retired.extend(
        old.retired
            .into_iter()
            .filter(|r| r.retired_at + longest_s >= now_s),
    );
    let f = CodeKeyFile {
        private_jwk: IssuerKey::generate()
            .to_private_jwk()
            .expose_secret()
            .to_string(),
        retired_public_keys: Vec::new(),
        retired,
    };
    write_private_file(path, &to_toml(&f), true)?;
    load_at(&f, now_s, longest_s)
}

/// `moralbank code verify CODE --keys KEYS.json`: offline, says exactly what failed.
pub fn verify(code: &str, keys_file: &Path, skew_s: i64) -> Result<()> {
    let text = std::fs::read_to_string(keys_file)
        .map_err(CliError::io(format!("reading {}", keys_file.display())))?;
    let keys = KeySet::from_jwks(&text).map_err(|e| {
        CliError::Usage(format!(
            "--keys: {} is not a moral-code key set: {e}",
            keys_file.display()
        ))
    })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let claims = moralbank_code::verify(code, &keys, now, skew_s)
        .map_err(|e| CliError::Check(format!("code NOT valid ({}): {e}", e.code())))?;
    println!("code valid");
    println!(
        "  issuer {}, tier {}, name {}",
        claims.issuer.as_str(),
        claims.holder.tier,
        claims.holder.masked_name.as_str()
    );
    let badges: Vec<&str> = claims.holder.badges.iter().map(|b| b.as_str()).collect();
    println!(
        "  badges: {}",
        if badges.is_empty() {
            "none".to_string()
        } else {
            badges.join(", ")
        }
    );
    println!(
        "  issued at {}, expires at {} (unix seconds){}",
        claims.issued_at,
        claims.expires_at,
        if claims.printed_card {
            "; a printed card (eligibility benefits only)"
        } else {
            ""
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_generated_private_and_rotation_keeps_old_codes_verifiable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(CODE_KEY_FILE_NAME);
        let first = write_new(&p).unwrap();
        assert!(write_new(&p).is_err(), "never overwrites");
        let (year, t0) = (365 * 86_400 + 30, 1_800_000_000);
        let rotated = rotate(&p, t0, year).unwrap();
        assert_eq!(rotated.published.keys().len(), 2);
        assert!(
            rotated.published.get(&first.signer.kid()).is_some(),
            "the old key stays published"
        );
        assert_ne!(rotated.signer.kid(), first.signer.kid());
        // Published until every code it signed has expired, then no more.
        let at = |t| read_published(&p, t, year).unwrap().published.keys().len();
        assert_eq!((at(t0 + year), at(t0 + year + 1)), (2, 1));
        // A later rotation drops keys retired too long ago from the file, keeps the rest.
        let second = rotate(&p, t0 + 100, year).unwrap();
        assert_eq!(second.published.keys().len(), 3);
        let third = rotate(&p, t0 + year + 50, year).unwrap();
        assert_eq!(
            third.published.keys().len(),
            3,
            "the first key is gone, two retired stay"
        );
        assert!(third.published.get(&first.signer.kid()).is_none());
        assert!(third.published.get(&second.signer.kid()).is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
