//! The witness's own store: a folder, no database. One file per log with the latest checkpoint
//! it cosigned, replaced atomically (written, flushed to disk, renamed, the folder flushed), so
//! that after a crash or `kill -9` the file holds either the old record or the new one and the
//! record never goes backwards; one file per piece of evidence; and a lock file, so that two
//! witness processes never share a folder.
//!
//! ```text
//! DIR/witness.lock
//! DIR/logs/<SHA-256 of the origin, hex>.checkpoint   the latest cosigned checkpoint
//! DIR/evidence/<ms>-<8 hex>.txt                      refused checkpoints that contradict it
//! ```

use base64::Engine;
use moralbank_ledger::witness::{Recorded, Refusal};
use moralbank_ledger::Hash;
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const STATE_FORMAT: &str = "moralbank-witness-state/v1";
const EVIDENCE_FORMAT: &str = "moralbank-witness-evidence/v1";

/// A log's record as kept on disk: what the protocol needs, and when it was cosigned.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub origin: String,
    pub recorded: Recorded,
    /// Seconds since the epoch.
    pub cosigned_at: u64,
}

/// A piece of evidence as listed: its file name and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EvidenceFile {
    pub name: String,
    pub bytes: u64,
}

pub struct WitnessState {
    dir: PathBuf,
    _lock: File,
}

fn corrupt(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{}: {why}; the witness will not cosign this log until an operator looks",
            path.display()
        ),
    )
}

/// Write `bytes` to `path` so that a crash leaves the old file or the new one, never a mix
/// (also the monitor's state file).
pub fn replace_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // A bare file name's folder is the current one.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

