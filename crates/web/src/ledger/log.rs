//! The public transparency log under `/log`: the signed checkpoint, the verifier key, C2SP
//! `tlog-tiles` tiles and entry bundles, JSON proofs, and a page that explains how to verify.
//! None of it needs an account: anyone may check that the ledger is append-only.

use crate::error::{ApiQuery, AppError, Path};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use minijinja::context;
use moralbank_ledger::{Plan, TilePath};
use serde::Deserialize;
use serde_json::json;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Tiles and bundles never change once they exist (a partial tile is a different path).
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The public log's routes as (method, path), documented in the OpenAPI document with the site
/// root as their server.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/log/checkpoint"),
    ("get", "/log/vkey"),
    ("get", "/log/witnessed-checkpoint"),
    ("get", "/log/policy"),
    ("get", "/log/tile/{path}"),
    ("get", "/log/proof/inclusion"),
    ("get", "/log/proof/consistency"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/log", get(page))
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/vkey", get(vkey))
        .route("/log/witnessed-checkpoint", get(witnessed_checkpoint))
        .route("/log/policy", get(policy))
        .route("/log/tile/{*path}", get(tile))
        .route("/log/proof/inclusion", get(inclusion))
        .route("/log/proof/consistency", get(consistency))
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let cp = state
        .store
        .ledger()
        .latest_checkpoint()
        .await?
        .ok_or(AppError::NotFound("checkpoint"))?;
    Ok(text(cp.note, "no-cache"))
}

/// The newest checkpoint cosigned by the policy's quorum of witnesses (by at least one when
/// the quorum is 0), with the cosignatures after the log's signature.
async fn witnessed_checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let w = state
        .store
        .ledger()
        .witnessed_checkpoint(&state.ledger.witness_names(), state.ledger.policy.quorum)
        .await?
        .ok_or(AppError::NotFound("witnessed checkpoint"))?;
    Ok(text(w.note, "no-cache"))
}

/// The trust policy: the log's vkey, the witnesses' vkeys and the quorum (`moralbank verify
/// --policy` and `moralbank monitor --policy` read this file).
async fn policy(State(state): State<AppState>) -> Response {
    text(state.ledger.policy.to_text(), "public, max-age=300")
}

async fn vkey(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.ledger.vkey), "public, max-age=300")
}

async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let tile = TilePath::parse(&format!("tile/{path}")).map_err(|_| AppError::NotFound("tile"))?;
    let data = state
        .store
        .ledger()
        .log_tile(&tile)
        .await?
        .ok_or(AppError::NotFound("tile"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, IMMUTABLE),
        ],
        data,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: u64,
    /// Defaults to the latest checkpoint's size, which is then returned with the proof.
    size: Option<u64>,
}

/// The size a proof may be asked for: at most the latest published checkpoint.
async fn published_size(state: &AppState) -> Result<(u64, String), AppError> {
    let cp = state
        .store
        .ledger()
        .latest_checkpoint()
        .await?
        .ok_or(AppError::NotFound("checkpoint"))?;
    Ok((cp.size, cp.note))
}

fn beyond(field: &'static str, size: u64) -> AppError {
    AppError::invalid(
        field,
        "out_of_range",
        &format!("the published tree has {size} entries"),
    )
}

async fn inclusion(
    State(state): State<AppState>,
    q: ApiQuery<InclusionQuery>,
) -> Result<Response, AppError> {
    let q = q.read()?;
    let (published, note) = published_size(&state).await?;
    let size = q.size.unwrap_or(published);
    if size > published {
        return Err(beyond("size", published));
    }
    if q.index >= size {
        return Err(AppError::invalid(
            "index",
            "out_of_range",
            &format!("must be below size {size}"),
        ));
    }
    let proof = state
        .store
        .ledger()
        .log_proof(Plan::Inclusion {
            index: q.index,
            size,
        })
        .await?;
    let mut body = json!({
        "index": q.index, "size": size,
        "proof": proof.iter().map(|h| B64.encode(h.0)).collect::<Vec<_>>(),
    });
    if q.size.is_none() {
        body["checkpoint"] = json!(note);
    }
    Ok(Json(body).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

async fn consistency(
    State(state): State<AppState>,
    q: ApiQuery<ConsistencyQuery>,
) -> Result<Response, AppError> {
    let q = q.read()?;
    let (published, note) = published_size(&state).await?;
    let new = q.new.unwrap_or(published);
    if new > published {
        return Err(beyond("new", published));
    }
    if q.old > new {
        return Err(AppError::invalid(
            "old",
            "out_of_range",
            &format!("must not exceed new ({new})"),
        ));
    }
    let proof = state
        .store
        .ledger()
        .log_proof(Plan::Consistency { old: q.old, new })
        .await?;
    let mut body = json!({
        "old": q.old, "new": new,
        "proof": proof.iter().map(|h| B64.encode(h.0)).collect::<Vec<_>>(),
    });
    if q.new.is_none() {
        body["checkpoint"] = json!(note);
    }
    Ok(Json(body).into_response())
}

/// `/log`: the latest checkpoint, the tree size and how to verify, for anyone.
async fn page(State(state): State<AppState>, ctx: crate::auth::PageCtx) -> Response {
    let result = async {
        let ledger = state.store.ledger();
        let head = ledger.log_head().await?;
        let cp = ledger.latest_checkpoint().await?;
        let names = state.ledger.witness_names();
        let quorum = state.ledger.policy.quorum;
        let witnessed = ledger.witnessed_checkpoint(&names, quorum).await?;
        let latest = ledger.latest_cosignatures(&names).await?;
        let witnesses: Vec<_> = names
            .iter()
            .map(|n| {
                let last = latest.iter().find(|l| &l.witness == n);
                let cosigned = witnessed
                    .as_ref()
                    .and_then(|w| w.cosigners.iter().find(|(c, _)| c == n));
                context! {
                    name => n,
                    label => state.ledger.witness_labels.iter().find(|(w, _)| w == n).map(|(_, l)| l.clone()),
                    last_size => last.map(|l| l.size), last_at => last.map(|l| l.at_ms),
                    cosigned_at => cosigned.map(|(_, at)| *at),
                }
            })
            .collect();
        let view = context! {
            size => head.size, root => head.root, vkey => state.ledger.vkey, retired => state.ledger.retired_vkeys,
            checkpoint => cp.as_ref().map(|c| c.note.clone()),
            checkpoint_at => cp.as_ref().map(|c| c.at_ms),
            witnesses, quorum,
            witnessed_size => witnessed.as_ref().map(|w| w.size),
            witnessed_note => witnessed.as_ref().map(|w| w.note.clone()),
        };
        Ok::<_, AppError>(crate::frame::views::render(&state, &ctx, "log.html", view)?.into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}
