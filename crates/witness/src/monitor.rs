//! `moralbank monitor`: follow a log over HTTP as an auditor or a journalist would, trusting
//! nothing the server says that it cannot check:
//!
//! 1. the newest checkpoint's signature (the log's key from the trust policy);
//! 2. the witnessed checkpoint's cosignatures and the policy's quorum, when it names witnesses;
//! 3. every entry bundle since the last run: each entry a canonical leaf whose postings sum to
//!    zero, each bundle as wide as the tree says, the level-0 hash tiles equal to the entries'
//!    hashes, and the root recomputed from them equal to the checkpoint's;
//! 4. every step from the last run's checkpoint: not smaller, the same root at the same size,
//!    and the served consistency proof valid; the witnessed checkpoint consistent with the
//!    signed one.
//!
//! Between runs it keeps a small state file (the last verified size, root, checkpoint and the
//! tree's right edge: at most 64 hashes), so each run fetches only what is new. A run that finds
//! a problem keeps the old state, so the next run reports it again.

use crate::http::Client;
use base64::Engine;
use moralbank_ledger::tiles::decode_bundle;
use moralbank_ledger::tree::check_consistency;
use moralbank_ledger::witness::Policy;
use moralbank_ledger::{
    leaf_hash, verify_checkpoint, Frontier, Hash, LeafEntry, TileKind, TilePath,
};
use serde::{Deserialize, Serialize};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const TILE: u64 = 256;

/// What a monitor keeps between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorState {
    pub format: String,
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub checkpoint: String,
    /// The tree's right edge ([`Frontier::hashes`], base64).
    pub edge: Vec<String>,
}

const STATE_FORMAT: &str = "moralbank-monitor/v1";

impl MonitorState {
    fn edge(&self) -> Option<Frontier> {
        let indexes = Frontier::indexes(self.size);
        if indexes.len() != self.edge.len() {
            return None;
        }
        let hashes = indexes
            .into_iter()
            .zip(&self.edge)
            .map(|(i, h)| {
                let h = <[u8; 32]>::try_from(B64.decode(h).ok()?).ok()?;
                Some((i, Hash(h)))
            })
            .collect::<Option<std::collections::HashMap<_, _>>>()?;
        Frontier::load(self.size, &hashes).ok()
    }
}

/// One run's findings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub size: u64,
    pub root: Option<Hash>,
    /// Entries read and checked in this run.
    pub checked: u64,
    /// The witnessed checkpoint's size and cosigners, when one was checked.
    pub witnessed: Option<(u64, Vec<String>)>,
    /// One line per problem; empty when everything verified.
    pub problems: Vec<String>,
}

/// Checks a log at `base` (e.g. `https://city.example/log`) under `policy`.
pub struct Monitor {
    client: Client,
    base: String,
    policy: Policy,
}

async fn fetch(client: &Client, url: &str) -> Result<Vec<u8>, String> {
    let a = client.get(url).await.map_err(|e| e.to_string())?;
    if a.status != 200 {
        return Err(format!("{url}: HTTP {}", a.status));
    }
    Ok(a.body.to_vec())
}

impl Monitor {
    pub fn new(client: Client, base: &str, policy: Policy) -> Monitor {
        Monitor {
            client,
            base: base.trim_end_matches('/').to_string(),
            policy,
        }
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        fetch(&self.client, &format!("{}/{path}", self.base)).await
    }

