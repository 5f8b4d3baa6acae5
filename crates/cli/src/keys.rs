//! Where the encryption keys come from, and making new ones.
//!
//! Keys come from the `[crypto]` configuration when it is set, otherwise from the key file
//! `DATA_DIR/keys.toml` (a `[crypto]` table, the same shape as in the configuration). Nothing
//! here ever prints, logs or puts a key into an error message.

use crate::config::{toml_error, Config, CryptoConfig, HexSecret};
use crate::error::{CliError, Result};
use moralbank_store::Vault;
use rand::RngCore;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const KEY_FILE_NAME: &str = "keys.toml";
pub const ENCRYPTION_KEY_BYTES: usize = 32;
pub const HMAC_KEY_BYTES: usize = 32;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    crypto: CryptoConfig,
}

pub fn key_file_path(config: &Config) -> PathBuf {
    config.data_dir.join(KEY_FILE_NAME)
}

/// The vault for `serve` and `admin`: configured keys, else the key file, else a clear error.
pub fn load_vault(config: &Config) -> Result<Vault> {
    if let Some(crypto) = configured(&config.crypto)? {
        return build_vault(crypto, "configuration [crypto]");
    }
    let path = key_file_path(config);
    if !path.exists() {
        return Err(CliError::Config(format!(
            "no encryption keys configured: set [crypto] hmac_key and [crypto.keys] in the config \
             file (or MORALBANK_CRYPTO__HMAC_KEY and MORALBANK_CRYPTO__KEYS__K1), or create the key \
             file with `moralbank keys generate --out {}`",
            path.display()
        )));
    }
    build_vault(&read_key_file(&path)?, &path.display().to_string())
}

/// The vault for `demo`: like [`load_vault`], but writes a new key file when there is none.
/// Returns the path of the key file it wrote, if it wrote one.
pub fn load_or_create_vault(config: &Config) -> Result<(Vault, Option<PathBuf>)> {
    let path = key_file_path(config);
    if configured(&config.crypto)?.is_some() || path.exists() {
        return Ok((load_vault(config)?, None));
    }
    write_private_file(&path, &generate_key_file(), false)?;
    Ok((load_vault(config)?, Some(path)))
}

/// `Some` when the configuration holds keys, `None` when it holds none, an error when half.
fn configured(crypto: &CryptoConfig) -> Result<Option<&CryptoConfig>> {
    match (crypto.keys.is_empty(), crypto.hmac_key.is_none()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(crypto)),
        (true, false) => Err(CliError::Config(
            "crypto.hmac_key is set but [crypto.keys] is empty: configure both, or neither to use the key file".into(),
        )),
        (false, true) => Err(CliError::Config(
            "[crypto.keys] is set but crypto.hmac_key is not: configure both, or neither to use the key file".into(),
        )),
    }
}

fn read_key_file(path: &Path) -> Result<CryptoConfig> {
    warn_if_readable_by_others(path);
    let text = std::fs::read_to_string(path)
        .map_err(CliError::io(format!("key file {}", path.display())))?;
    let file: KeyFile = toml::from_str(&text)
        .map_err(|e| toml_error(&format!("key file {}", path.display()), &text, &e))?;
    match configured(&file.crypto) {
        Ok(Some(_)) => Ok(file.crypto),
        Ok(None) => Err(CliError::Config(format!(
            "key file {}: it holds no keys",
            path.display()
        ))),
        Err(e) => Err(CliError::Config(format!(
            "key file {}: {e}",
            path.display()
        ))),
    }
}

fn build_vault(crypto: &CryptoConfig, source: &str) -> Result<Vault> {
    let mut keys = BTreeMap::new();
    for (kid, hex) in &crypto.keys {
        keys.insert(
            kid.clone(),
            decode(hex, &format!("crypto.keys.{kid}"), source)?,
        );
    }
    let hmac = match &crypto.hmac_key {
        Some(hex) => decode(hex, "crypto.hmac_key", source)?,
        None => {
            return Err(CliError::Config(format!(
                "{source}: crypto.hmac_key is missing"
            )))
        }
    };
    Vault::new(&crypto.current_key_id, &keys, &hmac)
        .map_err(|e| CliError::Config(format!("{source}: {e}")))
}

