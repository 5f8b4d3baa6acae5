//! Witnesses' cosignatures of the log's checkpoints: kept as the witnesses returned them (the
//! collector checks each against the witness's key first), and the newest checkpoint a quorum
//! of the configured witnesses cosigned, served beside the newest signed one and put in receipts.

use super::{to_i64, to_u64, Ledger, StoredCheckpoint};
use crate::sql::in_list;
use crate::Result;
use sqlx::Row;

/// The newest cosignature rows searched for a quorum before the whole table.
const RECENT_ROWS: u32 = 500;

/// A checkpoint with the cosignatures of the witnesses asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    pub size: u64,
    /// The log's signed note followed by the cosignature lines: what a verifier checks.
    pub note: String,
    /// (witness name, when the log received its cosignature, Unix ms), in the order asked.
    pub cosigners: Vec<(String, i64)>,
}

/// One witness's newest cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCosignature {
    pub witness: String,
    pub size: u64,
    pub at_ms: i64,
}

impl Ledger<'_> {
    /// Keep `witness`'s cosignature `line` of the checkpoint of `size`; a second one for the
    /// same size and witness is ignored (the first stays).
    pub async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        at_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_cosignatures (size, witness, line, at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size, witness) DO NOTHING",
        )
        .bind(to_i64(size)?)
        .bind(witness)
        .bind(line)
        .bind(at_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// The newest size `witness` cosigned, if any.
    pub async fn latest_cosigned(&self, witness: &str) -> Result<Option<u64>> {
        let row = sqlx::query("SELECT MAX(size) AS size FROM log_cosignatures WHERE witness = $1")
            .bind(witness)
            .fetch_one(&self.read)
            .await?;
        let size: Option<i64> = row.try_get("size")?;
        Ok(size.map(to_u64))
    }

    /// Each of `witnesses`' newest cosignature (those that never cosigned are absent).
    pub async fn latest_cosignatures(
        &self,
        witnesses: &[String],
    ) -> Result<Vec<LatestCosignature>> {
        let mut out = Vec::new();
        for w in witnesses {
            let row = sqlx::query(
                "SELECT size, at_ms FROM log_cosignatures WHERE witness = $1 ORDER BY size DESC LIMIT 1",
            )
            .bind(w)
            .fetch_optional(&self.read)
            .await?;
            if let Some(r) = row {
                out.push(LatestCosignature {
                    witness: w.clone(),
                    size: to_u64(r.try_get("size")?),
                    at_ms: r.try_get("at_ms")?,
                });
            }
        }
        Ok(out)
    }

    /// The newest checkpoint cosigned by at least `quorum` of `witnesses` (at least one when
    /// `quorum` is 0), with their cosignatures; `None` when there is none yet.
    pub async fn witnessed_checkpoint(
        &self,
        witnesses: &[String],
        quorum: usize,
    ) -> Result<Option<WitnessedCheckpoint>> {
        if witnesses.is_empty() {
            return Ok(None);
        }
        // The newest rows first (the collector asks every witness about one size per round, so
        // a quorum is normally among them); the whole table only when they hold none.
        let list = in_list(1, witnesses.len());
        let need = quorum.max(1);
        let recent = format!(
            "SELECT size FROM log_cosignatures WHERE witness IN ({list}) AND size IN \
             (SELECT size FROM log_cosignatures WHERE witness IN ({list}) ORDER BY size DESC LIMIT {RECENT_ROWS}) \
             GROUP BY size HAVING COUNT(*) >= {need} ORDER BY size DESC LIMIT 1"
        );
        let all = format!(
            "SELECT size FROM log_cosignatures WHERE witness IN ({list}) GROUP BY size \
             HAVING COUNT(*) >= {need} ORDER BY size DESC LIMIT 1"
        );
        let mut found = None;
        for sql in [recent, all] {
            let mut q = sqlx::query(&sql);
            for w in witnesses {
                q = q.bind(w);
            }
            found = q.fetch_optional(&self.read).await?;
            if found.is_some() {
                break;
            }
        }
        let Some(row) = found else {
            return Ok(None);
        };
        let size: i64 = row.try_get("size")?;
        let Some(cp) = self.checkpoint_at(to_u64(size)).await? else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT witness, line, at_ms FROM log_cosignatures WHERE size = $1")
            .bind(size)
            .fetch_all(&self.read)
            .await?;
        let mut note = cp.note;
        let mut cosigners = Vec::new();
        for w in witnesses {
            if let Some(r) = rows
                .iter()
                .find(|r| r.try_get::<String, _>("witness").ok().as_ref() == Some(w))
            {
                note.push_str(&r.try_get::<String, _>("line")?);
                cosigners.push((w.clone(), r.try_get("at_ms")?));
            }
        }
        Ok(Some(WitnessedCheckpoint {
            size: cp.size,
            note,
            cosigners,
        }))
    }

    /// The newest signed checkpoint of exactly `size` (the current key's after a rotation).
    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let row = sqlx::query(
            "SELECT size, note, at_ms FROM log_checkpoints WHERE size = $1 ORDER BY at_ms DESC LIMIT 1",
        )
        .bind(to_i64(size)?)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(StoredCheckpoint {
                size: to_u64(r.try_get("size")?),
                note: r.try_get("note")?,
                at_ms: r.try_get("at_ms")?,
            })
        })
        .transpose()
    }
}