impl WitnessState {
    /// Open (creating) the folder and take its lock; refused while another process holds it.
    pub fn open(dir: &Path) -> io::Result<WitnessState> {
        fs::create_dir_all(dir.join("logs"))?;
        fs::create_dir_all(dir.join("evidence"))?;
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("witness.lock"))?;
        lock.try_lock().map_err(|_| {
            io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("another witness process is using {}", dir.display()),
            )
        })?;
        Ok(WitnessState {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    fn log_path(&self, origin: &str) -> PathBuf {
        let name = hex::encode(Sha256::digest(origin.as_bytes()));
        self.dir.join("logs").join(format!("{name}.checkpoint"))
    }

    /// The latest checkpoint cosigned for `origin`, if any. A damaged file is an error, never
    /// "nothing recorded": that would let the log start the witness's view afresh.
    pub fn latest(&self, origin: &str) -> io::Result<Option<LogRecord>> {
        let path = self.log_path(origin);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        parse_record(&text)
            .filter(|r| r.origin == origin)
            .map(Some)
            .ok_or_else(|| corrupt(&path, "the record is damaged"))
    }

    /// Every log's record (for the status page).
    pub fn all(&self) -> io::Result<Vec<LogRecord>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.dir.join("logs"))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "checkpoint") {
                let text = fs::read_to_string(&path)?;
                out.push(
                    parse_record(&text).ok_or_else(|| corrupt(&path, "the record is damaged"))?,
                );
            }
        }
        out.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }

    /// Replace `origin`'s record, durably, before the cosignature is returned.
    pub fn record(&self, rec: &LogRecord) -> io::Result<()> {
        let text = format!(
            "{STATE_FORMAT}\norigin {}\nsize {}\nroot {}\ncosigned {}\n\n{}",
            rec.origin,
            rec.recorded.size,
            B64.encode(rec.recorded.root.0),
            rec.cosigned_at,
            rec.recorded.note
        );
        replace_durably(&self.log_path(&rec.origin), text.as_bytes())
    }

    /// Keep a refused request that contradicts what was cosigned, beside the cosigned
    /// checkpoint: two statements signed by the log that cannot both be true.
    pub fn keep_evidence(
        &self,
        refusal: &Refusal,
        request: &[u8],
        cosigned: &LogRecord,
        now_ms: u64,
    ) -> io::Result<String> {
        let name = format!(
            "{now_ms}-{}.txt",
            &hex::encode(Sha256::digest(request))[..8]
        );
        let text = format!(
            "{EVIDENCE_FORMAT}\norigin {}\nrefused {refusal}\nat_ms {now_ms}\n\n\
             --- the checkpoint this witness had cosigned (at {} s) ---\n{}\n\
             --- the refused add-checkpoint request ---\n{}",
            cosigned.origin,
            cosigned.cosigned_at,
            cosigned.recorded.note,
            String::from_utf8_lossy(request)
        );
        replace_durably(&self.dir.join("evidence").join(&name), text.as_bytes())?;
        Ok(name)
    }

    pub fn evidence(&self) -> io::Result<Vec<EvidenceFile>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(self.dir.join("evidence"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if valid_evidence_name(&name) {
                out.push(EvidenceFile {
                    name,
                    bytes: entry.metadata()?.len(),
                });
            }
        }
        out.sort_by(|a, b| b.name.cmp(&a.name));
        Ok(out)
    }

    /// One evidence file's text; `None` for a name that is not one.
    pub fn evidence_file(&self, name: &str) -> io::Result<Option<String>> {
        if !valid_evidence_name(name) {
            return Ok(None);
        }
        match fs::read_to_string(self.dir.join("evidence").join(name)) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `<digits>-<8 hex>.txt`: nothing else is ever read from the evidence folder.
fn valid_evidence_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".txt") else {
        return false;
    };
    let Some((ms, tag)) = stem.split_once('-') else {
        return false;
    };
    !ms.is_empty()
        && ms.bytes().all(|b| b.is_ascii_digit())
        && tag.len() == 8
        && tag.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_record(text: &str) -> Option<LogRecord> {
    let (head, note) = text.split_once("\n\n")?;
    let mut lines = head.lines();
    if lines.next()? != STATE_FORMAT {
        return None;
    }
    let mut field = |k: &str| {
        lines
            .next()?
            .strip_prefix(k)?
            .strip_prefix(' ')
            .map(str::to_string)
    };
    let origin = field("origin")?;
    let size = field("size")?.parse().ok()?;
    let root = <[u8; 32]>::try_from(B64.decode(field("root")?).ok()?).ok()?;
    let cosigned_at = field("cosigned")?.parse().ok()?;
    if note.is_empty() {
        return None;
    }
    Some(LogRecord {
        origin,
        recorded: Recorded {
            size,
            root: Hash(root),
            note: note.to_string(),
        },
        cosigned_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(size: u64) -> LogRecord {
        LogRecord {
            origin: "city.example/log".into(),
            recorded: Recorded {
                size,
                root: Hash([size as u8; 32]),
                note: format!("city.example/log\n{size}\nAAAA\n\n\u{2014} city.example/log xyz\n"),
            },
            cosigned_at: 1_780_000_000,
        }
    }

    #[test]
    fn a_record_survives_reopening_and_a_damaged_one_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().expect("dir");
        let state = WitnessState::open(dir.path()).expect("open");
        assert_eq!(state.latest("city.example/log").expect("read"), None);
        state.record(&record(5)).expect("write");
        state.record(&record(9)).expect("write");
        assert!(
            WitnessState::open(dir.path()).is_err(),
            "one process per folder"
        );
        drop(state);
        let state = WitnessState::open(dir.path()).expect("reopen");
        assert_eq!(
            state.latest("city.example/log").expect("read"),
            Some(record(9))
        );
        assert_eq!(state.all().expect("all").len(), 1);
        fs::write(
            state.log_path("city.example/log"),
            "moralbank-witness-state/v1\norigin",
        )
        .expect("damage");
        assert!(state.latest("city.example/log").is_err());
    }

    #[test]
    fn evidence_is_kept_and_only_its_own_names_are_served() {
        let dir = tempfile::tempdir().expect("dir");
        let state = WitnessState::open(dir.path()).expect("open");
        let name = state
            .keep_evidence(
                &Refusal::RootMismatch { size: 9 },
                b"old 9\n\nforged",
                &record(9),
                1_780_000_000_123,
            )
            .expect("kept");
        let text = state.evidence_file(&name).expect("read").expect("there");
        assert!(
            text.contains("forged") && text.contains("city.example/log\n9\n"),
            "{text}"
        );
        assert_eq!(state.evidence().expect("list")[0].name, name);
        for bad in [
            "../logs/x.checkpoint",
            "witness.lock",
            "1-zzzzzzzz.txt",
            "-12345678.txt",
        ] {
            assert_eq!(state.evidence_file(bad).expect("no error"), None, "{bad}");
        }
    }
}
