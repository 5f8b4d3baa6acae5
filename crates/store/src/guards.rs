//! The database's own guards of history: the triggers that make tables append-only (on
//! PostgreSQL also against `TRUNCATE`). Someone with enough rights can drop or disable a trigger,
//! or replace the function behind it, and then rewrite rows; so `moralbank audit` and every
//! start of `serve` first check that each guard is there exactly as the migrations made it
//! ([`Store::check_guards`]): on SQLite the trigger's stored text, on PostgreSQL the trigger's
//! table, timing, events, function and (no) condition, that it is enabled, and the function's
//! body.
//!
//! What each table's guards let through:
//!
//! | table | UPDATE | DELETE |
//! |---|---|---|
//! | `ledger_entries`, `ledger_postings`, `log_hashes`, `log_checkpoints`, `deed_events`, `deed_votes`, `withdrawals` | never | never |
//! | `access_log` | never | only the rows of a resident who withdrew (a `withdrawals` row, no `citizens` row): the withdrawal's own transaction |
//! | `ledger_reversal_requests` | once, from pending to decided, nothing of the request itself changing | never |
//!
//! `TRUNCATE` (PostgreSQL) never, on any of them.

use crate::sql::Backend;
use crate::{Result, Store, StoreError};
use sqlx::Row;
use std::collections::HashMap;

/// What the guards of an append-only table let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// No UPDATE, no DELETE.
    Frozen,
    /// No UPDATE; DELETE only of a withdrawn resident's rows.
    WithdrawalDeletes,
    /// One UPDATE from pending to decided; no DELETE.
    DecidedOnce,
}

/// Every append-only table and its rule.
const TABLES: &[(&str, Rule)] = &[
    ("ledger_entries", Rule::Frozen),
    ("ledger_postings", Rule::Frozen),
    ("log_hashes", Rule::Frozen),
    ("log_checkpoints", Rule::Frozen),
    ("deed_events", Rule::Frozen),
    ("deed_votes", Rule::Frozen),
    ("withdrawals", Rule::Frozen),
    ("access_log", Rule::WithdrawalDeletes),
    ("ledger_reversal_requests", Rule::DecidedOnce),
];

/// The names of the append-only tables.
pub fn append_only_tables() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|(t, _)| *t)
}

/// PostgreSQL's `pg_trigger.tgtype` bits: a row trigger BEFORE UPDATE OR DELETE, a statement
/// trigger BEFORE TRUNCATE.
const PG_ROW_UPDATE_DELETE: i64 = 1 | 2 | 8 | 16;
const PG_STATEMENT_TRUNCATE: i64 = 2 | 32;

/// One trigger a guard needs.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub table: &'static str,
    pub name: String,
    /// PostgreSQL: the function it runs and its `tgtype`.
    pub function: &'static str,
    pub tgtype: i64,
}

/// The triggers `backend` must have.
pub(crate) fn triggers(backend: Backend) -> Vec<Trigger> {
    let mut out = Vec::new();
    for &(table, rule) in TABLES {
        let t = |suffix: &str, function: &'static str, tgtype: i64| Trigger {
            table,
            name: format!("{table}_{suffix}"),
            function,
            tgtype,
        };
        match backend {
            Backend::Sqlite => {
                let update = if rule == Rule::DecidedOnce {
                    "decide_once"
                } else {
                    "no_update"
                };
                out.push(t(update, "", 0));
                out.push(t("no_delete", "", 0));
            }
            Backend::Postgres => {
                let function = match rule {
                    Rule::Frozen => "moralbank_append_only",
                    Rule::WithdrawalDeletes => "moralbank_access_log_guard",
                    Rule::DecidedOnce => "moralbank_reversal_request_guard",
                };
                out.push(t("append_only", function, PG_ROW_UPDATE_DELETE));
                out.push(t(
                    "no_truncate",
                    "moralbank_append_only",
                    PG_STATEMENT_TRUNCATE,
                ));
            }
        }
    }
    out
}

/// The newest definition in the migrations of a SQLite trigger (`CREATE TRIGGER name … END`,
/// as SQLite stores it) or of a PostgreSQL function's body (between its `$$`).
pub(crate) fn definition(backend: Backend, name: &str) -> Option<String> {
    let mut found = None;
    for text in crate::migrate::migration_texts(backend) {
        match backend {
            Backend::Sqlite => {
                let start = format!("CREATE TRIGGER {name} ");
                if let Some(at) = text.rfind(&start) {
                    let rest = &text[at..];
                    let end = rest.find("END;")?;
                    found = Some(rest[..end + 3].to_string());
                }
            }
            Backend::Postgres => {
                let start =
                    format!("CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$");
                if let Some(at) = text.rfind(&start) {
                    let rest = &text[at + start.len()..];
                    let end = rest.find("$$")?;
                    found = Some(rest[..end].to_string());
                }
            }
        }
    }
    found
}

