//! The import pipeline, the same for every kind of file: read ([`read`]: XLSX/XLS/ODS or CSV
//! in UTF-8 or GB18030) → map the header and check every row (`domain::citydata`), both on a
//! thread of their own ([`feed`]) that hands over the rows that passed in chunks as it reads →
//! apply each chunk with the kind's rules inside ONE transaction ([`deeds`] for partner deeds;
//! a loan book, whose months are replaced whole, all at once), a refused row reported and the
//! next one still checked → a preview (the transaction rolled back: exactly what a commit
//! would do, caps included) or a commit (only when no row at all was refused). The import's
//! row is written with the commit, and a file is committed once per owner, kind and schema
//! version (a unique index on its SHA-256): sending it again answers with the first import.

mod deeds;
mod experts;
mod feed;
mod honours;
mod loans;
pub mod read;
pub mod workbook;

use super::CityData;
use crate::evaluation::Rules;
use crate::{Result, StoreError};
use domain::citydata::rows::Row;
use domain::citydata::{Cell, HeaderMap, Problem, Schema};
use feed::{read_and_check, Fed, CHUNKS_AHEAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row as _;
use std::sync::atomic::AtomicUsize;

/// Whose files an import holds: a partner organisation's, or the city's own (its admins').
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOwner {
    Partner(String),
    City,
}

impl ImportOwner {
    /// The kind of owner, as the imports table and the schemas name it.
    pub fn kind(&self) -> domain::citydata::Owner {
        match self {
            ImportOwner::Partner(_) => domain::citydata::Owner::Partner,
            ImportOwner::City => domain::citydata::Owner::City,
        }
    }

    /// The owner's id in the imports table (`city` for the city).
    pub fn id(&self) -> &str {
        match self {
            ImportOwner::Partner(id) => id,
            ImportOwner::City => "city",
        }
    }
}

/// A file as uploaded.
pub struct Upload<'a> {
    pub schema: &'static Schema,
    /// Whose records these are (a partner's kind of file is only a partner's).
    pub owner: ImportOwner,
    /// Who uploaded it (a staff id, or the partner id for an API key).
    pub by: String,
    pub file_name: String,
    pub bytes: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Check everything, write nothing (a dry run: the transaction is rolled back).
    Preview,
    /// Check everything and commit, unless some row was refused.
    Commit,
}

/// What happened to one row that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    pub line: usize,
    pub key: String,
    pub record_id: String,
    /// `new`, or `unchanged` (the same record under the same key already exists).
    pub outcome: String,
    /// The record's state (a deed: `publicity` or `review`).
    pub status: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: i64,
    pub new: i64,
    pub unchanged: i64,
    pub refused: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    pub id: String,
    pub kind: String,
    pub schema_version: i64,
    /// The partner organisation, or `city`.
    pub owner_id: String,
    pub file_name: String,
    pub file_sha256: String,
    pub format: String,
    /// `previewed` (may be committed), `refused` (nothing written), `committed`.
    pub status: String,
    pub rows: Counts,
    pub problems: Vec<Problem>,
    /// The rows' results, the first [`RESULTS_KEPT`] (the counts cover every row).
    pub results: Vec<RowResult>,
    pub created_at: i64,
    pub committed_at: Option<i64>,
    /// The same file had been committed before: this is that import, and nothing was done.
    pub already_imported: bool,
}

impl Import {
    /// The first problems, for a preview.
    pub fn first_problems(&self, n: usize) -> &[Problem] {
        &self.problems[..self.problems.len().min(n)]
    }
}

/// An import's transaction (begun with its first rows) and what its rules did.
struct Written {
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
    /// What the rules read beside `tx` (partner deeds: the next rows' residents, and the
    /// rows decided there).
    beside: Option<deeds::Beside>,
    applied: Applied,
    /// Time spent in the rules.
    busy: std::time::Duration,
}

/// The rows a kind applied and the problems its rules found.
#[derive(Default)]
struct Applied {
    results: Vec<RowResult>,
    problems: Vec<Problem>,
    /// Rows applied as new records (or changed ones) and as unchanged ones, all of them (the
    /// results keep only the first [`RESULTS_KEPT`]).
    new: usize,
    unchanged: usize,
}

