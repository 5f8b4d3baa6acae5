//! Evidence files (photos, PDFs) of deed reports: limited in count and size, their type read
//! from their first bytes (never from the name or the browser's claim), stored outside the
//! database under their SHA-256, and served only to those who may read the deed.

use crate::error::AppError;
use moralbank_store::evaluation::Evidence;
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FILES_MAX: usize = 5;
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

/// Check and store one file; the same bytes stored twice are one file.
pub async fn store(dir: &Path, bytes: &[u8]) -> Result<Evidence, AppError> {
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
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| AppError::Internal(format!("evidence folder: {e}")))?;
    let path = dir.join(&sha);
    if tokio::fs::metadata(&path).await.is_err() {
        // Write aside, then rename: a reader never sees half a file.
        let tmp = dir.join(format!(".{sha}.{}", domain::new_id()));
        tokio::fs::write(&tmp, bytes)
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

/// The bytes of a stored file, checked against their name.
pub async fn read(dir: &Path, sha: &str) -> Result<Vec<u8>, AppError> {
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound("evidence"));
    }
    let bytes = tokio::fs::read(dir.join(sha))
        .await
        .map_err(|_| AppError::NotFound("evidence"))?;
    if hex::encode(Sha256::digest(&bytes)) != sha {
        return Err(AppError::Internal(format!(
            "evidence file {sha} does not match its hash"
        )));
    }
    Ok(bytes)
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
    async fn stored_files_are_named_by_their_hash_and_checked_on_reading() {
        let dir = tempfile::tempdir().unwrap();
        let png = b"\x89PNG\r\n\x1a\n0123";
        let e = store(dir.path(), png).await.unwrap();
        assert_eq!(e.content_type, "image/png");
        assert_eq!(
            store(dir.path(), png).await.unwrap(),
            e,
            "same bytes, same file"
        );
        assert_eq!(read(dir.path(), &e.sha256).await.unwrap(), png);
        assert!(read(dir.path(), "../etc/passwd").await.is_err());
        assert!(store(dir.path(), b"plain text").await.is_err());
        assert!(store(dir.path(), &vec![0xFF; FILE_BYTES_MAX + 1])
            .await
            .is_err());
    }
}
