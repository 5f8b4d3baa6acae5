//! Everything that differs between SQLite and PostgreSQL, in one place, and the builders of the
//! few statements whose text depends on how many rows they carry.
//!
//! The rest of the store writes SQL once, in the dialect both share (`$N` placeholders, `BIGINT`
//! times, `0/1` flags, `ON CONFLICT`, `RETURNING`), and runs it through sqlx's `Any` driver. What
//! cannot be shared is asked of [`Backend`] here: the URL schemes, the connection pragmas and the
//! writer pool, the migration text, the catalogue query, the one index hint, the bulk-load DDL and
//! statistics, and how a statement binds its parameters fastest.

use crate::{Result, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Bound parameters per multi-row statement. sqlx binds SQLite's `$N` parameters by looking up
/// each one's name, and SQLite finds a name by walking the list of all of them, so the cost of
/// one statement grows with the square of its parameter count (measured: at 7,000 parameters
/// that lookup took two thirds of the whole seeding time). Short statements keep it linear.
pub const STATEMENT_PARAMS_MAX: usize = 256;

/// A new SQLite database file is created empty with mode 0600 before SQLite opens it (SQLite
/// takes an empty file as a new database), and SQLite gives its `-wal` and `-shm` files the
/// database file's mode. An existing file readable by others is only warned about: its mode is
/// the operator's choice.
fn private_sqlite_file(path: &std::path::Path, create: bool) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if create && !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    StoreError::Config(format!(
                        "database_url: cannot create SQLite file '{}': {e}",
                        path.display()
                    ))
                })?;
        } else if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    file = %path.display(),
                    "the SQLite database file is readable by other users; chmod 600 it (and its -wal and -shm files)"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, create);
    Ok(())
}

impl Backend {
    /// Which backend a `database_url` names, and the URL sqlx should open. `sqlite://PATH`
    /// (created only when `create_if_missing`), `postgres://…` or `postgresql://…`.
    pub(crate) fn from_url(url: &str, create_if_missing: bool) -> Result<(Backend, String)> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        let Some(path) = url.strip_prefix("sqlite://") else {
            let scheme = url.split("://").next().unwrap_or(url);
            return Err(StoreError::Config(format!(
                "database_url: unknown scheme '{scheme}'; use sqlite://PATH or postgres://…"
            )));
        };
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        if file.is_empty() || file == ":memory:" {
            return Err(StoreError::Config(
                "database_url: sqlite:// needs a file path".into(),
            ));
        }
        if !create_if_missing && !std::path::Path::new(file).exists() {
            return Err(StoreError::Config(format!(
                "database_url: SQLite file '{file}' does not exist; run `moralbank migrate --create` \
                 or `moralbank demo` to create one"
            )));
        }
        private_sqlite_file(std::path::Path::new(file), create_if_missing)?;
        let mode = if create_if_missing { "rwc" } else { "rw" };
        let sep = if query.is_empty() { "" } else { "&" };
        Ok((
            Backend::Sqlite,
            format!("sqlite://{file}?{query}{sep}mode={mode}"),
        ))
    }

    /// Statements every new connection runs first: on SQLite WAL, the busy timeout, the page
    /// cache, foreign keys and full synchronisation; nothing on PostgreSQL.
    pub(crate) fn connection_pragmas(self, busy_timeout_ms: u64, cache_kib: u64) -> Option<String> {
        match self {
            Backend::Sqlite => Some(format!(
                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA cache_size = -{cache_kib}; \
                 PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
            )),
            Backend::Postgres => None,
        }
    }

    /// Does the writer need a pool of its own? On SQLite a single connection, so that write
    /// transactions queue in-process instead of failing with SQLITE_BUSY when two deferred
    /// transactions both try to upgrade; on PostgreSQL the readers' pool writes too.
    pub(crate) fn single_writer(self) -> bool {
        self == Backend::Sqlite
    }

    /// A migration's text for this backend.
    pub(crate) fn pick<'a>(self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// A query answering `n` = 1 when the table `$1` exists in the current schema.
    pub(crate) fn table_exists_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        }
    }

    /// `citizens c` for the publicity board's join. SQLite would rather take the citizens'
    /// primary key (it is unique) than the narrower covering index `citizens_masked`
    /// (migration 0010) that holds every column a board page shows.
    pub(crate) fn board_citizens(self) -> &'static str {
        match self {
            Backend::Sqlite => "citizens c INDEXED BY citizens_masked",
            Backend::Postgres => "citizens c",
        }
    }

    #[cfg(feature = "fixtures")]
    /// Column types for bulk tables made at run time: (bytes, an integer primary key, the
    /// table suffix that stores rows in the primary key's B-tree).
    pub(crate) fn bulk_ddl(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Backend::Sqlite => ("BLOB", "INTEGER PRIMARY KEY", " WITHOUT ROWID"),
            Backend::Postgres => ("BYTEA", "BIGINT PRIMARY KEY", ""),
        }
    }

    #[cfg(feature = "fixtures")]
    /// Does the planner need `ANALYZE` after a bulk load? PostgreSQL misjudges every row count
    /// without statistics (autovacuum gathers them on a running server some time later); the
    /// server never runs `ANALYZE` on SQLite, so nothing may here either.
    pub(crate) fn analyze_after_bulk_load(self) -> bool {
        self == Backend::Postgres
    }
}