/// Row results an import keeps (and answers with): every row of a partner's deeds (5,000 at
/// most) or an honour list (10,000); the counts cover every row of a larger file.
pub const RESULTS_KEPT: usize = 10_000;

impl Applied {
    /// Add a chunk's rows: all of its problems and counts, results up to [`RESULTS_KEPT`].
    fn extend(&mut self, more: Applied) {
        let unchanged = more
            .results
            .iter()
            .filter(|r| r.outcome == "unchanged")
            .count();
        self.unchanged += unchanged;
        self.new += more.results.len() - unchanged;
        let room = RESULTS_KEPT.saturating_sub(self.results.len());
        self.results.extend(more.results.into_iter().take(room));
        self.problems.extend(more.problems);
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn aad(id: &str) -> String {
    format!("import:{id}")
}

impl CityData<'_> {
    /// Check a file and preview or commit it (see the module's documentation).
    pub async fn import_file(
        &self,
        up: &Upload<'_>,
        mode: Mode,
        rules: &Rules,
        now: i64,
        progress: &AtomicUsize,
    ) -> Result<Import> {
        if up.schema.owner != up.owner.kind() {
            return Err(StoreError::invalid(
                "kind",
                "not_your_kind",
                &format!(
                    "files of the kind '{}' are sent by the {}",
                    up.schema.kind,
                    up.schema.owner.as_str()
                ),
            ));
        }
        let sha = sha256_hex(up.bytes);
        if let Some(done) = self.committed_import(up, &sha).await? {
            return Ok(done);
        }
        self.run(
            &domain::new_id(),
            up,
            &sha,
            mode,
            rules,
            now,
            progress,
            false,
        )
        .await
    }

    /// Commit a previewed import of `owner` (the clerk's confirmation): the stored file is
    /// checked again, as the data may have changed since the preview.
    pub async fn commit_import(
        &self,
        id: &str,
        owner: &ImportOwner,
        by: &str,
        rules: &Rules,
        now: i64,
        progress: &AtomicUsize,
    ) -> Result<Import> {
        let (import, bytes) = self
            .import_with_file(id, owner)
            .await?
            .ok_or(StoreError::NotFound { what: "import" })?;
        if import.status == "committed" {
            return Ok(import);
        }
        let bytes = bytes.ok_or(StoreError::NotFound {
            what: "import file",
        })?;
        let schema = domain::citydata::kinds::kind(&import.kind)
            .filter(|s| i64::from(s.version) == import.schema_version)
            .ok_or(StoreError::conflict(
                "import",
                "schema_changed",
                "the kind's schema changed since the preview: upload the file again",
            ))?;
        let up = Upload {
            schema,
            owner: owner.clone(),
            by: by.to_string(),
            file_name: import.file_name.clone(),
            bytes: &bytes,
        };
        if let Some(done) = self.committed_import(&up, &import.file_sha256).await? {
            return Ok(done);
        }
        self.run(
            id,
            &up,
            &import.file_sha256,
            Mode::Commit,
            rules,
            now,
            progress,
            true,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)] // one import's parts, passed through
    async fn run(
        &self,
        id: &str,
        up: &Upload<'_>,
        sha: &str,
        mode: Mode,
        rules: &Rules,
        now: i64,
        progress: &AtomicUsize,
        stored: bool,
    ) -> Result<Import> {
        let started = std::time::Instant::now();
        // The file is read and checked on a thread of its own while the rules write what it
        // has read so far, both in step (a few chunks ahead at most).
        let (feed, mut fed) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
        let (schema, bytes) = (up.schema, up.bytes.to_vec());
        let reader = tokio::task::spawn_blocking(move || read_and_check(schema, &bytes, &feed));
        let mut import = Import {
            id: id.to_string(),
            kind: up.schema.kind.to_string(),
            schema_version: i64::from(up.schema.version),
            owner_id: up.owner.id().to_string(),
            file_name: up.file_name.clone(),
            file_sha256: sha.to_string(),
            format: String::new(),
            status: String::new(),
            rows: Counts::default(),
            problems: Vec::new(),
            results: Vec::new(),
            created_at: now,
            committed_at: None,
            already_imported: false,
        };
        let written = match self
            .write_fed(&mut fed, id, up, rules, now, progress)
            .await?
        {
            Ok(w) => w,
            Err(done) => return Ok(done),
        };
        let (tx, applied, applying) = (written.tx, written.applied, written.busy);
        let checked = reader
            .await
            .map_err(|e| StoreError::Config(format!("reading the file: {e}")))?;
        import.format = checked.format.to_string();
        let mut problems = checked.problems;
        let counts = (checked.total, applied.new, applied.unchanged);
        let mut results = Vec::new();
        if let Some(mut tx) = tx {
            problems.extend(applied.problems);
            results = applied.results;
            problems.sort_by_key(|p| p.row);
            if mode == Mode::Commit && problems.is_empty() {
                import.status = "committed".into();
                import.committed_at = Some(now);
                fill(&mut import, counts, problems, results);
                let written = self.save(&mut tx, &import, up, stored).await;
                match written {
                    Ok(()) => {
                        let before_commit = started.elapsed();
                        // Its WAL checkpoint runs after it, beside the writer (`wal`).
                        self.commit_large(tx).await?;
                        tracing::info!(
                            kind = up.schema.kind,
                            rows = import.rows.total,
                            read_and_check_ms = checked.busy.as_millis() as u64,
                            apply_ms = applying.as_millis() as u64,
                            commit_ms = (started.elapsed() - before_commit).as_millis() as u64,
                            "import committed"
                        );
                        return Ok(import);
                    }
                    Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                        drop(tx);
                        // The same file was committed at the same moment by another request.
                        return self
                            .committed_import(up, sha)
                            .await?
                            .ok_or(StoreError::NotFound { what: "import" });
                    }
                    Err(e) => return Err(e),
                }
            }
            tx.rollback().await?;
        }
        import.status = if problems.is_empty() {
            "previewed"
        } else {
            "refused"
        }
        .into();
        fill(&mut import, counts, problems, results);
        let mut conn = self.write.acquire().await?;
        self.save(&mut conn, &import, up, stored).await?;
        Ok(import)
    }

