//! Group commit: the single writers (the ledger's sequencer, the redemption writer) take
//! requests from a channel and commit them in batches, so that one durable commit (one fsync)
//! serves many callers.

use std::time::Duration;
use tokio::sync::mpsc;

/// After `first` arrived, gather what else is queued or arrives within `max_wait`, up to `max`
/// requests in all.
pub(crate) async fn gather<T>(
    rx: &mut mpsc::Receiver<T>,
    first: T,
    max: usize,
    max_wait: Duration,
) -> Vec<T> {
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + max_wait;
    while batch.len() < max.max(1) {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    _ => break,
                }
            }
        }
    }
    batch
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_takes_what_is_queued_up_to_its_maximum() {
        let (tx, mut rx) = mpsc::channel(16);
        for i in 1..=5 {
            tx.send(i).await.unwrap();
        }
        let b = gather(&mut rx, 0, 4, Duration::from_millis(1)).await;
        assert_eq!(b, vec![0, 1, 2, 3]);
        // Only 4 and 5 left: the batch closes when the wait ends.
        let b = gather(&mut rx, 9, 10, Duration::from_millis(5)).await;
        assert_eq!(b, vec![9, 4, 5]);
        drop(tx);
        assert_eq!(
            gather(&mut rx, 7, 10, Duration::from_secs(60)).await,
            vec![7]
        );
    }
}
