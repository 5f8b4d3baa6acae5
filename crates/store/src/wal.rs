//! SQLite's WAL checkpoint, taken out of a large transaction's commit.
//!
//! In WAL mode a commit that leaves the log past `wal_autocheckpoint` pages (SQLite's default,
//! 1,000) copies the log back into the database file before it returns: the checkpoint. After
//! the small transactions of a running city that is a few pages; after an import of 450,000
//! rows it is every page the import wrote (about 3 s), and SQLite's single writer connection
//! holds every other write of the city behind it. So a transaction that knows it is large
//! commits with [`Store::commit_large`]: its connection's automatic checkpoint is off for that
//! commit, and a task on a connection of its own then runs a passive checkpoint, which neither
//! waits for nor blocks readers and the writer (a writer commit meanwhile finds the checkpoint
//! taken and goes on). The writer's setting is put back when its connection returns to the pool,
//! whatever ended the transaction (a commit, an error, a dropped future); when that fails the
//! connection is closed, and the pool opens a new one with SQLite's default. Every other commit
//! checkpoints as before, so the log is still reset in a city whose writer never pauses.
//!
//! On PostgreSQL `commit_large` is a commit.

use crate::{Backend, Result, Store};
use sqlx::Row;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// SQLite's default `wal_autocheckpoint` (pages), which every commit but a large one's keeps.
const AUTOCHECKPOINT_PAGES: u32 = 1_000;

/// What a checkpoint beside the writer did: SQLite's answer to `PRAGMA wal_checkpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpointed {
    /// Frames in the log when it ran.
    pub log_frames: i64,
    /// Frames of the log now copied into the database (all of them unless a reader still
    /// needed some; the writer's next commits copy the rest).
    pub copied_frames: i64,
    /// Milliseconds it took.
    pub ms: u64,
}

/// The writer's side: is its connection's automatic checkpoint off (a large commit is under
/// way or just ended), and the checkpoint task that followed it.
#[derive(Clone, Default)]
pub(crate) struct Deferred {
    off: Arc<AtomicBool>,
    task: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<Option<Checkpointed>>>>>,
}

impl Deferred {
    /// Run when the writer's connection returns to its pool: put its automatic checkpoint back
    /// if a large commit had turned it off. `false` (the pool closes the connection) when that
    /// fails.
    pub(crate) async fn restore(&self, conn: &mut sqlx::AnyConnection) -> bool {
        if !self.off.swap(false, Ordering::SeqCst) {
            return true;
        }
        let sql = format!("PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}");
        match sqlx::query(&sql).execute(conn).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "putting the writer's WAL checkpoint back failed; closing the connection");
                false
            }
        }
    }
}

impl Store {
    /// Commit `tx`, a large write transaction, leaving its WAL checkpoint to a connection of
    /// its own (see the module's documentation); on PostgreSQL a commit.
    pub(crate) async fn commit_large(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
    ) -> Result<()> {
        if self.backend != Backend::Sqlite {
            tx.commit().await?;
            return Ok(());
        }
        // Marked before the statement runs, so that the connection is put back however this
        // ends (the mark only ever costs a harmless `PRAGMA` on release).
        self.wal.off.store(true, Ordering::SeqCst);
        sqlx::query("PRAGMA wal_autocheckpoint = 0")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let store = self.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            match store.checkpoint_passive().await {
                Ok((log_frames, copied_frames)) => {
                    let done = Checkpointed {
                        log_frames,
                        copied_frames,
                        ms: started.elapsed().as_millis() as u64,
                    };
                    tracing::info!(
                        log_frames,
                        copied_frames,
                        ms = done.ms,
                        "WAL checkpointed beside the writer"
                    );
                    Some(done)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the WAL checkpoint beside the writer failed; the writer's next commits take it");
                    None
                }
            }
        });
        // A checkpoint still running from an earlier large commit goes on by itself.
        *self.wal.task.lock().await = Some(task);
        Ok(())
    }

    /// A passive checkpoint on a connection of its own: the log's frames, and how many of
    /// them are now in the database.
    async fn checkpoint_passive(&self) -> Result<(i64, i64)> {
        let mut conn = self.lookup_connection().await?;
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&mut conn)
            .await?;
        let answer = (row.try_get::<i64, _>(1)?, row.try_get::<i64, _>(2)?);
        sqlx::Connection::close(conn).await?;
        Ok(answer)
    }

    /// Wait for the checkpoint that followed the last large commit, if one is running; what
    /// it did (`None` when there was none, or it failed). `close` waits for it too, so that a
    /// stopping server leaves the log copied.
    pub async fn wal_settled(&self) -> Option<Checkpointed> {
        let task = self.wal.task.lock().await.take()?;
        task.await.ok().flatten()
    }
}
