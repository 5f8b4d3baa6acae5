//! The log's side of witnessing, in rounds: every interval one task reads the newest signed
//! checkpoint and publishes it to one task per witness, which sends that same checkpoint to its
//! witness (so that a quorum cosigns one size even while appends go on) with a consistency proof
//! from the size the witness last cosigned, checks the returned cosignature against the
//! witness's key and keeps it. They only read what the ledger's writer has committed, so a slow
//! or dead witness never holds up an append, nor the other witnesses (it only misses rounds);
//! each request has a deadline, and a witness that failed waits a pause that doubles up to a
//! minute, then catches up with one request, since a witness only needs the newest checkpoint.

use crate::http::Client;
use moralbank_ledger::witness::{AddCheckpoint, CosignatureVerifier};
use moralbank_ledger::Plan;
use moralbank_store::ledger::StoredCheckpoint;
use moralbank_store::Store;
use signed_note::{Note, VerifierList};
use std::time::Duration;

/// The longest pause between attempts at a failing witness.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// A witness the log asks: its `cosignature/v1` vkey and its submission URL prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub vkey: String,
    pub url: String,
}

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The witness cosigned the checkpoint of this size; the cosignature is kept.
    Cosigned(u64),
    /// Nothing new to ask about.
    UpToDate,
    /// The witness holds another tree at the size it names: it refuses to follow this log.
    Conflict { held: u64 },
    /// Another refusal, or a cosignature that does not verify.
    Refused(String),
    /// No answer (down, slow, unreachable).
    Unreachable(String),
}

pub struct Peer {
    name: String,
    verifier: CosignatureVerifier,
    submit_url: String,
    /// The size this witness last cosigned, as far as the log knows.
    cosigned: Option<u64>,
    /// The old size to send (the witness's record, corrected by its 409 answers).
    old: u64,
}