/// A PostgreSQL trigger as the catalogue has it.
struct PgFound {
    table: String,
    enabled: String,
    tgtype: i64,
    has_when: bool,
    function: String,
    body: String,
}

impl Store {
    /// Is every guard of history there, as the migrations made it? Returns how many triggers
    /// were checked; `StoreError::Integrity` names the first one missing, disabled or changed.
    pub async fn check_guards(&self) -> Result<usize> {
        let expected = triggers(self.backend);
        match self.backend {
            Backend::Sqlite => self.check_sqlite_guards(&expected).await?,
            Backend::Postgres => self.check_pg_guards(&expected).await?,
        }
        Ok(expected.len())
    }

    async fn check_sqlite_guards(&self, expected: &[Trigger]) -> Result<()> {
        let found: HashMap<String, (String, String)> =
            sqlx::query("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("name")?,
                        (r.try_get("tbl_name")?, r.try_get("sql")?),
                    ))
                })
                .collect::<Result<_>>()?;
        for t in expected {
            let Some((table, sql)) = found.get(&t.name) else {
                return Err(missing(t));
            };
            if table != t.table || Some(sql) != definition(Backend::Sqlite, &t.name).as_ref() {
                return Err(changed(t));
            }
        }
        Ok(())
    }

    async fn check_pg_guards(&self, expected: &[Trigger]) -> Result<()> {
        let rows = sqlx::query(
            "SELECT t.tgname::text AS name, c.relname::text AS tbl, t.tgenabled::text AS enabled, \
             t.tgtype::bigint AS tgtype, CASE WHEN t.tgqual IS NULL THEN 0 ELSE 1 END AS has_when, \
             p.proname::text AS func, p.prosrc AS body \
             FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid \
             WHERE n.nspname = current_schema() AND NOT t.tgisinternal",
        )
        .fetch_all(&self.read)
        .await?;
        let mut found = HashMap::new();
        for r in &rows {
            let has_when: i32 = r.try_get("has_when")?;
            found.insert(
                r.try_get::<String, _>("name")?,
                PgFound {
                    table: r.try_get("tbl")?,
                    enabled: r.try_get("enabled")?,
                    tgtype: r.try_get("tgtype")?,
                    has_when: has_when != 0,
                    function: r.try_get("func")?,
                    body: r.try_get("body")?,
                },
            );
        }
        for t in expected {
            let Some(f) = found.get(&t.name) else {
                return Err(missing(t));
            };
            // 'O': fires as usual; 'A': always. 'D' (disabled) and 'R' (replica only) do not
            // fire in an ordinary session.
            if !matches!(f.enabled.as_str(), "O" | "A") {
                return Err(StoreError::Integrity(format!(
                    "trigger {} on {} is disabled",
                    t.name, t.table
                )));
            }
            if f.table != t.table || f.tgtype != t.tgtype || f.has_when || f.function != t.function
            {
                return Err(changed(t));
            }
            if Some(&f.body) != definition(Backend::Postgres, t.function).as_ref() {
                return Err(StoreError::Integrity(format!(
                    "function {} behind trigger {} on {} differs from the one the migrations made",
                    t.function, t.name, t.table
                )));
            }
        }
        Ok(())
    }

    /// What `serve --no-migrate` (a runtime role that may not change the schema) checks
    /// instead of migrating: the schema is at this binary's version and every guard is there.
    pub async fn check_ready_without_migrating(&self) -> Result<()> {
        let version = self.schema_version().await?;
        if version != crate::MIGRATIONS_LATEST {
            return Err(StoreError::Migration(format!(
                "the database schema is at version {version}, this binary needs {}: run \
                 `moralbank migrate` as the database's owner first",
                crate::MIGRATIONS_LATEST
            )));
        }
        self.check_guards().await?;
        self.registry()
            .ensure_consent_text("enrolment", domain::ENROLMENT_CONSENT_VERSION)
            .await
    }
}

fn missing(t: &Trigger) -> StoreError {
    StoreError::Integrity(format!(
        "trigger {} on {} is missing: the table is not protected against changes",
        t.name, t.table
    ))
}

fn changed(t: &Trigger) -> StoreError {
    StoreError::Integrity(format!(
        "trigger {} on {} differs from the one the migrations made",
        t.name, t.table
    ))
}