    /// Take the reader's rows as they come and apply them in one transaction, begun with the
    /// first rows; `Err` with the import when the same file was committed meanwhile.
    async fn write_fed(
        &self,
        fed: &mut tokio::sync::mpsc::Receiver<Fed>,
        id: &str,
        up: &Upload<'_>,
        rules: &Rules,
        now: i64,
        progress: &AtomicUsize,
    ) -> Result<std::result::Result<Written, Import>> {
        let mut w = Written {
            tx: None,
            beside: None,
            applied: Applied::default(),
            busy: std::time::Duration::ZERO,
        };
        let mut map = None;
        // A kind whose rules need the whole file at once (a loan book replaces its months).
        let whole = up.schema.kind == "bank-loans";
        let mut held: Vec<Row> = Vec::new();
        loop {
            let rows = match fed.recv().await {
                Some(Fed::Map(m)) => {
                    map = Some(m);
                    continue;
                }
                Some(Fed::Rows(rows)) if whole => {
                    held.extend(rows);
                    continue;
                }
                Some(Fed::Rows(rows)) => rows,
                None if held.is_empty() => {
                    if let (Some(beside), Some(tx)) = (w.beside.take(), &mut w.tx) {
                        let t = std::time::Instant::now();
                        let finished = beside.finish(self, tx, progress).await;
                        match self.settle(up, finished).await? {
                            Ok(a) => w.applied.extend(a),
                            Err(done) => return Ok(Err(done)),
                        }
                        w.busy += t.elapsed();
                    }
                    return Ok(Ok(w));
                }
                None => std::mem::take(&mut held),
            };
            let (Some(map), t) = (&map, std::time::Instant::now()) else {
                continue;
            };
            let tx = match &mut w.tx {
                Some(tx) => tx,
                None => w.tx.insert(self.write.begin().await?),
            };
            match self
                .apply(
                    (tx, &mut w.beside),
                    id,
                    up,
                    map,
                    &rows,
                    rules,
                    now,
                    progress,
                )
                .await?
            {
                Ok(a) => w.applied.extend(a),
                Err(done) => return Ok(Err(done)),
            }
            w.busy += t.elapsed();
        }
    }

