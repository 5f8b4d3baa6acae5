#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The monitor against a deliberately broken log server: honest growth passes, then a truncated
//! log, a same-size fork, a rewritten history that grows, a bundle that does not match the
//! signed root, a missing bundle and a checkpoint signed by another key are each reported.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use moralbank_ledger::tiles::encode_bundle;
use moralbank_ledger::{leaf_hash, LogKey, MemoryLog, Policy, TileKind, TilePath};
use moralbank_witness::http::Client;
use moralbank_witness::monitor::{Monitor, MonitorState};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn leaf(i: u64, tag: &str) -> Vec<u8> {
    moralbank_ledger::fixtures::award_leaf(tag, i)
}

/// What the server serves: leaves, the size it claims, the key it signs with, and a bundle it
/// may corrupt or leave out.
struct Served {
    leaves: Vec<Vec<u8>>,
    size: u64,
    key: LogKey,
    corrupt_entry: Option<u64>,
    missing_bundle: Option<u64>,
}

type Shared = Arc<Mutex<Served>>;

fn tree(s: &Served) -> MemoryLog {
    let mut t = MemoryLog::new();
    for l in &s.leaves[..usize::try_from(s.size).unwrap()] {
        t.append(l);
    }
    t
}

async fn checkpoint(State(s): State<Shared>) -> Response {
    let s = s.lock().unwrap();
    let t = tree(&s);
    s.key
        .sign(s.size, t.root(s.size).unwrap())
        .unwrap()
        .into_response()
}

async fn tile(State(s): State<Shared>, Path(path): Path<String>) -> Response {
    let s = s.lock().unwrap();
    let Ok(tile) = TilePath::parse(&format!("tile/{path}")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let range = tile.leaf_range();
    if range.end > s.size || s.missing_bundle == Some(tile.n) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut leaves: Vec<Vec<u8>> = range
        .clone()
        .map(|i| s.leaves[usize::try_from(i).unwrap()].clone())
        .collect();
    if let Some(c) = s.corrupt_entry.filter(|c| range.contains(c)) {
        leaves[usize::try_from(c - range.start).unwrap()] = leaf(c, "swapped");
    }
    match tile.kind {
        TileKind::Entries => encode_bundle(leaves.iter().map(Vec::as_slice)).into_response(),
        TileKind::Hashes { level: 0 } => {
            // The hash tile is the true one: a swapped entry no longer matches it.
            let honest: Vec<u8> = range
                .flat_map(|i| leaf_hash(&s.leaves[usize::try_from(i).unwrap()]).0)
                .collect();
            honest.into_response()
        }
        TileKind::Hashes { .. } => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn consistency(State(s): State<Shared>, Query(q): Query<HashMap<String, u64>>) -> Response {
    let s = s.lock().unwrap();
    let (old, new) = (q["old"], q["new"]);
    if new > s.size || old > new {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    let proof = tree(&s).consistency(old, new).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    axum::Json(serde_json::json!({ "old": old, "new": new,
        "proof": proof.iter().map(|h| b64.encode(h.0)).collect::<Vec<_>>() }))
    .into_response()
}

async fn broken_server(shared: Shared) -> String {
    let app = Router::new()
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
        .route("/log/proof/consistency", get(consistency))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/log", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_reports_truncation_forks_rewrites_bad_bundles_and_bad_signatures() {
    let (skey, vkey) = moralbank_ledger::generate_log_key("city.example/log");
    let honest: Vec<Vec<u8>> = (0..1000).map(|i| leaf(i, "e")).collect();
    let shared = Arc::new(Mutex::new(Served {
        leaves: honest.clone(),
        size: 300,
        key: LogKey::from_private(&skey).unwrap(),
        corrupt_entry: None,
        missing_bundle: None,
    }));
    let url = broken_server(shared.clone()).await;
    let policy = Policy::parse(&format!("log {vkey}\n")).unwrap();
    let monitor = Monitor::new(Client::new(Duration::from_secs(5)), &url, policy);
    let set = |f: &dyn Fn(&mut Served)| f(&mut shared.lock().unwrap());

    let (r, first) = monitor.run(None).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!((r.size, r.checked), (300, 300));
    let first: MonitorState = first.unwrap();
    set(&|s| s.size = 700);
    let (r, second) = monitor.run(Some(&first)).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.checked, 400, "only the new entries are read");
    let second = second.unwrap();

    let problem = |r: &moralbank_witness::monitor::Report| r.problems.join("\n");
    // Truncated: the server now signs a smaller tree.
    set(&|s| s.size = 500);
    let (r, next) = monitor.run(Some(&second)).await;
    assert!(
        next.is_none() && problem(&r).contains("shrank from 700 to 500"),
        "{}",
        problem(&r)
    );

    // A fork at the same size: other leaves, the same key.
    let forged: Vec<Vec<u8>> = (0..1000)
        .map(|i| {
            if i == 650 {
                leaf(i, "forged")
            } else {
                honest[i as usize].clone()
            }
        })
        .collect();
    set(&|s| {
        s.leaves = forged.clone();
        s.size = 700;
    });
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(
        problem(&r).contains("another root at the same size 700"),
        "{}",
        problem(&r)
    );
    // The rewritten history grows: the consistency proof from the kept checkpoint fails.
    set(&|s| s.size = 900);
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(
        problem(&r).contains("does not verify: the log rewrote history"),
        "{}",
        problem(&r)
    );
    // Without a kept state the rewritten log is internally consistent: only a copy held
    // outside (the state, a witness) reveals it.
    assert!(monitor.run(None).await.0.problems.is_empty());

    // Honest checkpoint, but one served entry is swapped: its hash and the root disagree.
    set(&|s| {
        s.leaves = honest.clone();
        s.size = 900;
        s.corrupt_entry = Some(800);
    });
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(
        problem(&r).contains("entry 800: the hash tile does not hold this entry's hash"),
        "{}",
        problem(&r)
    );
    // A bundle missing (a gap).
    set(&|s| {
        s.corrupt_entry = None;
        s.missing_bundle = Some(3);
    });
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(
        problem(&r).contains("bundle 3:") && problem(&r).contains("404"),
        "{}",
        problem(&r)
    );
    // Signed by another key: refused before anything else.
    let (other, _) = moralbank_ledger::generate_log_key("city.example/log");
    set(&|s| {
        s.missing_bundle = None;
        s.key = LogKey::from_private(&other).unwrap();
    });
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(problem(&r).starts_with("checkpoint: "), "{}", problem(&r));
    // And the honest log, restored, passes again from the kept state.
    set(&|s| s.key = LogKey::from_private(&skey).unwrap());
    let (r, _) = monitor.run(Some(&second)).await;
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.checked, 200);
}