    /// One run from `previous` (the last run's state, if any); the new state when every check
    /// passed.
    pub async fn run(&self, previous: Option<&MonitorState>) -> (Report, Option<MonitorState>) {
        let mut report = Report::default();
        let note = match self.get("checkpoint").await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                report
                    .problems
                    .push(format!("checkpoint: cannot fetch it: {e}"));
                return (report, None);
            }
        };
        let cp = match verify_checkpoint(&note, &self.policy.log_vkey) {
            Ok(cp) => cp,
            Err(e) => {
                report.problems.push(format!("checkpoint: {e}"));
                return (report, None);
            }
        };
        let (size, root) = (cp.size(), *cp.hash());
        report.size = size;
        report.root = Some(root);
        let mut edge = Frontier::new();
        if let Some(prev) = previous {
            match self.step_from(prev, size, root).await {
                Ok(Some(e)) => edge = e,
                Ok(None) => {}
                Err(problem) => {
                    report.problems.push(problem);
                    return (report, None);
                }
            }
        }
        self.read_entries(&mut edge, size, &mut report).await;
        if report.problems.is_empty() && edge.root() != root {
            report.problems.push(format!(
                "tree: the entries served do not give the checkpoint's root at size {size}: \
                 the log was rewritten or the server is serving something else"
            ));
        }
        self.check_witnessed(size, root, &mut report).await;
        if !report.problems.is_empty() {
            return (report, None);
        }
        let state = MonitorState {
            format: STATE_FORMAT.into(),
            origin: cp.origin().to_string(),
            size,
            root: B64.encode(root.0),
            checkpoint: note,
            edge: edge.hashes().iter().map(|h| B64.encode(h.0)).collect(),
        };
        (report, Some(state))
    }

    /// From the last verified checkpoint to this one: never smaller, never another root at the
    /// same size, and the served consistency proof valid. The right edge to continue from.
    async fn step_from(
        &self,
        prev: &MonitorState,
        size: u64,
        root: Hash,
    ) -> Result<Option<Frontier>, String> {
        let prev_root = B64
            .decode(&prev.root)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .map(Hash)
            .ok_or("state: the kept root is damaged")?;
        if size < prev.size {
            return Err(format!(
                "consistency: the log shrank from {} to {size} entries (truncated); kept checkpoint:\n{}",
                prev.size, prev.checkpoint
            ));
        }
        if size == prev.size {
            if root != prev_root {
                return Err(format!(
                    "consistency: another root at the same size {size}: a fork; kept checkpoint:\n{}",
                    prev.checkpoint
                ));
            }
        } else if prev.size > 0 {
            let proof = self.consistency_proof(prev.size, size).await?;
            check_consistency(&proof, size, root, prev.size, prev_root).map_err(|_| {
                format!(
                    "consistency: the proof from size {} to {size} does not verify: the log \
                     rewrote history; kept checkpoint:\n{}",
                    prev.size, prev.checkpoint
                )
            })?;
        }
        prev.edge()
            .map(Some)
            .ok_or_else(|| "state: the kept right edge is damaged".to_string())
    }

    async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        let body = self
            .get(&format!("proof/consistency?old={old}&new={new}"))
            .await
            .map_err(|e| format!("consistency: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| "consistency: the proof is not JSON")?;
        v["proof"]
            .as_array()
            .ok_or("consistency: the answer has no proof")?
            .iter()
            .map(|h| {
                h.as_str()
                    .and_then(|s| B64.decode(s).ok())
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash)
                    .ok_or_else(|| {
                        "consistency: a proof hash is not 32 bytes of base64".to_string()
                    })
            })
            .collect()
    }

    /// Read the bundles from `edge.size()` up to `size`, check each entry and hash tile, and
    /// push the leaves onto the edge.
    async fn read_entries(&self, edge: &mut Frontier, size: u64, report: &mut Report) {
        while edge.size() < size {
            let n = edge.size() / TILE;
            let width = (size - n * TILE).min(TILE);
            let skip = edge.size() - n * TILE;
            let path = |kind| TilePath { kind, n, width }.path();
            let bundle = match self.get(&path(TileKind::Entries)).await {
                Ok(b) => b,
                Err(e) => {
                    report.problems.push(format!("bundle {n}: {e}"));
                    return;
                }
            };
            let entries = match decode_bundle(&bundle) {
                Ok(e) if e.len() as u64 == width => e,
                Ok(e) => {
                    report.problems.push(format!(
                        "bundle {n}: {} entries where the tree of {size} has {width}",
                        e.len()
                    ));
                    return;
                }
                Err(e) => {
                    report.problems.push(format!("bundle {n}: {e}"));
                    return;
                }
            };
            let hashes = match self.get(&path(TileKind::Hashes { level: 0 })).await {
                Ok(h) => h,
                Err(e) => {
                    report.problems.push(format!("hash tile 0/{n}: {e}"));
                    return;
                }
            };
            for (i, data) in entries
                .iter()
                .enumerate()
                .skip(usize::try_from(skip).unwrap_or(0))
            {
                let index = n * TILE + i as u64;
                if let Err(e) = LeafEntry::decode(data) {
                    report
                        .problems
                        .push(format!("entry {index}: not a valid ledger leaf: {e}"));
                }
                let h = leaf_hash(data);
                if hashes.get(i * 32..(i + 1) * 32) != Some(&h.0[..]) {
                    report.problems.push(format!(
                        "entry {index}: the hash tile does not hold this entry's hash"
                    ));
                }
                edge.append(h);
                report.checked += 1;
            }
            if report.problems.len() > 100 {
                report.problems.push("… stopping after 100 problems".into());
                return;
            }
        }
    }

    /// The witnessed checkpoint: the policy's quorum of valid cosignatures, and consistent with
    /// the signed checkpoint of `size`/`root`.
    async fn check_witnessed(&self, size: u64, root: Hash, report: &mut Report) {
        if self.policy.witnesses.is_empty() {
            return;
        }
        let note = match self.get("witnessed-checkpoint").await {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => {
                if self.policy.quorum > 0 {
                    report.problems.push(format!("witnessed checkpoint: {e}"));
                }
                return;
            }
        };
        let w = match self.policy.require_quorum(&note) {
            Ok(w) => w,
            Err(e) => {
                report.problems.push(format!("witnessed checkpoint: {e}"));
                return;
            }
        };
        report.witnessed = Some((w.size, w.cosigners.iter().map(|(n, _)| n.clone()).collect()));
        if w.size > size {
            report.problems.push(format!(
                "witnessed checkpoint: size {} is beyond the signed checkpoint's {size}",
                w.size
            ));
        } else if w.size == size && w.root != root {
            report.problems.push(format!(
                "witnessed checkpoint: another root at size {size}: a fork"
            ));
        } else if w.size < size && w.size > 0 {
            let ok = match self.consistency_proof(w.size, size).await {
                Ok(p) => check_consistency(&p, size, root, w.size, w.root).is_ok(),
                Err(e) => {
                    report.problems.push(e);
                    return;
                }
            };
            if !ok {
                report.problems.push(format!(
                    "witnessed checkpoint: size {} is not consistent with the signed checkpoint of {size}",
                    w.size
                ));
            }
        }
    }
}
