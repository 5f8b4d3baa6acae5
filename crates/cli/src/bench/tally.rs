//! What `bench redemptions` checks its count against: every redemption request the served app
//! received, and how each ended.
//!
//! When wrk stops at the end of its time it closes its connections with requests still in
//! flight. The server would drop those requests' handlers (hyper cancels a request whose
//! client went away), while the redemption writer may already have recorded the decision: a run
//! then recorded more redemptions than were answered, with nothing to tell a lost answer from a
//! double record. So in the benchmark every redemption request runs to its end in a task of its
//! own, whether or not its client is still there, and is counted when it starts and when its
//! response is made. After the load, the server is stopped gracefully and the count waits until
//! every started request has finished; then the recorded redemptions must equal the requests
//! answered 200 exactly, and wrk's count must lie between the requests answered and those
//! answered less one in flight per connection.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The path counted.
const PATH: &str = "/api/v1/redemptions";

#[derive(Debug, Default)]
pub struct Tally {
    started: AtomicU64,
    finished: AtomicU64,
    ok: AtomicU64,
}

/// The counts once every started request has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settled {
    pub started: u64,
    /// Answered 200 by the app (a decision recorded).
    pub ok: u64,
}

impl Tally {
    /// `app` with every request to the redemption endpoint counted and run to its end.
    pub fn wrap(self: &Arc<Self>, app: axum::Router) -> axum::Router {
        app.layer(axum::middleware::from_fn_with_state(self.clone(), count))
    }

    /// Wait until every started request has finished (at most `limit`).
    pub async fn settle(&self, limit: Duration) -> Option<Settled> {
        let until = Instant::now() + limit;
        loop {
            let started = self.started.load(Ordering::SeqCst);
            if self.finished.load(Ordering::SeqCst) == started {
                return Some(Settled {
                    started,
                    ok: self.ok.load(Ordering::SeqCst),
                });
            }
            if Instant::now() > until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn count(State(t): State<Arc<Tally>>, req: Request, next: Next) -> Response {
    if req.uri().path() != PATH {
        return next.run(req).await;
    }
    t.started.fetch_add(1, Ordering::SeqCst);
    let task = tokio::spawn(async move {
        let res = next.run(req).await;
        if res.status().is_success() {
            t.ok.fetch_add(1, Ordering::SeqCst);
        }
        t.finished.fetch_add(1, Ordering::SeqCst);
        res
    });
    match task.await {
        Ok(res) => res,
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request's task failed: {e}"),
        )
            .into_response(),
    }
}

/// The check: `recorded` redemptions against the settled tally and wrk's `answered` count.
pub fn check(recorded: u64, s: Settled, answered: u64, connections: u32) -> Result<(), String> {
    if recorded != s.ok {
        return Err(format!(
            "{recorded} redemptions were recorded but {} requests were answered 200 ({} received)",
            s.ok, s.started
        ));
    }
    if answered > s.started || s.started > answered + u64::from(connections) {
        return Err(format!(
            "wrk counted {answered} answers, the server received {} requests: more than one in \
             flight per connection ({connections}) at the end, or answers from nowhere",
            s.started
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_must_equal_answered_and_wrk_lie_within_the_requests_in_flight() {
        let s = Settled {
            started: 1_010,
            ok: 1_010,
        };
        assert_eq!(check(1_010, s, 1_000, 16), Ok(()));
        assert_eq!(check(1_010, s, 1_010, 16), Ok(()));
        assert!(check(1_011, s, 1_000, 16)
            .unwrap_err()
            .starts_with("1011 redemptions were recorded but 1010 requests were answered 200"));
        assert!(
            check(1_009, s, 1_000, 16).is_err(),
            "one answer not recorded"
        );
        assert!(
            check(1_010, s, 990, 16).is_err(),
            "20 in flight on 16 connections"
        );
        assert!(
            check(1_010, s, 1_011, 16).is_err(),
            "more answers than requests"
        );
    }
}
