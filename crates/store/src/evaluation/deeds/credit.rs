//! The end of publicity: every deed whose period ended with no objection upheld is credited
//! through the ledger, exactly once (the ledger key is the deed's), then marked credited with its
//! event and the resident's notification.

use super::{deed_row, CreditReport, Deed, DEED_COLUMNS};
use crate::evaluation::standards::STANDARD_COLUMNS;
use crate::evaluation::Evaluation;
use crate::ledger::{NewEntry, Sequencer};
use crate::sql::{in_list, positional, statement_rows, values_list};
use crate::Result;
use sqlx::Row;
use std::collections::HashMap;

/// Credited deeds recorded per transaction.
const CREDIT_RECORD_CHUNK: usize = 500;

impl Evaluation<'_> {
    /// Credit every deed whose publicity ended by `now` through the ledger. Idempotent: the
    /// ledger key is the deed's, so a restart, a retry or a second server never credits twice.
    pub async fn credit_due(&self, seq: &Sequencer, now: i64, limit: i64) -> Result<CreditReport> {
        let started = std::time::Instant::now();
        // Without the citizens join: the run never shows a name, and at city scale those are
        // 5,000 random reads of the widest table per pass. The deeds here carry an empty name.
        // A resident whose identity is not confirmed yet is credited on a later run, once it is:
        // their deeds stay on publicity (looked up in the small index of unconfirmed records).
        let due = sqlx::query(&format!(
            "SELECT {DEED_COLUMNS}, '' AS name_masked, {STANDARD_COLUMNS} FROM deeds d JOIN standards s ON s.id = d.standard_id \
             WHERE d.status = 'publicity' AND d.publicity_ends_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM citizens u WHERE u.id = d.citizen_id AND u.identity_confirmed_at IS NULL) \
             ORDER BY d.publicity_ends_at, d.id LIMIT $2"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(deed_row)
        .collect::<Result<Vec<_>>>()?;
        if due.is_empty() {
            return Ok(CreditReport::default());
        }
        let selected = (due.len(), started.elapsed());
        let towns = self.town_codes().await?;
        let mut approvers = self.deeds_approvers(&due).await?;
        let looked_up = started.elapsed();
        let (done, failed) = append_awards(seq, due, &towns, &mut approvers).await;
        let mut report = CreditReport {
            credited: 0,
            failed,
        };
        let appended = started.elapsed();
        for chunk in done.chunks(CREDIT_RECORD_CHUNK) {
            report.credited += self.record_credited(chunk, now).await?;
        }
        tracing::debug!(
            due = selected.0,
            credited = report.credited,
            select_ms = selected.1.as_millis() as u64,
            approvers_ms = (looked_up - selected.1).as_millis() as u64,
            append_ms = (appended - looked_up).as_millis() as u64,
            record_ms = (started.elapsed() - appended).as_millis() as u64,
            "credit pass"
        );
        Ok(report)
    }

    /// Mark deeds the ledger has credited, with their events and notifications, in one
    /// transaction. Only the deeds this run moved get an event and a notification: another
    /// server (or an earlier run that stopped after the append) may have credited some already.
    /// Returns how many it moved.
    async fn record_credited(&self, chunk: &[(Deed, u64)], now: i64) -> Result<usize> {
        let mut tx = self.write.begin().await?;
        // One UPDATE per 85 deeds (three parameters each), not one per deed.
        let mut updated = std::collections::HashSet::with_capacity(chunk.len());
        for rows in chunk.chunks(statement_rows(3)) {
            let n = rows.len();
            let cases = (0..n)
                .map(|i| format!("WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(" ");
            let sql = positional(
                self.backend,
                format!(
                    "UPDATE deeds SET status = 'credited', ledger_index = CASE id {cases} END, \
                 updated_at = ${} WHERE status = 'publicity' AND id IN ({}) RETURNING id",
                    2 * n + 1,
                    in_list(2 * n + 2, n)
                ),
            );
            let mut q = sqlx::query(&sql);
            for (d, index) in rows {
                q = q
                    .bind(d.id.as_str())
                    .bind(i64::try_from(*index).unwrap_or(i64::MAX));
            }
            q = q.bind(now);
            for (d, _) in rows {
                q = q.bind(d.id.as_str());
            }
            for r in q.fetch_all(&mut *tx).await? {
                updated.insert(r.try_get::<String, _>("id")?);
            }
        }
        let moved: Vec<_> = chunk
            .iter()
            .filter(|(d, _)| updated.contains(&d.id))
            .collect();
        // The events and notifications as multi-row INSERTs, bound by position on SQLite
        // (see `sql::positional`).
        for rows in moved.chunks(statement_rows(7)) {
            let sql = positional(
            self.backend,
            format!(
                "INSERT INTO deed_events (id, deed_id, at, actor_kind, actor_id, action, detail) VALUES {}",
                values_list(7, rows.len())
            ),
        );
            let mut q = sqlx::query(&sql);
            for (d, index) in rows.iter().copied() {
                q = q
                    .bind(domain::new_id())
                    .bind(d.id.as_str())
                    .bind(now)
                    .bind("system")
                    .bind("evaluation")
                    .bind("credited")
                    .bind(format!("ledger entry {index}"));
            }
            q.execute(&mut *tx).await?;
        }
        for rows in moved.chunks(statement_rows(6)) {
            let sql = positional(
            self.backend,
            format!(
                "INSERT INTO notifications (id, recipient_kind, recipient_id, deed_id, kind, at) VALUES {}",
                values_list(6, rows.len())
            ),
        );
            let mut q = sqlx::query(&sql);
            for (d, _) in rows.iter().copied() {
                q = q
                    .bind(domain::new_id())
                    .bind("citizen")
                    .bind(d.citizen_id.as_str())
                    .bind(d.id.as_str())
                    .bind("deed_credited")
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(moved.len())
    }

    /// Who approved each deed, as ledger approver ids: the members who approved its deciding
    /// round (at most 8, earliest vote first), the town reviewer who reversed its rejection, or
    /// the submitting partner; `system:evaluation` when there is nobody to name. Two queries
    /// per [`statement_rows`] deeds, not two per deed.
    async fn deeds_approvers(&self, deeds: &[Deed]) -> Result<HashMap<String, Vec<String>>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::with_capacity(deeds.len());
        let mut ask: Vec<&str> = Vec::new();
        for d in deeds {
            if d.source == "partner" && d.standard.awarder == "partner" {
                out.insert(d.id.clone(), vec![format!("partner:{}", d.reporter_id)]);
            } else {
                ask.push(d.id.as_str());
            }
        }
        for chunk in ask.chunks(statement_rows(1)) {
            let ids = in_list(1, chunk.len());
            let sql = positional(
                self.backend,
                format!(
                    "SELECT deed_id, decided_by FROM deed_appeals WHERE outcome = 'reversed' AND deed_id IN ({ids})"
                ),
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            for r in q.fetch_all(&self.read).await? {
                let by: String = r.try_get("decided_by")?;
                out.insert(r.try_get("deed_id")?, vec![format!("staff:{by}")]);
            }
            let sql = positional(
                self.backend,
                format!(
                    "SELECT deed_id, round, staff_id, at FROM deed_votes WHERE approve = 1 AND deed_id IN ({ids})"
                ),
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(*id);
            }
            // Per deed: (round, at, staff id) of its approving votes.
            let mut votes: HashMap<String, Vec<(i64, i64, String)>> = HashMap::new();
            for r in q.fetch_all(&self.read).await? {
                votes.entry(r.try_get("deed_id")?).or_default().push((
                    r.try_get("round")?,
                    r.try_get("at")?,
                    r.try_get("staff_id")?,
                ));
            }
            for (deed, mut v) in votes {
                if out.contains_key(&deed) {
                    continue; // a reversed appeal names the reviewer
                }
                let last = v.iter().map(|(round, _, _)| *round).max().unwrap_or(0);
                v.retain(|(round, _, _)| *round == last);
                v.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
                let ids = v
                    .into_iter()
                    .take(8)
                    .map(|(_, _, s)| format!("staff:{s}"))
                    .collect();
                out.insert(deed, ids);
            }
        }
        Ok(out)
    }

    async fn town_codes(&self) -> Result<HashMap<String, String>> {
        sqlx::query("SELECT v.id AS village, t.code AS town FROM regions v JOIN regions t ON t.id = v.parent_id WHERE v.level = 'village'")
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("village")?, r.try_get("town")?)))
            .collect()
    }
}

/// Append each due deed's award through the ledger (concurrently: the sequencer batches them).
/// Returns the deeds appended with their ledger index, and how many failed (they stay on
/// publicity for the next run).
async fn append_awards(
    seq: &Sequencer,
    due: Vec<Deed>,
    towns: &HashMap<String, String>,
    approvers: &mut HashMap<String, Vec<String>>,
) -> (Vec<(Deed, u64)>, usize) {
    let mut tasks = Vec::with_capacity(due.len());
    for d in due {
        let approvers = approvers
            .remove(&d.id)
            .unwrap_or_else(|| vec!["system:evaluation".into()]);
        let town = towns
            .get(&d.village_id)
            .cloned()
            .unwrap_or_else(|| "city".into());
        let entry = NewEntry::award(
            &d.citizen_id,
            d.points.unwrap_or(0),
            &format!("issuance:{town}"),
            &d.standard.rule(),
            &format!(
                "{}：{}",
                d.standard.name_zh,
                d.description.chars().take(200).collect::<String>()
            ),
            // Not the deed's id: the public board shows it beside the masked name, and the log
            // must not let anyone tie a commitment to a person. The deed finds its entry by
            // `deeds.ledger_index`.
            "deed",
            approvers,
        );
        let seq = seq.clone();
        tasks.push(tokio::spawn(async move {
            let r = seq
                .append(format!("system:evaluation/deed/{}", d.id), entry)
                .await;
            (d, r)
        }));
    }
    let mut done = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((d, Ok(a))) => done.push((d, a.index)),
            Ok((d, Err(e))) => {
                tracing::warn!(deed = %d.id, error = %e, "crediting a deed failed; it stays on publicity for the next run");
                failed += 1;
            }
            Err(_) => failed += 1,
        }
    }
    (done, failed)
}
