//! Evidence files (photos, PDFs) of deed reports: limited in count and size, their type read
//! from their first bytes (never from the name or the browser's claim), stored outside the
//! database under their SHA-256, and served only to those who may read the deed.

use crate::error::AppError;
use moralbank_store::evaluation::Evidence;
use moralbank_store::Vault;
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FILES_MAX: usize = domain::deed::EVIDENCE_FILES_MAX;
pub const FILE_BYTES_MAX: usize = 5 * 1024 * 1024;
/// The largest upload request: the files and the form around them.
pub const UPLOAD_BYTES_MAX: usize = FILES_MAX * FILE_BYTES_MAX + 64 * 1024;

/// The content type the bytes are, if it is one we accept.
pub fn sniff(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else if b.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The file's name on disk: a keyed hash of its SHA-256, so that the folder does not tell who
/// holds a copy of a known photo whether it is there.
fn file_name(vault: &Vault, sha: &str) -> String {
    hex::encode(vault.lookup_hash("evidence-file", sha))
}

/// Associated data of a file's ciphertext: it opens only as the file it was written for.
fn aad(sha: &str) -> String {
    format!("evidence:{sha}")
}

/// What is written: `key id length (1 byte) ‖ key id ‖ AES-256-GCM(nonce ‖ ciphertext ‖ tag)`.
fn seal(vault: &Vault, sha: &str, bytes: &[u8]) -> Result<Vec<u8>, AppError> {
    let kid = vault.current_key_id().as_bytes();
    let kid_len = u8::try_from(kid.len())
        .map_err(|_| AppError::Internal("encryption key id longer than 255 bytes".into()))?;
    let sealed = vault.seal_bytes(&aad(sha), bytes)?;
    let mut out = Vec::with_capacity(1 + kid.len() + sealed.len());
    out.push(kid_len);
    out.extend_from_slice(kid);
    out.extend_from_slice(&sealed);
    Ok(out)
}

fn open(vault: &Vault, sha: &str, file: &[u8]) -> Result<Vec<u8>, AppError> {
    let bad = || AppError::Internal(format!("evidence file for {sha} does not open"));
    let (&n, rest) = file.split_first().ok_or_else(bad)?;
    let (kid, sealed) = rest.split_at_checked(usize::from(n)).ok_or_else(bad)?;
    let kid = std::str::from_utf8(kid).map_err(|_| bad())?;
    vault.open_bytes(kid, &aad(sha), sealed).map_err(|_| bad())
}

/// The evidence folder, made readable by the server's user alone (0700).
async fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = tokio::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir).await
}

/// A new file readable by the server's user alone (0600), whatever the umask allows.
async fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut o = tokio::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    let mut f = o.open(path).await?;
    f.write_all(bytes).await?;
    // Written through before the caller renames it (tokio's file may still hold the write).
    f.flush().await
}

/// Check and store one file, encrypted; the same bytes stored twice are one file.
pub async fn store(dir: &Path, vault: &Vault, bytes: &[u8]) -> Result<Evidence, AppError> {
    if bytes.is_empty() {
        return Err(AppError::invalid(
            "evidence",
            "empty_file",
            "the file is empty",
        ));
    }
    if bytes.len() > FILE_BYTES_MAX {
        return Err(AppError::invalid(
            "evidence",
            "file_too_large",
            "each file at most 5 MiB",
        ));
    }
    let content_type = sniff(bytes).ok_or_else(|| {
        AppError::invalid(
            "evidence",
            "file_type",
            "photos (JPEG, PNG, WebP) or PDF only",
        )
    })?;
    let sha = hex::encode(Sha256::digest(bytes));
    private_dir(dir)
        .await
        .map_err(|e| AppError::Internal(format!("evidence folder: {e}")))?;
    let path = dir.join(file_name(vault, &sha));
    if tokio::fs::metadata(&path).await.is_err() {
        // Write aside, then rename: a reader never sees half a file.
        let tmp = dir.join(format!(".{sha}.{}", domain::new_id()));
        write_private(&tmp, &seal(vault, &sha, bytes)?)
            .await
            .map_err(|e| AppError::Internal(format!("storing evidence: {e}")))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| AppError::Internal(format!("storing evidence: {e}")))?;
    }
    Ok(Evidence {
        sha256: sha,
        content_type: content_type.to_string(),
        bytes: bytes.len() as i64,
    })
}

