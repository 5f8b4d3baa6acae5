//! Checkpoints: C2SP `tlog-checkpoint` tree heads (origin, size, base64 root), signed as
//! C2SP `signed-note`s with Ed25519 under a key whose name is the log's origin. The private key
//! is the note format's `PRIVATE+KEY+…` string and the public one the `vkey` string.

use crate::tree::Hash;
use signed_note::{Note, Signer, StandardSigner, StandardVerifier, Verifier as _, VerifierList};
use tlog_tiles::Checkpoint;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the log key is not a valid Ed25519 note key")]
    BadKey,
    #[error("the verifier key is not a valid vkey")]
    BadVerifierKey,
    #[error("the checkpoint is not a well-formed signed note")]
    MalformedNote,
    #[error("the checkpoint is not signed by the given key")]
    NotSignedByKey,
    #[error("a signature by the given key does not verify: the checkpoint was altered")]
    BadSignature,
    #[error("the note's text is not a well-formed checkpoint")]
    MalformedCheckpoint,
    #[error("the checkpoint is for origin '{found}', but the key is for '{expected}'")]
    WrongOrigin { expected: String, found: String },
}

/// A new key pair for a log named `origin` (e.g. `yuyao.moralbank.example/log`): the private
/// key string (keep secret, file mode 0600) and the public vkey string (publish).
pub fn generate_log_key(origin: &str) -> (String, String) {
    signed_note::generate_key(&mut rand::rngs::OsRng, origin)
}

pub struct LogKey {
    signer: StandardSigner,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogKey({})", self.signer.name())
    }
}

impl LogKey {
    pub fn from_private(skey: &str) -> Result<LogKey, CheckpointError> {
        StandardSigner::new(skey.trim())
            .map(|signer| LogKey { signer })
            .map_err(|_| CheckpointError::BadKey)
    }

    /// The log's origin: the key's name.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The key's id (C2SP signed-note key ID, hex), which tells checkpoints of rotated keys apart.
    pub fn key_id(&self) -> String {
        format!("{:08x}", self.signer.key_id())
    }

    /// The signed checkpoint for the tree of `size` leaves with `root`.
    pub fn sign(&self, size: u64, root: Hash) -> Result<String, CheckpointError> {
        let cp = Checkpoint::new(self.origin(), size, root, "")
            .map_err(|_| CheckpointError::MalformedCheckpoint)?;
        let mut note =
            Note::new(&cp.to_bytes(), &[]).map_err(|_| CheckpointError::MalformedNote)?;
        note.add_sigs(&[&self.signer as &dyn Signer])
            .map_err(|_| CheckpointError::BadKey)?;
        String::from_utf8(note.to_bytes()).map_err(|_| CheckpointError::MalformedNote)
    }
}

/// Check that `vkey` is a verifier key; returns its key id (hex), as [`LogKey::key_id`].
pub fn parse_vkey(vkey: &str) -> Result<String, CheckpointError> {
    StandardVerifier::new(vkey.trim())
        .map(|v| format!("{:08x}", v.key_id()))
        .map_err(|_| CheckpointError::BadVerifierKey)
}

/// Verify a signed checkpoint against the log's vkey; returns the tree head it signs.
pub fn verify_checkpoint(note: &str, vkey: &str) -> Result<Checkpoint, CheckpointError> {
    let verifier =
        StandardVerifier::new(vkey.trim()).map_err(|_| CheckpointError::BadVerifierKey)?;
    let origin = signed_note::Verifier::name(&verifier).to_string();
    let parsed = Note::from_bytes(note.as_bytes()).map_err(|_| CheckpointError::MalformedNote)?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| match e {
            signed_note::NoteError::InvalidSignature { .. } => CheckpointError::BadSignature,
            signed_note::NoteError::UnverifiedNote => CheckpointError::NotSignedByKey,
            _ => CheckpointError::MalformedNote,
        })?;
    let cp =
        Checkpoint::from_bytes(parsed.text()).map_err(|_| CheckpointError::MalformedCheckpoint)?;
    if cp.origin() != origin {
        return Err(CheckpointError::WrongOrigin {
            expected: origin,
            found: cp.origin().to_string(),
        });
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "yuyao.moralbank.example/log";

    #[test]
    fn a_signed_checkpoint_verifies_and_says_what_it_signs() {
        let (skey, vkey) = generate_log_key(ORIGIN);
        let key = LogKey::from_private(&skey).expect("key");
        let note = key.sign(42, Hash([9; 32])).expect("sign");
        assert!(note.starts_with(&format!("{ORIGIN}\n42\n")), "{note}");
        assert!(
            note.contains(&format!("\n\u{2014} {ORIGIN} ")),
            "a signature line: {note}"
        );
        let cp = verify_checkpoint(&note, &vkey).expect("verifies");
        assert_eq!(
            (cp.origin(), cp.size(), *cp.hash()),
            (ORIGIN, 42, Hash([9; 32]))
        );
        assert!(
            !format!("{key:?}").contains("PRIVATE"),
            "Debug never shows the private key"
        );
    }

    #[test]
    fn altered_or_foreign_checkpoints_are_refused_with_their_reason() {
        let (skey, vkey) = generate_log_key(ORIGIN);
        let note = LogKey::from_private(&skey)
            .expect("key")
            .sign(42, Hash([9; 32]))
            .expect("sign");
        let altered = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(
            verify_checkpoint(&altered, &vkey).unwrap_err(),
            CheckpointError::BadSignature
        );
        let (_, other_vkey) = generate_log_key(ORIGIN);
        assert_eq!(
            verify_checkpoint(&note, &other_vkey).unwrap_err(),
            CheckpointError::NotSignedByKey
        );
        assert_eq!(
            verify_checkpoint("hello", &vkey).unwrap_err(),
            CheckpointError::MalformedNote
        );
        assert_eq!(
            verify_checkpoint(&note, "not a key").unwrap_err(),
            CheckpointError::BadVerifierKey
        );
        assert_eq!(
            LogKey::from_private("PRIVATE+KEY+x").unwrap_err(),
            CheckpointError::BadKey
        );
    }
}
