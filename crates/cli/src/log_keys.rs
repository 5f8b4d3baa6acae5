//! The transparency log's signing keys: `DATA_DIR/log-keys.toml` (mode 0600), written by
//! `moralbank keys log-generate`, rotated by `moralbank keys log-rotate`. The file holds the
//! current private key and its verifier key, and the verifier keys of rotated keys, which stay
//! published so that older checkpoints can still be checked. Nothing here prints, logs or puts a
//! private key into an error message.

use crate::config::{toml_error, Config};
use crate::error::{CliError, Result};
use crate::keys::write_private_file;
use moralbank_ledger::{generate_log_key, LogKey};
use std::path::{Path, PathBuf};

pub const LOG_KEY_FILE_NAME: &str = "log-keys.toml";
/// The log's name in its checkpoints when none is given (a deployment names its own).
pub const DEFAULT_ORIGIN: &str = "moralbank.localhost/log";

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogKeyFile {
    /// The private key, in the note signer format (`PRIVATE+KEY+…`). Secret.
    private_key: String,
    /// Its verifier key, published at `/log/vkey`.
    pub vkey: String,
    /// Verifier keys of earlier signing keys, newest first.
    #[serde(default)]
    pub retired_vkeys: Vec<String>,
}

impl LogKeyFile {
    pub fn signer(&self) -> Result<LogKey> {
        LogKey::from_private(&self.private_key)
            .map_err(|_| CliError::Config("the log's private key is not valid".into()))
    }

    /// Every verifier key, current first (what `audit` accepts checkpoints under).
    pub fn all_vkeys(&self) -> Vec<String> {
        std::iter::once(self.vkey.clone())
            .chain(self.retired_vkeys.iter().cloned())
            .collect()
    }

    fn to_toml(&self) -> String {
        format!(
            "# Moral Bank transparency log keys, written by `moralbank keys log-generate`.\n\
             # private_key signs the public checkpoints: keep this file secret (mode 0600) and\n\
             # backed up. vkey is public (served at /log/vkey).\n{}",
            toml::to_string(self).unwrap_or_default()
        )
    }
}

pub fn path(config: &Config) -> PathBuf {
    config.data_dir.join(LOG_KEY_FILE_NAME)
}

/// A new key file for a log named `origin`.
pub fn generate(origin: &str) -> Result<LogKeyFile> {
    if origin.is_empty()
        || origin.len() > 100
        || !origin.bytes().all(|b| b.is_ascii_graphic() && b != b'+')
    {
        return Err(CliError::Usage(
            "--origin must be 1 to 100 printable ASCII characters without spaces or '+', e.g. yuyao.moralbank.example/log".into(),
        ));
    }
    let (private_key, vkey) = generate_log_key(origin);
    Ok(LogKeyFile {
        private_key,
        vkey,
        retired_vkeys: Vec::new(),
    })
}

pub fn write_new(path: &Path, origin: &str) -> Result<LogKeyFile> {
    let file = generate(origin)?;
    write_private_file(path, &file.to_toml(), false)?;
    Ok(file)
}

pub fn read(path: &Path) -> Result<LogKeyFile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::Config(format!(
                "no transparency log key: create one with `moralbank keys log-generate --origin <your.domain/log>` (writes {})",
                path.display()
            ))
        } else {
            CliError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }
        }
    })?;
    let file: LogKeyFile =
        toml::from_str(&text).map_err(|e| toml_error(&path.display().to_string(), &text, &e))?;
    file.signer()?;
    Ok(file)
}

/// The key file for `demo`: read it, or write a new one on the first run.
pub fn read_or_create(path: &Path) -> Result<LogKeyFile> {
    if path.exists() {
        read(path)
    } else {
        write_new(path, DEFAULT_ORIGIN)
    }
}

/// Replace the signing key with a new one for the same origin; the old verifier key is kept
/// as retired. Returns the new file.
pub fn rotate(path: &Path) -> Result<LogKeyFile> {
    let old = read(path)?;
    let origin = old.signer()?.origin().to_string();
    let mut new = generate(&origin)?;
    new.retired_vkeys = old.all_vkeys();
    write_private_file(path, &new.to_toml(), true)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_files_sign_rotate_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LOG_KEY_FILE_NAME);
        let first = write_new(&p, "test.example/log").unwrap();
        assert!(
            write_new(&p, "test.example/log").is_err(),
            "never overwrites"
        );
        let note = first
            .signer()
            .unwrap()
            .sign(0, moralbank_ledger::Hash([0; 32]))
            .unwrap();
        moralbank_ledger::verify_checkpoint(&note, &first.vkey).unwrap();
        let rotated = rotate(&p).unwrap();
        assert_ne!(rotated.vkey, first.vkey);
        assert_eq!(rotated.retired_vkeys, vec![first.vkey.clone()]);
        assert_eq!(
            read(&p).unwrap().all_vkeys(),
            vec![rotated.vkey.clone(), first.vkey]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(generate("has space").is_err());
        assert!(generate("").is_err());
    }
}
