//! C2SP `tlog-witness`'s `add-checkpoint`, without the HTTP: the request body, and the
//! witness's checks in the order the spec gives them, each refusal with its status code.
//!
//! ```text
//! old 20852014
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
//! …
//!
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgt…
//! ```

use crate::tree::{check_consistency, Hash};
use base64::Engine;
use signed_note::{Note, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::Checkpoint;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// At most this many consistency proof lines (the spec's limit).
pub const PROOF_LINES_MAX: usize = 63;
/// A request body larger than this is refused before it is read further.
pub const BODY_BYTES_MAX: usize = 64 * 1024;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent.
    pub checkpoint: String,
}

/// What a witness remembers of a log: the latest checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub size: u64,
    pub root: Hash,
    /// The signed checkpoint as the log sent it (evidence, if the log later contradicts it).
    pub note: String,
}

/// Why a witness refuses to cosign, with the spec's status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request is malformed: {0}")]
    Malformed(&'static str),
    #[error("no log with origin '{0}' is known to this witness")]
    UnknownOrigin(String),
    #[error("no signature on the checkpoint verifies with the log's keys")]
    NotSigned,
    #[error("the old size {old} is larger than the checkpoint's size {size}")]
    OldBeyondCheckpoint { old: u64, size: u64 },
    #[error("the old size {old} is not the latest size this witness cosigned, {latest}")]
    WrongOldSize { old: u64, latest: u64 },
    #[error(
        "the checkpoint has the size this witness cosigned, {size}, with another root: a fork"
    )]
    RootMismatch { size: u64 },
    #[error("the consistency proof from size {old} to {size} does not verify against the root this witness cosigned")]
    ProofFailed { old: u64, size: u64 },
}

impl Refusal {
    /// The HTTP status the spec gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldBeyondCheckpoint { .. } => 400,
            Refusal::NotSigned => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::WrongOldSize { .. } | Refusal::RootMismatch { .. } => 409,
            Refusal::ProofFailed { .. } => 422,
        }
    }

    /// Whether the refused request, signed by the log, contradicts what the witness cosigned:
    /// evidence of a fork (or of a log that lost its history) worth keeping.
    pub fn is_evidence(&self) -> bool {
        matches!(
            self,
            Refusal::RootMismatch { .. } | Refusal::ProofFailed { .. }
        )
    }
}

impl AddCheckpoint {
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        if body.len() > BODY_BYTES_MAX {
            return Err(Refusal::Malformed("the body is too large"));
        }
        let text = std::str::from_utf8(body).map_err(|_| Refusal::Malformed("not UTF-8"))?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or(Refusal::Malformed("no old size line"))?;
        let old = first
            .strip_prefix("old ")
            .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or(Refusal::Malformed(
                "the first line must be 'old <size>' in decimal",
            ))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(Refusal::Malformed("no empty line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == PROOF_LINES_MAX {
                return Err(Refusal::Malformed("more than 63 consistency proof lines"));
            }
            let hash = B64
                .decode(line)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or(Refusal::Malformed("a proof line is not a base64 hash"))?;
            proof.push(Hash(hash));
        }
        if rest.is_empty() {
            return Err(Refusal::Malformed("no checkpoint"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: rest.to_string(),
        })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// The checkpoint's origin, read before any signature is checked (to find the log's keys).
    pub fn origin(&self) -> Result<String, Refusal> {
        let note = Note::from_bytes(self.checkpoint.as_bytes())
            .map_err(|_| Refusal::Malformed("the checkpoint is not a signed note"))?;
        let cp = Checkpoint::from_bytes(note.text())
            .map_err(|_| Refusal::Malformed("the note is not a checkpoint"))?;
        Ok(cp.origin().to_string())
    }
}

/// A checkpoint the witness may cosign: record it, then sign `body`.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The note's text, which the cosignature signs.
    pub body: Vec<u8>,
}

/// The witness's checks, in the spec's order, for a log whose trusted keys are `log_vkeys`
/// (empty: the origin is unknown) and whose latest cosigned checkpoint is `latest`. The caller
/// must hold the origin's record locked from this check until the accepted checkpoint is
/// stored, or two requests could roll the record back.
pub fn check(
    req: &AddCheckpoint,
    log_vkeys: &[String],
    latest: Option<&Recorded>,
) -> Result<Accepted, Refusal> {
    let origin = req.origin()?;
    let verifiers: Vec<Box<dyn Verifier>> = log_vkeys
        .iter()
        .filter_map(|k| StandardVerifier::new(k).ok())
        .filter(|v| v.name() == origin)
        .map(|v| Box::new(v) as Box<dyn Verifier>)
        .collect();
    if verifiers.is_empty() {
        return Err(Refusal::UnknownOrigin(origin));
    }
    let note = Note::from_bytes(req.checkpoint.as_bytes())
        .map_err(|_| Refusal::Malformed("the checkpoint is not a signed note"))?;
    note.verify(&VerifierList::new(verifiers))
        .map_err(|_| Refusal::NotSigned)?;
    let cp = Checkpoint::from_bytes(note.text())
        .map_err(|_| Refusal::Malformed("the note is not a checkpoint"))?;
    let (size, root) = (cp.size(), *cp.hash());
    if req.old > size {
        return Err(Refusal::OldBeyondCheckpoint { old: req.old, size });
    }
    let latest_size = latest.map_or(0, |r| r.size);
    if req.old != latest_size {
        return Err(Refusal::WrongOldSize {
            old: req.old,
            latest: latest_size,
        });
    }
    match latest {
        None => {
            if !req.proof.is_empty() {
                return Err(Refusal::Malformed("the proof must be empty from size 0"));
            }
        }
        Some(r) if r.size == 0 => {
            if !req.proof.is_empty() {
                return Err(Refusal::Malformed("the proof must be empty from size 0"));
            }
        }
        Some(r) if r.size == size => {
            if r.root != root {
                return Err(Refusal::RootMismatch { size });
            }
        }
        Some(r) => {
            check_consistency(&req.proof, size, root, r.size, r.root)
                .map_err(|_| Refusal::ProofFailed { old: r.size, size })?;
        }
    }
    Ok(Accepted {
        origin,
        size,
        root,
        body: note.text().to_vec(),
    })
}
