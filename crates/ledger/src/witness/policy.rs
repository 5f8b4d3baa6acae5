//! A trust policy: the log's verifier key, the witnesses' keys and how many of them must have
//! cosigned a checkpoint before a verifier believes it (Sigsum's idea, in a text file anyone can
//! keep beside a receipt and check offline):
//!
//! ```text
//! log yuyao.moralbank.example/log+9175be23+AT5i…
//! witness bank.yuyao.example/witness+3c1d09aa+BMv…
//! witness hospital.yuyao.example/witness+…
//! witness library.yuyao.example/witness+…
//! quorum 2
//! ```
//!
//! One `log` line, up to [`WITNESSES_MAX`] `witness` lines (distinct names, none the log's),
//! one `quorum` line from 0 to the number of witnesses (0 when absent); `#` starts a comment.

use super::cosign::{cosignature_time, CosignatureVerifier};
use crate::checkpoint::{verify_checkpoint, CheckpointError};
use crate::tree::Hash;
use signed_note::{Note, StandardVerifier, Verifier, VerifierList};

/// The most witnesses a policy names.
pub const WITNESSES_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("the policy has no 'log' line")]
    NoLog,
    #[error("the quorum {quorum} is more than the {witnesses} witnesses named")]
    QuorumTooLarge { quorum: usize, witnesses: usize },
    #[error("the log's key is not a log verifier key")]
    BadLogKey,
    /// The witness at this position (from 0) is wrong, and why.
    #[error("witness {0}: {1}")]
    Witness(usize, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The log's verifier key (signed-note vkey, Ed25519).
    pub log_vkey: String,
    /// The witnesses' `cosignature/v1` vkeys, in the policy's order.
    pub witnesses: Vec<String>,
    pub quorum: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessedError {
    #[error("{0}")]
    Checkpoint(CheckpointError),
    #[error("the cosignature of witness {0} does not verify: the checkpoint or the cosignature was altered")]
    BadCosignature(String),
    #[error("cosigned by {have} of the {need} witnesses required; missing: {}", missing.join(", "))]
    Quorum {
        have: usize,
        need: usize,
        missing: Vec<String>,
    },
}

/// A checkpoint verified under a policy: the tree head, and which witnesses cosigned it when.
#[derive(Debug, Clone, PartialEq)]
pub struct Witnessed {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// (witness name, cosignature time in seconds since the epoch), in the policy's order.
    pub cosigners: Vec<(String, u64)>,
    /// The policy's witnesses whose cosignature is absent.
    pub missing: Vec<String>,
}

fn name_of(vkey: &str) -> &str {
    vkey.split('+').next().unwrap_or("")
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let (mut log, mut witnesses, mut quorum) = (None::<(usize, String)>, Vec::new(), None);
        let mut witness_lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why: &str| PolicyError::Line {
                line: i + 1,
                why: why.to_string(),
            };
            let (word, value) = line
                .split_once(' ')
                .ok_or_else(|| bad("expected '<keyword> <value>'"))?;
            let value = value.trim().to_string();
            match word {
                "log" if log.is_some() => return Err(bad("a second 'log' line")),
                "log" => log = Some((i + 1, value)),
                "witness" => {
                    witnesses.push(value);
                    witness_lines.push(i + 1);
                }
                "quorum" if quorum.is_some() => return Err(bad("a second 'quorum' line")),
                "quorum" => {
                    quorum = Some(value.parse::<usize>().map_err(|_| bad("not a number"))?);
                }
                _ => return Err(bad("unknown keyword (log, witness, quorum)")),
            }
        }
        let (log_line, log_vkey) = log.ok_or(PolicyError::NoLog)?;
        // The keys are checked once, by `new`; its complaint is put on the line it is about.
        Policy::new(log_vkey, witnesses, quorum.unwrap_or(0)).map_err(|e| match e {
            PolicyError::BadLogKey => PolicyError::Line {
                line: log_line,
                why: "not a log verifier key".into(),
            },
            PolicyError::Witness(i, why) => PolicyError::Line {
                line: witness_lines.get(i).copied().unwrap_or(0),
                why: why.into(),
            },
            other => other,
        })
    }

    /// A policy from its parts, every key checked: the log's a log verifier key, each
    /// witness's a `cosignature/v1` one, at most [`WITNESSES_MAX`] witnesses with distinct names
    /// none of which is the log's, and a quorum no larger than the witnesses.
    pub fn new(
        log_vkey: String,
        witnesses: Vec<String>,
        quorum: usize,
    ) -> Result<Policy, PolicyError> {
        crate::parse_vkey(&log_vkey).map_err(|_| PolicyError::BadLogKey)?;
        if witnesses.len() > WITNESSES_MAX {
            return Err(PolicyError::Witness(WITNESSES_MAX, "too many witnesses"));
        }
        for (i, w) in witnesses.iter().enumerate() {
            let v = CosignatureVerifier::new(w)
                .map_err(|_| PolicyError::Witness(i, "not a cosignature/v1 verifier key"))?;
            if witnesses[..i].iter().any(|o| name_of(o) == v.name()) {
                return Err(PolicyError::Witness(i, "a second witness with this name"));
            }
            if v.name() == name_of(&log_vkey) {
                return Err(PolicyError::Witness(i, "a witness has the log's name"));
            }
        }
        if quorum > witnesses.len() {
            return Err(PolicyError::QuorumTooLarge {
                quorum,
                witnesses: witnesses.len(),
            });
        }
        Ok(Policy {
            log_vkey,
            witnesses,
            quorum,
        })
    }

    /// The policy of a log without witnesses: its key alone.
    pub fn log_only(log_vkey: String) -> Result<Policy, PolicyError> {
        Policy::new(log_vkey, Vec::new(), 0)
    }

    /// The witnesses' names, in the policy's order.
    pub fn witness_names(&self) -> Vec<String> {
        self.witnesses
            .iter()
            .map(|w| name_of(w).to_string())
            .collect()
    }

    /// The policy as text, which [`Policy::parse`] reads back.
    pub fn to_text(&self) -> String {
        let mut out = format!("log {}\n", self.log_vkey);
        for w in &self.witnesses {
            out.push_str(&format!("witness {w}\n"));
        }
        out.push_str(&format!("quorum {}\n", self.quorum));
        out
    }

    /// Verify the log's signature and every cosignature by a witness of the policy (others are
    /// ignored); says who cosigned, without requiring the quorum.
    pub fn cosigners(&self, note: &str) -> Result<Witnessed, WitnessedError> {
        let cp = verify_checkpoint(note, &self.log_vkey).map_err(WitnessedError::Checkpoint)?;
        let parsed = Note::from_bytes(note.as_bytes())
            .map_err(|_| WitnessedError::Checkpoint(CheckpointError::MalformedNote))?;
        let mut list: Vec<Box<dyn Verifier>> = Vec::new();
        if let Ok(v) = StandardVerifier::new(&self.log_vkey) {
            list.push(Box::new(v));
        }
        for w in &self.witnesses {
            if let Ok(v) = CosignatureVerifier::new(w) {
                list.push(Box::new(v));
            }
        }
        let (verified, _) = parsed
            .verify(&VerifierList::new(list))
            .map_err(|e| match e {
                signed_note::NoteError::InvalidSignature { name, .. } => {
                    WitnessedError::BadCosignature(name)
                }
                _ => WitnessedError::Checkpoint(CheckpointError::MalformedNote),
            })?;
        let mut cosigners = Vec::new();
        let mut missing = Vec::new();
        for name in self.witness_names() {
            match verified.iter().find(|s| s.name() == name) {
                Some(sig) => cosigners.push((name, cosignature_time(sig).unwrap_or(0))),
                None => missing.push(name),
            }
        }
        Ok(Witnessed {
            origin: cp.origin().to_string(),
            size: cp.size(),
            root: *cp.hash(),
            cosigners,
            missing,
        })
    }

    /// [`Policy::cosigners`], refusing a checkpoint cosigned by fewer than the quorum.
    pub fn require_quorum(&self, note: &str) -> Result<Witnessed, WitnessedError> {
        let w = self.cosigners(note)?;
        if w.cosigners.len() < self.quorum {
            return Err(WitnessedError::Quorum {
                have: w.cosigners.len(),
                need: self.quorum,
                missing: w.missing,
            });
        }
        Ok(w)
    }
}