    /// Rows through their kind's rules in `tx`; `Err` with the import when the same file was
    /// committed meanwhile by another request (nothing more to do).
    #[allow(clippy::too_many_arguments)] // one import's parts, passed through
    async fn apply(
        &self,
        (tx, beside): (&mut sqlx::AnyConnection, &mut Option<deeds::Beside>),
        id: &str,
        up: &Upload<'_>,
        map: &HeaderMap,
        rows: &[Row],
        rules: &Rules,
        now: i64,
        progress: &AtomicUsize,
    ) -> Result<std::result::Result<Applied, Import>> {
        let applied = match up.schema.kind {
            "partner-deeds" => {
                let rows = (map, rows);
                deeds::apply(self, (tx, beside), up, rows, rules, now, progress).await
            }
            "green-card-honours" => honours::apply(self, tx, up, map, rows, now, progress).await,
            "bank-loans" => loans::apply(self, tx, up, map, rows, now, progress).await,
            "market-experts" => experts::apply(self, tx, up, id, (map, rows), now, progress).await,
            other => return Err(StoreError::Config(format!("no rules for kind {other}"))),
        };
        self.settle(up, applied).await
    }

    /// What the rules came to: their rows, or when the database refused a row as written
    /// meanwhile by another request, that request's import (the same file) or a conflict.
    async fn settle(
        &self,
        up: &Upload<'_>,
        applied: Result<Applied>,
    ) -> Result<std::result::Result<Applied, Import>> {
        match applied {
            Ok(a) => Ok(Ok(a)),
            // Another request wrote the same records meanwhile (its transaction committed
            // while this one was writing): the same file, committed once, is that import;
            // another file sharing rows is refused whole, to be sent again.
            Err(StoreError::Database(e)) if StoreError::is_unique_violation(&e) => {
                let sha = sha256_hex(up.bytes);
                match self.committed_import(up, &sha).await? {
                    Some(done) => Ok(Err(done)),
                    None => Err(StoreError::conflict(
                        "file",
                        "concurrent_submission",
                        "rows of this file were submitted at the same moment by another request; send the file again",
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Insert the import's row, or update the stored preview's. A committed import drops the
    /// file; a preview or a refused one keeps it sealed.
    async fn save(
        &self,
        conn: &mut sqlx::AnyConnection,
        import: &Import,
        up: &Upload<'_>,
        stored: bool,
    ) -> Result<()> {
        let problems = serde_json::to_string(&import.problems).unwrap_or_else(|_| "[]".into());
        let results = serde_json::to_string(&import.results).unwrap_or_else(|_| "[]".into());
        let committed = import.status == "committed";
        let sealed = if committed {
            None
        } else {
            Some(self.vault.seal_bytes(&aad(&import.id), up.bytes)?)
        };
        let key_id = sealed
            .as_ref()
            .map(|_| self.vault.current_key_id().to_string());
        let r = &import.rows;
        if stored {
            let n = sqlx::query(
                "UPDATE imports SET status = $2, key_id = $3, file_sealed = $4, rows_total = $5, rows_new = $6, \
                 rows_unchanged = $7, rows_refused = $8, problems = $9, results = $10, committed_at = $11, file_format = $12 \
                 WHERE id = $1 AND status <> 'committed'",
            )
            .bind(&import.id)
            .bind(&import.status)
            .bind(key_id)
            .bind(sealed)
            .bind(r.total)
            .bind(r.new)
            .bind(r.unchanged)
            .bind(r.refused)
            .bind(problems)
            .bind(results)
            .bind(import.committed_at)
            .bind(&import.format)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::conflict(
                    "import",
                    "already_committed",
                    "this import was committed meanwhile",
                ));
            }
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO imports (id, kind, schema_version, owner_kind, owner_id, created_by, file_name, file_sha256, \
             file_format, key_id, file_sealed, status, rows_total, rows_new, rows_unchanged, rows_refused, problems, results, \
             created_at, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
        )
        .bind(&import.id)
        .bind(&import.kind)
        .bind(import.schema_version)
        .bind(up.owner.kind().as_str())
        .bind(up.owner.id())
        .bind(&up.by)
        .bind(&import.file_name)
        .bind(&import.file_sha256)
        .bind(&import.format)
        .bind(key_id)
        .bind(sealed)
        .bind(&import.status)
        .bind(r.total)
        .bind(r.new)
        .bind(r.unchanged)
        .bind(r.refused)
        .bind(problems)
        .bind(results)
        .bind(import.created_at)
        .bind(import.committed_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn committed_import(&self, up: &Upload<'_>, sha: &str) -> Result<Option<Import>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM imports WHERE owner_kind = $5 AND owner_id = $1 AND kind = $2 \
             AND schema_version = $3 AND file_sha256 = $4 AND status = 'committed'"
        ))
        .bind(up.owner.id())
        .bind(up.schema.kind)
        .bind(i64::from(up.schema.version))
        .bind(sha)
        .bind(up.owner.kind().as_str())
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            let mut i = import_of(&r)?;
            i.already_imported = true;
            Ok(i)
        })
        .transpose()
    }

    /// One of an owner's imports.
    pub async fn import(&self, id: &str, owner: &ImportOwner) -> Result<Option<Import>> {
        Ok(self.import_with_file(id, owner).await?.map(|(i, _)| i))
    }

    /// One of an owner's imports with its file, if still kept.
    pub async fn import_with_file(
        &self,
        id: &str,
        owner: &ImportOwner,
    ) -> Result<Option<(Import, Option<Vec<u8>>)>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, key_id, file_sealed FROM imports WHERE id = $1 AND owner_kind = $2 AND owner_id = $3"
        ))
        .bind(id)
        .bind(owner.kind().as_str())
        .bind(owner.id())
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let import = import_of(&r)?;
        let key_id: Option<String> = r.try_get("key_id")?;
        let sealed: Option<Vec<u8>> = r.try_get("file_sealed")?;
        let file = match (key_id, sealed) {
            (Some(k), Some(s)) => Some(self.vault.open_bytes(&k, &aad(id), &s)?),
            _ => None,
        };
        Ok(Some((import, file)))
    }

