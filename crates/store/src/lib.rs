//! Persistence for Moral Bank.
//!
//! One [`Store`] serves both SQLite (the default, embedded) and PostgreSQL (production): the SQL
//! is written once in the common dialect and runs through sqlx's `Any` driver; every difference
//! between the two lives in [`sql`] (and the migration folders). The rooms, one folder per
//! capability as in the web crate: [`registry`] (regions, households, citizens, consents, the
//! access log), [`accounts`] (staff, partners, API keys, sessions and sign-in codes),
//! [`evaluation`] (standards and deeds), [`ledger`] (the points ledger and its public log),
//! [`code`] (scenes, benefits, green cards, redemptions); [`fixtures`] (the demo city and the
//! benchmarks' bulk loaders) only with the `fixtures` feature, never in the web layer.
//! Personal fields are encrypted here ([`vault`]) before they reach a row, and decrypted only
//! when a caller asks for a whole record. Business rules about *who* may read live in the web
//! layer (`authz`), who may act on a deed and what a step leads to in `domain::deed`; this crate
//! asks them, answers what is asked and keeps every write atomic.

/// A room's part of the store, named after the room: `store.registry()`, `store.ledger()`, …
/// A facet is only a reference to the store; its methods are the room's surface, and it reads
/// and writes through the store's pools (its `Deref`).
macro_rules! facet {
    ($facet:ident, $method:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy)]
        pub struct $facet<'a>(&'a $crate::Store);

        impl $crate::Store {
            #[doc = $doc]
            pub fn $method(&self) -> $facet<'_> {
                $facet(self)
            }
        }

        impl std::ops::Deref for $facet<'_> {
            type Target = $crate::Store;

            fn deref(&self) -> &$crate::Store {
                self.0
            }
        }
    };
}
pub(crate) use facet;

pub mod accounts;
mod batch;
pub mod citydata;
pub mod code;
pub mod credit;
pub mod dispatch;
mod error;
pub mod evaluation;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod guards;
pub mod ledger;
pub mod market;
mod migrate;
mod notices;
pub mod registry;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
pub mod vault;
mod wal;

pub use accounts::{
    ApiKey, ApiPrincipal, NewStaff, OtpIssued, Partner, Session, Staff, SubjectKind, API_SCOPES,
    BANK_SCOPES, PARTNER_KINDS,
};
pub use error::StoreError;
pub use migrate::MIGRATIONS_LATEST;
pub use registry::{
    AccessEntry, Actor, Citizen, CitizenQuery, CitizenSummary, Consent, Enrolled, HouseholdChoice,
    HouseholdMember, Identity, NewCitizen, NewRegion, PhoneProof, Region, Scope,
};
pub use sql::Backend;
pub use vault::Vault;
pub use wal::Checkpointed;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

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
    /// A large commit's WAL checkpoint, left to a connection of its own (SQLite).
    wal: wal::Deferred,
}

impl Store {
    pub async fn connect(opts: &ConnectOptions, vault: Vault) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = Backend::from_url(&opts.url, opts.create_if_missing)?;
        let pragmas = backend.connection_pragmas(
            opts.busy_timeout_ms,
            u64::from(opts.sqlite_cache_mib) * 1024,
        );
        let wal = wal::Deferred::default();
        let pool = |max: u32, writer: bool| {
            // The writer's statement journals (a many-row insert's undo, kept until the
            // statement ends) in memory, not spilled to a temporary file past 64 KiB.
            let pragmas = match (&pragmas, writer) {
                (Some(p), true) => Some(format!("{p} PRAGMA temp_store = MEMORY;")),
                (p, _) => p.clone(),
            };
            let options = AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _meta| {
                    let pragmas = pragmas.clone();
                    Box::pin(async move {
                        if let Some(p) = pragmas {
                            use sqlx::Executor;
                            conn.execute(p.as_str()).await?;
                        }
                        Ok(())
                    })
                });
            if !writer {
                return options;
            }
            // The writer's automatic checkpoint, put back after a large commit (`wal`).
            let wal = wal.clone();
            options.after_release(move |conn, _meta| {
                let wal = wal.clone();
                Box::pin(async move { Ok(wal.restore(conn).await) })
            })
        };
        let read = pool(opts.max_connections.max(1), false)
            .connect(&url)
            .await?;
        let write = if backend.single_writer() {
            pool(1, true).connect(&url).await?
        } else {
            read.clone()
        };
        Ok(Store {
            read,
            write,
            backend,
            vault,
            wal,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection of its own for a long job's look-ups beside its transaction (an import
    /// reads the next rows' residents while it writes these): taken out of the readers' pool
    /// for good (closed when dropped), its SQLite page cache kept to 8 MiB, as it reads each
    /// page about once.
    pub(crate) async fn lookup_connection(&self) -> Result<sqlx::AnyConnection> {
        let mut conn = self.read.acquire().await?.detach();
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA cache_size = -8192")
                .execute(&mut conn)
                .await?;
        }
        Ok(conn)
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
        self.wal_settled().await;
        self.write.close().await;
        self.read.close().await;
    }
}

/// Today's date (`yyyy-mm-dd`, China Standard Time) at `at_ms`.
pub fn day_of(at_ms: i64) -> String {
    domain::time::day_of(at_ms)
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
