//! `moralbank witness`: the C2SP `tlog-witness` HTTP service over [`WitnessState`].
//!
//! | route | answer |
//! |---|---|
//! | `POST /add-checkpoint` | cosignature lines (200), or the spec's refusal: 400, 403, 404, 409 (`text/x.tlog.size`, the size it holds), 422 |
//! | `GET /` | the witness's name, vkey, the logs it follows and the latest size it cosigned for each |
//! | `GET /evidence`, `GET /evidence/<name>` | refused checkpoints that contradict an earlier cosignature |
//!
//! Checking a request against a log's record and writing the new record happen under one lock,
//! so two requests can never roll the record back (the race the spec describes).

use crate::state::{LogRecord, WitnessState};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use moralbank_ledger::witness::protocol::BODY_BYTES_MAX;
use moralbank_ledger::witness::{check, AddCheckpoint, Recorded, Refusal, WitnessKey};
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

/// What a witness answers to one `add-checkpoint`.
#[derive(Debug)]
pub enum Outcome {
    /// The cosignature line(s).
    Cosigned(String),
    Refused(Refusal),
    /// The witness could not read or write its own store: it cosigns nothing.
    Failed(String),
}

pub struct Witness {
    key: WitnessKey,
    /// Trusted log verifier keys (their names are the origins).
    logs: Vec<String>,
    state: WitnessState,
    /// Held from reading a log's record to writing the new one.
    turn: Mutex<()>,
}

impl Witness {
    /// A witness with `key` for the logs whose vkeys are `logs`, keeping its records in `dir`.
    pub fn open(key: WitnessKey, logs: Vec<String>, dir: &FsPath) -> std::io::Result<Witness> {
        Ok(Witness {
            key,
            logs,
            state: WitnessState::open(dir)?,
            turn: Mutex::new(()),
        })
    }

    pub fn name(&self) -> &str {
        self.key.name()
    }

    pub fn vkey(&self) -> String {
        self.key.vkey()
    }

    pub fn state(&self) -> &WitnessState {
        &self.state
    }

    /// One `add-checkpoint`, at `now_ms`: checked, recorded durably, then cosigned.
    pub fn add_checkpoint(&self, body: &[u8], now_ms: u64) -> Outcome {
        let req = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(r) => return Outcome::Refused(r),
        };
        let origin = match req.origin() {
            Ok(o) => o,
            Err(r) => return Outcome::Refused(r),
        };
        let _turn = self
            .turn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let latest = match self.state.latest(&origin) {
            Ok(l) => l,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        match check(&req, &self.logs, latest.as_ref().map(|l| &l.recorded)) {
            Ok(accepted) => {
                let record = LogRecord {
                    origin: accepted.origin,
                    recorded: Recorded {
                        size: accepted.size,
                        root: accepted.root,
                        note: req.checkpoint.clone(),
                    },
                    cosigned_at: now_ms / 1000,
                };
                if let Err(e) = self.state.record(&record) {
                    return Outcome::Failed(e.to_string());
                }
                Outcome::Cosigned(self.key.cosign(&accepted.body, now_ms / 1000))
            }
            Err(refusal) => {
                if let (true, Some(cosigned)) = (refusal.is_evidence(), latest.as_ref()) {
                    match self.state.keep_evidence(&refusal, body, cosigned, now_ms) {
                        Ok(name) => tracing::error!(
                            origin = %cosigned.origin, evidence = %name,
                            "refused a checkpoint that contradicts one this witness cosigned: {refusal}"
                        ),
                        Err(e) => tracing::error!("could not keep the evidence of a fork: {e}"),
                    }
                }
                Outcome::Refused(refusal)
            }
        }
    }
}

fn plain(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let witness = w.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        witness.add_checkpoint(&body, u64::try_from(moralbank_store::now_ms()).unwrap_or(0))
    })
    .await
    .unwrap_or_else(|e| Outcome::Failed(e.to_string()));
    match outcome {
        Outcome::Cosigned(lines) => plain(StatusCode::OK, lines),
        Outcome::Refused(r @ (Refusal::WrongOldSize { .. } | Refusal::RootMismatch { .. })) => {
            let held = match &r {
                Refusal::WrongOldSize { latest, .. } => *latest,
                Refusal::RootMismatch { size } => *size,
                _ => 0,
            };
            (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{held}\n"),
            )
                .into_response()
        }
        Outcome::Refused(r) => plain(
            StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST),
            format!("{r}\n"),
        ),
        Outcome::Failed(e) => {
            tracing::error!("the witness's store failed: {e}");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the witness cannot read or write its records\n".into(),
            )
        }
    }
}

async fn status(State(w): State<Arc<Witness>>) -> Response {
    let mut out = format!(
        "C2SP tlog-witness {}\nvkey {}\nsubmit POST /add-checkpoint\nevidence GET /evidence\n\n",
        w.name(),
        w.vkey()
    );
    let records = match w.state().all() {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    };
    for vkey in &w.logs {
        let origin = vkey.split('+').next().unwrap_or("");
        match records.iter().find(|r| r.origin == origin) {
            Some(r) => out.push_str(&format!(
                "log {origin} size {} cosigned {}\n",
                r.recorded.size, r.cosigned_at
            )),
            None => out.push_str(&format!("log {origin} nothing cosigned yet\n")),
        }
    }
    plain(StatusCode::OK, out)
}

async fn evidence_list(State(w): State<Arc<Witness>>) -> Response {
    match w.state().evidence() {
        Ok(files) => axum::Json(files).into_response(),
        Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

async fn evidence_file(State(w): State<Arc<Witness>>, Path(name): Path<String>) -> Response {
    match w.state().evidence_file(&name) {
        Ok(Some(text)) => plain(StatusCode::OK, text),
        Ok(None) => plain(StatusCode::NOT_FOUND, "no such evidence\n".into()),
        Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}

/// The witness's routes.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/", get(status))
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/evidence", get(evidence_list))
        .route("/evidence/{name}", get(evidence_file))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(witness)
}

/// Serve `witness` on `listener` until the future `stop` completes.
pub async fn serve(
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(stop)
        .await
}