    /// An owner's latest imports, newest first.
    pub async fn imports(&self, owner: &ImportOwner, limit: i64) -> Result<Vec<Import>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM imports WHERE owner_kind = $3 AND owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(owner.id())
        .bind(limit)
        .bind(owner.kind().as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(import_of).collect()
    }

    /// The error workbook of an import whose file is still kept (a preview or a refused file),
    /// each problem's message as `message` words it (the reader's language).
    pub async fn error_workbook(
        &self,
        id: &str,
        owner: &ImportOwner,
        message: impl Fn(&Problem) -> String,
    ) -> Result<Option<Vec<u8>>> {
        let Some((import, Some(bytes))) = self.import_with_file(id, owner).await? else {
            return Ok(None);
        };
        let sheet = match read::read(&bytes) {
            Ok(s) => s,
            Err(_) => read::Sheet {
                format: "unknown",
                header: Vec::new(),
                rows: Vec::new(),
                merged_header: false,
            },
        };
        let problems: Vec<Problem> = import
            .problems
            .iter()
            .map(|p| Problem {
                message: message(p),
                ..p.clone()
            })
            .collect();
        workbook::error_workbook(&sheet, &problems).map(Some)
    }
}

/// Where a row's values are, to name cells in problems.
pub(super) struct Place<'a> {
    pub(super) up: &'a Upload<'a>,
    pub(super) map: &'a HeaderMap,
    pub(super) row: &'a Row,
}

