//! The log's side of witnessing: one task, in rounds. Each round reads the newest signed
//! checkpoint once and sends that same checkpoint to every witness at once (so that a quorum
//! cosigns one size even while appends go on), each with a consistency proof from the size that
//! witness last cosigned; it checks each returned cosignature against the witness's key and
//! keeps it. The task only reads what the ledger's writer has committed, so a slow or dead
//! witness never holds up an append; each request has a deadline, and a witness that failed is
//! skipped for a pause that doubles up to a minute, then catches up with one request, since a
//! witness only needs the newest checkpoint.

use crate::http::Client;
use moralbank_ledger::witness::{AddCheckpoint, CosignatureVerifier};
use moralbank_ledger::Plan;
use moralbank_store::ledger::StoredCheckpoint;
use moralbank_store::Store;
use signed_note::{Note, VerifierList};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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
            .add_cosignature(size, &self.name, &line, now_ms())
            .await
        {
            return Step::Unreachable(format!("keeping the cosignature: {e}"));
        }
        self.old = size;
        self.cosigned = Some(size);
        Step::Cosigned(size)
    }
}

/// A witness followed by [`follow`]: its state and when it may be asked again.
struct Followed {
    peer: Peer,
    failures: u32,
    next_try: tokio::time::Instant,
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

/// Follow every witness in `endpoints` for ever: a round every `interval`, each witness due
/// asked at once about the round's newest checkpoint.
pub async fn follow(store: Store, endpoints: Vec<Endpoint>, interval: Duration, timeout: Duration) {
    let client = Client::new(timeout);
    let mut followed = Vec::new();
    for endpoint in &endpoints {
        loop {
            match Peer::new(&store, endpoint).await {
                Ok(peer) => {
                    followed.push(Followed {
                        peer,
                        failures: 0,
                        next_try: tokio::time::Instant::now(),
                    });
                    break;
                }
                Err(e) => {
                    tracing::error!(witness = %endpoint.url, "cannot follow this witness yet: {e}");
                    tokio::time::sleep(BACKOFF_MAX).await;
                }
            }
        }
    }
    loop {
        tokio::time::sleep(interval).await;
        let cp = match store.ledger().latest_checkpoint().await {
            Ok(Some(cp)) => cp,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("witnessing: reading the newest checkpoint failed: {e}");
                continue;
            }
        };
        let now = tokio::time::Instant::now();
        let mut asked = Vec::new();
        for mut f in followed.drain(..) {
            let (store, client, cp) = (store.clone(), client.clone(), cp.clone());
            asked.push(tokio::spawn(async move {
                if f.next_try <= now {
                    let step = f.peer.step(&store, &client, &cp).await;
                    report(&f.peer, &step, f.failures);
                    if matches!(step, Step::Cosigned(_) | Step::UpToDate) {
                        f.failures = 0;
                    } else {
                        f.failures = (f.failures + 1).min(16);
                        let pause = interval
                            .saturating_mul(1 << f.failures.min(10))
                            .min(BACKOFF_MAX);
                        f.next_try = tokio::time::Instant::now() + pause;
                    }
                }
                f
            }));
        }
        for task in asked {
            match task.await {
                Ok(f) => followed.push(f),
                Err(e) => tracing::error!("witnessing: a request task failed: {e}"),
            }
        }
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