impl Peer {
    pub async fn new(store: &Store, endpoint: &Endpoint) -> Result<Peer, String> {
        let verifier = CosignatureVerifier::new(&endpoint.vkey)
            .map_err(|e| format!("witness key {}: {e}", endpoint.vkey))?;
        let name = verifier.name().to_string();
        let cosigned = store
            .ledger()
            .latest_cosigned(&name)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Peer {
            name,
            verifier,
            submit_url: format!("{}/add-checkpoint", endpoint.url.trim_end_matches('/')),
            cosigned,
            old: cosigned.unwrap_or(0),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Ask this witness to cosign `cp` (the round's newest checkpoint), if it has not yet; on a
    /// 409 naming another size (the log's record was behind), ask again once from that size.
    pub async fn step(&mut self, store: &Store, client: &Client, cp: &StoredCheckpoint) -> Step {
        let mut retried = false;
        loop {
            if self.cosigned.is_some_and(|c| c >= cp.size) || self.old > cp.size {
                return Step::UpToDate;
            }
            let proof = if self.old == 0 {
                Vec::new()
            } else {
                match store
                    .ledger()
                    .log_proof(Plan::Consistency {
                        old: self.old,
                        new: cp.size,
                    })
                    .await
                {
                    Ok(p) => p,
                    Err(e) => return Step::Refused(format!("no consistency proof: {e}")),
                }
            };
            let body = AddCheckpoint {
                old: self.old,
                proof,
                checkpoint: cp.note.clone(),
            }
            .to_body();
            let answer = match client.post_text(&self.submit_url, body).await {
                Ok(a) => a,
                Err(e) => return Step::Unreachable(e.to_string()),
            };
            match answer.status {
                200 => return self.keep(store, &cp.note, cp.size, &answer.text()).await,
                409 if answer.content_type.starts_with("text/x.tlog.size") => {
                    let held = answer.text().trim().parse::<u64>().unwrap_or(u64::MAX);
                    if held == self.old || held > cp.size || retried {
                        return Step::Conflict { held };
                    }
                    self.old = held;
                    retried = true;
                }
                s => {
                    let why = answer.text();
                    return Step::Refused(format!(
                        "HTTP {s}: {}",
                        why.lines().next().unwrap_or("")
                    ));
                }
            }
        }
    }

    /// Check the returned lines against this witness's key and keep its cosignature.
    async fn keep(&mut self, store: &Store, note: &str, size: u64, lines: &str) -> Step {
        let Ok(full) = Note::from_bytes(format!("{note}{lines}").as_bytes()) else {
            return Step::Refused("the answer is not note signature lines".into());
        };
        let verified = {
            let list = VerifierList::new(vec![Box::new(self.verifier.clone())]);
            full.verify(&list)
                .map(|(verified, _)| verified.into_iter().next())
        };
        let sig = match verified {
            Ok(Some(s)) => s,
            Ok(None) => return Step::Refused("no cosignature by this witness's key".into()),
            Err(e) => return Step::Refused(format!("the cosignature does not verify: {e}")),
        };
        let line = String::from_utf8_lossy(&sig.to_bytes()).into_owned();
        if let Err(e) = store
            .ledger()
            .add_cosignature(size, &self.name, &line, moralbank_store::now_ms())
            .await
        {
            return Step::Unreachable(format!("keeping the cosignature: {e}"));
        }
        self.old = size;
        self.cosigned = Some(size);
        Step::Cosigned(size)
    }
}

fn report(peer: &Peer, step: &Step, failures: u32) {
    match step {
        Step::Cosigned(size) if failures > 0 => {
            tracing::info!(witness = %peer.name(), size, "the witness is back and cosigned");
        }
        Step::Cosigned(_) | Step::UpToDate => {}
        Step::Conflict { held } => tracing::error!(
            witness = %peer.name(), held,
            "the witness refuses this log's checkpoint: it cosigned another tree of size {held}"
        ),
        Step::Refused(why) | Step::Unreachable(why) => {
            tracing::warn!(witness = %peer.name(), failures, "no cosignature: {why}");
        }
    }
}

/// Follow every witness in `endpoints` for ever: every `interval` the newest checkpoint is
/// published to one task per witness, which asks its witness about it (all about the same size,
/// so that a quorum forms on one size while appends go on). A slow witness only misses rounds;
/// one that failed waits a pause that doubles up to a minute. Stopping this task stops them.
pub async fn follow(store: Store, endpoints: Vec<Endpoint>, interval: Duration, timeout: Duration) {
    let (round, _) = tokio::sync::watch::channel::<Option<StoredCheckpoint>>(None);
    for endpoint in endpoints {
        tokio::spawn(follow_one(
            store.clone(),
            endpoint,
            round.subscribe(),
            interval,
            timeout,
        ));
    }
    loop {
        tokio::time::sleep(interval).await;
        match store.ledger().latest_checkpoint().await {
            Ok(Some(cp)) => {
                round.send_if_modified(|current| {
                    let new = current
                        .as_ref()
                        .is_none_or(|c| c.size != cp.size || c.note != cp.note);
                    if new {
                        *current = Some(cp);
                    }
                    new
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("witnessing: reading the newest checkpoint failed: {e}"),
        }
    }
}

/// One witness: asks about each round's checkpoint, or again after its pause once it failed.
async fn follow_one(
    store: Store,
    endpoint: Endpoint,
    mut round: tokio::sync::watch::Receiver<Option<StoredCheckpoint>>,
    interval: Duration,
    timeout: Duration,
) {
    let client = Client::new(timeout);
    let mut peer = loop {
        match Peer::new(&store, &endpoint).await {
            Ok(peer) => break peer,
            Err(e) => {
                tracing::error!(witness = %endpoint.url, "cannot follow this witness yet: {e}");
                tokio::time::sleep(BACKOFF_MAX).await;
            }
        }
    };
    let mut failures: u32 = 0;
    loop {
        if failures == 0 {
            if round.changed().await.is_err() {
                return;
            }
        } else {
            let pause = interval
                .saturating_mul(1 << failures.min(10))
                .min(BACKOFF_MAX);
            tokio::time::sleep(pause).await;
            if round.has_changed().is_err() {
                return;
            }
        }
        let Some(cp) = round.borrow_and_update().clone() else {
            continue;
        };
        let step = peer.step(&store, &client, &cp).await;
        report(&peer, &step, failures);
        failures = if matches!(step, Step::Cosigned(_) | Step::UpToDate) {
            0
        } else {
            (failures + 1).min(16)
        };
    }
}

/// Start following the witnesses in `endpoints` (none: nothing to start).
pub fn spawn(
    store: &Store,
    endpoints: &[Endpoint],
    interval: Duration,
    timeout: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if endpoints.is_empty() {
        return None;
    }
    Some(tokio::spawn(follow(
        store.clone(),
        endpoints.to_vec(),
        interval,
        timeout,
    )))
}
