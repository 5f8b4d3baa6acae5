//! Persistence for Moral Bank.
//!
//! One [`Store`] serves both SQLite (the default, embedded) and PostgreSQL (production): the SQL
//! is written once in the common dialect and runs through sqlx's `Any` driver; the only
//! backend-specific parts are the migration folders and the connection setup in this file.
//! Personal fields are encrypted here ([`vault`]) before they reach a row, and decrypted only
//! when a caller asks for a whole record. Business rules about *who* may read live in the web
//! layer; this crate only answers what is asked and keeps every write atomic.

mod access;
mod auth;
mod batch;
pub mod benefits;
mod citizens;
mod error;
pub mod evaluation;
pub mod green_cards;
pub mod ledger;
mod migrate;
pub mod redemptions;
mod regions;
pub mod seed;
mod staff;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;

pub use access::{AccessEntry, Actor};
pub use auth::{OtpIssued, Session, SubjectKind};
pub use citizens::{
    Citizen, CitizenQuery, CitizenSummary, Consent, Enrolled, HouseholdChoice, HouseholdMember,
    NewCitizen, Scope,
};
pub use error::StoreError;
pub use migrate::MIGRATIONS_LATEST;
pub use regions::{NewRegion, Region};
pub use staff::{ApiKey, ApiPrincipal, NewStaff, Partner, Staff, API_SCOPES, PARTNER_KINDS};
pub use vault::Vault;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    /// Create the SQLite file when it does not exist (demo and tests); `serve` and `migrate`
    /// refuse to create one silently.
    pub create_if_missing: bool,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    /// SQLite page cache per connection. The keyed-hash indexes of `citizens` take random
    /// inserts and lookups, so a cache far above SQLite's 2 MiB default matters at city scale.
    pub sqlite_cache_mib: u32,
}

impl ConnectOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            create_if_missing: false,
            max_connections: 8,
            busy_timeout_ms: 5_000,
            sqlite_cache_mib: 64,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    /// Readers. On PostgreSQL this is also the writer pool.
    read: AnyPool,
    /// Writers. On SQLite a single connection, so that write transactions queue in-process
    /// instead of failing with SQLITE_BUSY when two deferred transactions both try to upgrade.
    write: AnyPool,
    backend: Backend,
    vault: Vault,
}

impl Store {
    pub async fn connect(opts: &ConnectOptions, vault: Vault) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = parse_url(opts)?;
        let busy = opts.busy_timeout_ms;
        let cache_kib = u64::from(opts.sqlite_cache_mib) * 1024;
        let pool = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            use sqlx::Executor;
                            let pragmas = format!(
                                "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {busy}; PRAGMA cache_size = -{cache_kib}; \
                                 PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;"
                            );
                            conn.execute(pragmas.as_str()).await?;
                        }
                        Ok(())
                    })
                })
        };
        let read = pool(opts.max_connections.max(1)).connect(&url).await?;
        let write = match backend {
            Backend::Sqlite => pool(1).connect(&url).await?,
            Backend::Postgres => read.clone(),
        };
        Ok(Store {
            read,
            write,
            backend,
            vault,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Is the database reachable right now?
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Open and idle connections of the reader pool, for metrics.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.read.size(), self.read.num_idle())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn parse_url(opts: &ConnectOptions) -> Result<(Backend, String)> {
    let url = opts.url.trim();
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
    if !opts.create_if_missing && !std::path::Path::new(file).exists() {
        return Err(StoreError::Config(format!(
            "database_url: SQLite file '{file}' does not exist; run `moralbank migrate --create` \
             or `moralbank demo` to create one"
        )));
    }
    let mode = if opts.create_if_missing { "rwc" } else { "rw" };
    let sep = if query.is_empty() { "" } else { "&" };
    Ok((
        Backend::Sqlite,
        format!("sqlite://{file}?{query}{sep}mode={mode}"),
    ))
}

/// Today's date (`yyyy-mm-dd`, China Standard Time) at `at_ms`.
pub fn day_of(at_ms: i64) -> String {
    evaluation::day_of(at_ms)
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn opt_str(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scheme_and_missing_file_are_clear_errors() {
        let e = parse_url(&ConnectOptions::new("mysql://x")).unwrap_err();
        assert!(e.to_string().contains("unknown scheme 'mysql'"), "{e}");
        let e = parse_url(&ConnectOptions::new("sqlite:///nonexistent/dir/x.db")).unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let mut create = ConnectOptions::new("sqlite:///tmp/x.db");
        create.create_if_missing = true;
        assert_eq!(
            parse_url(&create).expect("ok").1,
            "sqlite:///tmp/x.db?mode=rwc"
        );
    }
}