/// Add one uploaded file to a report's `files`: an empty part (an empty file input) is
/// skipped, more than [`FILES_MAX`] files is an error, the file is checked and stored.
pub async fn add_upload(
    dir: &Path,
    vault: &Vault,
    files: &mut Vec<Evidence>,
    bytes: &[u8],
) -> Result<(), AppError> {
    if bytes.is_empty() {
        return Ok(());
    }
    if files.len() == FILES_MAX {
        return Err(AppError::invalid(
            "evidence",
            "too_many",
            &format!("at most {FILES_MAX} files"),
        ));
    }
    files.push(store(dir, vault, bytes).await?);
    Ok(())
}

/// A multipart upload that broke off or outgrew its limit.
pub fn upload_failed<E>(_: E) -> AppError {
    AppError::invalid(
        "evidence",
        "upload_failed",
        "the upload was interrupted or is too large",
    )
}

fn is_sha(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The bytes of a stored file, decrypted and checked against their hash.
pub async fn read(dir: &Path, vault: &Vault, sha: &str) -> Result<Vec<u8>, AppError> {
    if !is_sha(sha) {
        return Err(AppError::NotFound("evidence"));
    }
    let bytes = match tokio::fs::read(dir.join(file_name(vault, sha))).await {
        Ok(file) => open(vault, sha, &file)?,
        // Written before files were encrypted: plain bytes under their hash (checked below).
        Err(_) => tokio::fs::read(dir.join(sha))
            .await
            .map_err(|_| AppError::NotFound("evidence"))?,
    };
    if hex::encode(Sha256::digest(&bytes)) != sha {
        return Err(AppError::Internal(format!(
            "evidence file {sha} does not match its hash"
        )));
    }
    Ok(bytes)
}

/// Delete the files of these hashes (a withdrawal's evidence no deed refers to any more).
pub async fn remove(dir: &Path, vault: &Vault, shas: &[String]) {
    for sha in shas.iter().filter(|s| is_sha(s)) {
        for name in [file_name(vault, sha), sha.clone()] {
            match tokio::fs::remove_file(dir.join(name)).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!(error = %e, "removing an evidence file failed")
                }
                _ => {}
            }
        }
    }
}

/// A file younger than this may belong to a report still being saved: the sweep leaves it.
pub const SWEEP_MIN_AGE_S: u64 = 3600;