impl Place<'_> {
    pub(super) fn value(&self, name: &str) -> Option<&str> {
        self.row.get(self.up.schema, name)
    }

    /// A problem at the schema column `name` of this row.
    pub(super) fn problem(&self, name: &str, code: &str, message: &str) -> Problem {
        let schema = self.up.schema;
        match (schema.column(name), self.map.of(schema, name)) {
            (Some(column), Some(j)) => Problem::at(
                self.row.line,
                j,
                column,
                code,
                message,
                &Cell::Text(self.value(name).unwrap_or_default().to_string()),
            ),
            _ => Problem {
                row: self.row.line,
                column: None,
                cell: None,
                code: code.into(),
                message: message.into(),
                value: None,
            },
        }
    }
}

const COLUMNS: &str =
    "id, kind, schema_version, owner_id, file_name, file_sha256, file_format, status, rows_total, \
    rows_new, rows_unchanged, rows_refused, problems, results, created_at, committed_at";

fn import_of(r: &sqlx::any::AnyRow) -> Result<Import> {
    let problems: String = r.try_get("problems")?;
    let results: String = r.try_get("results")?;
    Ok(Import {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        schema_version: r.try_get("schema_version")?,
        owner_id: r.try_get("owner_id")?,
        file_name: r.try_get("file_name")?,
        file_sha256: r.try_get("file_sha256")?,
        format: r.try_get("file_format")?,
        status: r.try_get("status")?,
        rows: Counts {
            total: r.try_get("rows_total")?,
            new: r.try_get("rows_new")?,
            unchanged: r.try_get("rows_unchanged")?,
            refused: r.try_get("rows_refused")?,
        },
        problems: serde_json::from_str(&problems)
            .map_err(|e| StoreError::Integrity(format!("import problems: {e}")))?,
        results: serde_json::from_str(&results)
            .map_err(|e| StoreError::Integrity(format!("import results: {e}")))?,
        created_at: r.try_get("created_at")?,
        committed_at: r.try_get("committed_at")?,
        already_imported: false,
    })
}

fn fill(
    import: &mut Import,
    (total, new, unchanged): (usize, usize, usize),
    problems: Vec<Problem>,
    results: Vec<RowResult>,
) {
    let mut bad: Vec<usize> = problems
        .iter()
        .filter(|p| p.row >= 2)
        .map(|p| p.row)
        .collect();
    bad.sort_unstable();
    bad.dedup();
    let committed = import.status == "committed";
    import.rows = Counts {
        total: total as i64,
        new: new as i64,
        unchanged: unchanged as i64,
        refused: bad.len() as i64,
    };
    import.problems = problems;
    // A preview's results name records that were not written: keep only the counts.
    import.results = if committed { results } else { Vec::new() };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(lines: std::ops::Range<usize>, unchanged_every: usize) -> Applied {
        Applied {
            results: lines
                .map(|line| RowResult {
                    line,
                    key: format!("k{line}"),
                    record_id: format!("r{line}"),
                    outcome: if line % unchanged_every == 0 {
                        "unchanged"
                    } else {
                        "new"
                    }
                    .into(),
                    status: "publicity".into(),
                })
                .collect(),
            problems: vec![Problem::file("x", "y")],
            ..Applied::default()
        }
    }

    #[test]
    fn a_large_file_keeps_the_first_results_and_counts_every_row() {
        let mut all = Applied::default();
        for start in (2..25_002).step_by(5_000) {
            all.extend(applied(start..start + 5_000, 4));
        }
        assert_eq!(all.results.len(), RESULTS_KEPT);
        assert_eq!(all.results.first().map(|r| r.line), Some(2));
        assert_eq!(all.results.last().map(|r| r.line), Some(RESULTS_KEPT + 1));
        // Lines 2..25_002: every fourth is unchanged.
        assert_eq!(all.unchanged, (2..25_002).filter(|l| l % 4 == 0).count());
        assert_eq!(all.new + all.unchanged, 25_000);
        assert_eq!(all.problems.len(), 5);
    }
}