/// Rows of `cols` parameters that fit in one statement.
pub(crate) fn statement_rows(cols: usize) -> usize {
    (STATEMENT_PARAMS_MAX / cols).max(1)
}

/// `head VALUES ($1,…,$cols),($cols+1,…)` for `rows` rows.
pub(crate) fn multi_insert(head: &str, cols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + 8 + rows * cols * 6);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    sql.push_str(&values_list(cols, rows));
    sql
}

/// `($1,…,$cols),($cols+1,…)` for `rows` rows.
pub(crate) fn values_list(cols: usize, rows: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        push_params(&mut out, r * cols + 1, cols);
        out.push(')');
    }
    out
}

/// `$start,…,$(start+n-1)`.
pub(crate) fn in_list(start: usize, n: usize) -> String {
    let mut out = String::with_capacity(n * 6);
    push_params(&mut out, start, n);
    out
}

/// Append `$start,…,$(start+n-1)` to `out` (large insert statements are built often, so
/// without a string per parameter).
fn push_params(out: &mut String, start: usize, n: usize) {
    use std::fmt::Write;
    for i in start..start + n {
        if i > start {
            out.push(',');
        }
        let _ = write!(out, "${i}");
    }
}

/// `sql` as `backend` binds it fastest. SQLite binds a `$N` parameter by looking its name up in
/// the list of all of a statement's names, so binding a statement costs the square of its
/// parameters (measured: 16% of the ledger writer's CPU at 252 parameters per statement);
/// anonymous `?` parameters are bound by position. Only for statements whose `$N` appear once
/// each, in order, outside string literals: those made by [`multi_insert`], [`values_list`] and
/// [`in_list`].
pub(crate) fn positional(backend: Backend, sql: String) -> String {
    if backend != Backend::Sqlite {
        return sql;
    }
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.next_if(char::is_ascii_digit).is_some() {}
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scheme_and_missing_file_are_clear_errors() {
        let e = Backend::from_url("mysql://x", false).unwrap_err();
        assert!(e.to_string().contains("unknown scheme 'mysql'"), "{e}");
        let e = Backend::from_url("sqlite:///nonexistent/dir/x.db", false).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert_eq!(
            Backend::from_url("sqlite:///tmp/x.db", true).expect("ok").1,
            "sqlite:///tmp/x.db?mode=rwc"
        );
    }

    #[test]
    fn multi_row_statements_number_their_parameters_in_order() {
        assert_eq!(
            multi_insert("INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"
        );
        assert_eq!(values_list(3, 1), "($1,$2,$3)");
        assert_eq!(in_list(4, 3), "$4,$5,$6");
        assert_eq!(statement_rows(12), 21);
        assert_eq!(statement_rows(1000), 1);
    }

    #[test]
    fn sqlite_statements_bind_by_position() {
        let sql = multi_insert("INSERT INTO t (a, b)", 2, 2);
        assert_eq!(
            positional(Backend::Sqlite, sql.clone()),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?)"
        );
        assert_eq!(positional(Backend::Postgres, sql.clone()), sql);
        assert_eq!(
            positional(
                Backend::Sqlite,
                format!("SELECT x FROM t WHERE y IN ({})", in_list(1, 12))
            ),
            format!("SELECT x FROM t WHERE y IN ({})", ["?"; 12].join(","))
        );
    }
}