/// Remove every file in the folder that no deed refers to (a refused report's uploads, a
/// deleted reference) and that is older than `min_age` (so an upload whose report is still
/// being saved survives), as well as left-over temporary files. Returns how many it removed.
pub async fn sweep(
    dir: &Path,
    vault: &Vault,
    referenced: &std::collections::HashSet<String>,
    min_age: std::time::Duration,
) -> Result<usize, AppError> {
    // Referenced files under their keyed name, and older plain files under their hash.
    let keep: std::collections::HashSet<String> = referenced
        .iter()
        .flat_map(|s| [file_name(vault, s), s.clone()])
        .collect();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(AppError::Internal(format!("evidence folder: {e}"))),
    };
    let mut removed = 0;
    while let Some(e) = entries
        .next_entry()
        .await
        .map_err(|e| AppError::Internal(format!("evidence folder: {e}")))?
    {
        let name = e.file_name().to_string_lossy().into_owned();
        if keep.contains(&name) {
            continue;
        }
        let old_enough = e
            .metadata()
            .await
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if old_enough && tokio::fs::remove_file(e.path()).await.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

impl crate::AppState {
    /// A resident withdraws: their personal data goes in one transaction, then the evidence
    /// files of their deeds that no other deed refers to.
    pub async fn withdraw(&self, citizen_id: &str) -> Result<(), moralbank_store::StoreError> {
        let gone = self.store.registry().withdraw(citizen_id).await?;
        remove(&self.evidence_dir, self.store.vault(), &gone).await;
        Ok(())
    }

    /// Remove evidence files no deed refers to that are older than an hour (the uploads of a
    /// refused report, for one); the server runs this hourly. Returns how many went.
    pub async fn sweep_evidence(&self) -> Result<usize, crate::error::AppError> {
        let referenced = self.store.registry().evidence_hashes().await?;
        sweep(
            &self.evidence_dir,
            self.store.vault(),
            &referenced,
            std::time::Duration::from_secs(SWEEP_MIN_AGE_S),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7"), Some("application/pdf"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
    }

    #[tokio::test]
    async fn stored_files_are_encrypted_named_by_a_keyed_hash_and_checked_on_reading() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::random();
        let png = b"\x89PNG\r\n\x1a\n0123-a-photo-of-a-good-deed";
        let e = store(dir.path(), &vault, png).await.unwrap();
        assert_eq!(e.content_type, "image/png");
        assert_eq!(
            store(dir.path(), &vault, png).await.unwrap(),
            e,
            "same bytes, same file"
        );
        assert_eq!(read(dir.path(), &vault, &e.sha256).await.unwrap(), png);
        // On disk: one file, not named by the photo's hash, not holding its bytes.
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1);
        let on_disk = files[0].as_ref().unwrap();
        assert_ne!(on_disk.file_name().to_string_lossy(), e.sha256);
        let raw = std::fs::read(on_disk.path()).unwrap();
        assert!(
            !raw.windows(png.len()).any(|w| w == png),
            "encrypted at rest"
        );
        // Another vault's keys do not open it.
        assert!(read(dir.path(), &Vault::random(), &e.sha256).await.is_err());
        assert!(read(dir.path(), &vault, "../etc/passwd").await.is_err());
        assert!(store(dir.path(), &vault, b"plain text").await.is_err());
        assert!(store(dir.path(), &vault, &vec![0xFF; FILE_BYTES_MAX + 1])
            .await
            .is_err());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn evidence_files_are_private_to_the_server() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("evidence");
        let vault = Vault::random();
        store(&dir, &vault, b"%PDF-1.7 a certificate")
            .await
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "the folder");
        for f in std::fs::read_dir(&dir).unwrap() {
            assert_eq!(mode(&f.unwrap().path()), 0o600, "a file");
        }
    }

    #[tokio::test]
    async fn the_sweep_removes_only_old_unreferenced_files_and_remove_deletes_named_ones() {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::random();
        let kept = store(dir.path(), &vault, b"%PDF-1.7 kept").await.unwrap();
        let orphan = store(dir.path(), &vault, b"%PDF-1.7 orphan").await.unwrap();
        let referenced: std::collections::HashSet<String> = [kept.sha256.clone()].into();
        let young = std::time::Duration::from_secs(SWEEP_MIN_AGE_S);
        assert_eq!(
            sweep(dir.path(), &vault, &referenced, young).await.unwrap(),
            0,
            "a fresh upload may still be saved with its report"
        );
        assert_eq!(
            sweep(dir.path(), &vault, &referenced, std::time::Duration::ZERO)
                .await
                .unwrap(),
            1
        );
        assert!(read(dir.path(), &vault, &orphan.sha256).await.is_err());
        assert!(read(dir.path(), &vault, &kept.sha256).await.is_ok());
        remove(dir.path(), &vault, std::slice::from_ref(&kept.sha256)).await;
        assert!(read(dir.path(), &vault, &kept.sha256).await.is_err());
    }
}