/// Decode without quoting the input: the hex crate's message would show a character of it.
fn decode(hex: &HexSecret, what: &str, source: &str) -> Result<Vec<u8>> {
    hex::decode(hex.expose().trim())
        .map_err(|_| CliError::Config(format!("{source}: {what} is not valid hex")))
}

/// A new key file: one encryption key `k1` and an HMAC key, from the operating system's RNG.
pub fn generate_key_file() -> String {
    let mut key = [0u8; ENCRYPTION_KEY_BYTES];
    let mut hmac = [0u8; HMAC_KEY_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut key);
    rand::rngs::OsRng.fill_bytes(&mut hmac);
    format!(
        "# Moral Bank encryption keys, written by `moralbank keys generate`.\n\
         # Keep this file secret and backed up: without it the encrypted personal data cannot be\n\
         # read. Use it as DATA_DIR/keys.toml, or copy the [crypto] table into the configuration.\n\
         [crypto]\n\
         current_key_id = \"k1\"\n\
         hmac_key = \"{}\"\n\
         \n\
         [crypto.keys]\n\
         k1 = \"{}\"\n",
        hex::encode(hmac),
        hex::encode(key)
    )
}

/// Write a file only its owner can read (0600 on Unix), creating its folder. Refuses to replace
/// an existing file unless `replace`: losing a key file loses the data sealed with it.
pub fn write_private_file(path: &Path, contents: &str, replace: bool) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(CliError::io(format!("creating {}", dir.display())))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if replace {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage(format!(
                "{} already exists; refusing to overwrite it",
                path.display()
            ))
        } else {
            CliError::Io {
                context: format!("writing {}", path.display()),
                source: e,
            }
        }
    })?;
    #[cfg(unix)]
    {
        // A replaced file keeps its old mode; narrow it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(CliError::io(format!(
                "setting permissions of {}",
                path.display()
            )))?;
    }
    file.write_all(contents.as_bytes())
        .map_err(CliError::io(format!("writing {}", path.display())))?;
    file.sync_all()
        .map_err(CliError::io(format!("writing {}", path.display())))
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "key file is readable by other users; chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_file_opens_a_vault_and_is_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let (vault, written) = load_or_create_vault(&config).expect("creates keys");
        assert_eq!(written.as_deref(), Some(key_file_path(&config).as_path()));
        assert_eq!(vault.current_key_id(), "k1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_file_path(&config))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The second run reuses the same keys: a lookup hash comes out the same.
        let (again, written) = load_or_create_vault(&config).expect("reuses keys");
        assert!(written.is_none());
        assert_eq!(
            vault.lookup_hash("phone", "13900000000"),
            again.lookup_hash("phone", "13900000000")
        );
    }

    #[test]
    fn serve_without_keys_is_a_clear_error_and_an_existing_key_file_is_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let e = load_vault(&config).expect_err("must fail").to_string();
        assert!(
            e.contains("no encryption keys configured") && e.contains("keys generate"),
            "{e}"
        );
        let path = key_file_path(&config);
        write_private_file(&path, &generate_key_file(), false).expect("writes");
        let e = write_private_file(&path, "x", false)
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("already exists"), "{e}");
        assert!(load_vault(&config).is_ok());
    }

    #[test]
    fn bad_keys_are_refused_without_showing_them() {
        let mut config = Config::default();
        let short = "ab".repeat(16);
        config.crypto.hmac_key = Some(HexSecret::new("ab".repeat(32)));
        config
            .crypto
            .keys
            .insert("k1".into(), HexSecret::new(short.clone()));
        let e = load_vault(&config).expect_err("must fail").to_string();
        assert!(e.contains("32 bytes") && !e.contains(&short), "{e}");
        config
            .crypto
            .keys
            .insert("k1".into(), HexSecret::new("zz".repeat(32)));
        let e = load_vault(&config).expect_err("must fail").to_string();
        assert!(e.contains("not valid hex") && !e.contains("zz"), "{e}");
        config.crypto.hmac_key = None;
        let e = load_vault(&config).expect_err("must fail").to_string();
        assert!(e.contains("hmac_key is not"), "{e}");
    }
}
