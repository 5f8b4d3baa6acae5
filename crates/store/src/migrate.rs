//! Embedded migrations, one folder per backend, applied in order inside a transaction each.
//! A released migration is never edited: add a new file instead.

use crate::{now_ms, Result, Store, StoreError};
use sqlx::Row;

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "ledger",
        sqlite: include_str!("../migrations/sqlite/0002_ledger.sql"),
        postgres: include_str!("../migrations/postgres/0002_ledger.sql"),
    },
    Migration {
        version: 3,
        name: "evaluation",
        sqlite: include_str!("../migrations/sqlite/0003_evaluation.sql"),
        postgres: include_str!("../migrations/postgres/0003_evaluation.sql"),
    },
    Migration {
        version: 4,
        name: "green_cards",
        sqlite: include_str!("../migrations/sqlite/0004_green_cards.sql"),
        postgres: include_str!("../migrations/postgres/0004_green_cards.sql"),
    },
    Migration {
        version: 5,
        name: "benefits",
        sqlite: include_str!("../migrations/sqlite/0005_benefits.sql"),
        postgres: include_str!("../migrations/postgres/0005_benefits.sql"),
    },
    Migration {
        version: 6,
        name: "redemptions",
        sqlite: include_str!("../migrations/sqlite/0006_redemptions.sql"),
        postgres: include_str!("../migrations/postgres/0006_redemptions.sql"),
    },
    Migration {
        version: 7,
        name: "ledger_keys",
        sqlite: include_str!("../migrations/sqlite/0007_ledger_keys.sql"),
        postgres: include_str!("../migrations/postgres/0007_ledger_keys.sql"),
    },
    Migration {
        version: 8,
        name: "evaluation_indexes",
        sqlite: include_str!("../migrations/sqlite/0008_evaluation_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0008_evaluation_indexes.sql"),
    },
    Migration {
        version: 9,
        name: "evaluation_fairness",
        sqlite: include_str!("../migrations/sqlite/0009_evaluation_fairness.sql"),
        postgres: include_str!("../migrations/postgres/0009_evaluation_fairness.sql"),
    },
    Migration {
        version: 10,
        name: "evaluation_live_indexes",
        sqlite: include_str!("../migrations/sqlite/0010_evaluation_live_indexes.sql"),
        postgres: include_str!("../migrations/postgres/0010_evaluation_live_indexes.sql"),
    },
    Migration {
        version: 11,
        name: "deed_key_scope",
        sqlite: include_str!("../migrations/sqlite/0011_deed_key_scope.sql"),
        postgres: include_str!("../migrations/postgres/0011_deed_key_scope.sql"),
    },
    Migration {
        version: 12,
        name: "points_by_rules",
        sqlite: include_str!("../migrations/sqlite/0012_points_by_rules.sql"),
        postgres: include_str!("../migrations/postgres/0012_points_by_rules.sql"),
    },
    Migration {
        version: 13,
        name: "enrolment_proof",
        sqlite: include_str!("../migrations/sqlite/0013_enrolment_proof.sql"),
        postgres: include_str!("../migrations/postgres/0013_enrolment_proof.sql"),
    },
    Migration {
        version: 14,
        name: "append_only",
        sqlite: include_str!("../migrations/sqlite/0014_append_only.sql"),
        postgres: include_str!("../migrations/postgres/0014_append_only.sql"),
    },
    Migration {
        version: 15,
        name: "citydata_imports",
        sqlite: include_str!("../migrations/sqlite/0015_citydata_imports.sql"),
        postgres: include_str!("../migrations/postgres/0015_citydata_imports.sql"),
    },
    Migration {
        version: 16,
        name: "city_statistics",
        sqlite: include_str!("../migrations/sqlite/0016_city_statistics.sql"),
        postgres: include_str!("../migrations/postgres/0016_city_statistics.sql"),
    },
    Migration {
        version: 17,
        name: "city_imports",
        sqlite: include_str!("../migrations/sqlite/0017_city_imports.sql"),
        postgres: include_str!("../migrations/postgres/0017_city_imports.sql"),
    },
    Migration {
        version: 18,
        name: "credit",
        sqlite: include_str!("../migrations/sqlite/0018_credit.sql"),
        postgres: include_str!("../migrations/postgres/0018_credit.sql"),
    },
    Migration {
        version: 19,
        name: "dispatch",
        sqlite: include_str!("../migrations/sqlite/0019_dispatch.sql"),
        postgres: include_str!("../migrations/postgres/0019_dispatch.sql"),
    },
    Migration {
        version: 20,
        name: "market",
        sqlite: include_str!("../migrations/sqlite/0020_market.sql"),
        postgres: include_str!("../migrations/postgres/0020_market.sql"),
    },
    Migration {
        version: 21,
        name: "witnesses",
        sqlite: include_str!("../migrations/sqlite/0021_witnesses.sql"),
        postgres: include_str!("../migrations/postgres/0021_witnesses.sql"),
    },
    Migration {
        version: 22,
        name: "stats_deed_triggers",
        sqlite: include_str!("../migrations/sqlite/0022_stats_deed_triggers.sql"),
        postgres: include_str!("../migrations/postgres/0022_stats_deed_triggers.sql"),
    },
];

/// The version of the newest migration.
pub const MIGRATIONS_LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Every migration's text for `backend`, oldest first (the guards' definitions are read from it).
pub(crate) fn migration_texts(backend: crate::Backend) -> impl Iterator<Item = &'static str> {
    MIGRATIONS
        .iter()
        .map(move |m| backend.pick(m.sqlite, m.postgres))
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

impl Store {
    /// Apply every migration not yet applied; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        sqlx::query(BOOKKEEPING).execute(&self.write).await?;
        let current = self.schema_version().await?;
        if current > MIGRATIONS_LATEST {
            return Err(StoreError::Migration(format!(
                "database is at version {current}, newer than this binary ({MIGRATIONS_LATEST})"
            )));
        }
        let mut ran = 0;
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            let sql = self.backend.pick(m.sqlite, m.postgres);
            let mut tx = self.write.begin().await?;
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration(format!("{:04}_{}: {e}", m.version, m.name)))?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "migration applied");
            ran += 1;
        }
        // The consent text in force is part of what this binary ships: record when it was
        // first published here (idempotent, so every start may do it).
        self.registry()
            .ensure_consent_text("enrolment", domain::ENROLMENT_CONSENT_VERSION)
            .await?;
        Ok(ran)
    }

    /// The highest applied migration, 0 for an empty database.
    pub async fn schema_version(&self) -> Result<i64> {
        let n: i64 = sqlx::query(self.backend.table_exists_sql())
            .bind("schema_migrations")
            .fetch_one(&self.read)
            .await?
            .try_get("n")?;
        if n == 0 {
            return Ok(0);
        }
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("v")?)
    }

    pub async fn migrations_current(&self) -> Result<bool> {
        Ok(self.schema_version().await? == MIGRATIONS_LATEST)
    }
}

#[cfg(feature = "testing")]
impl Store {
    /// Run a released migration's text again, for tests of what it does to rows written before
    /// it (set up with [`Store::execute_for_tests`]).
    pub async fn rerun_migration_for_tests(&self, version: i64) -> Result<()> {
        let m = MIGRATIONS
            .iter()
            .find(|m| m.version == version)
            .ok_or_else(|| StoreError::Migration(format!("no migration {version}")))?;
        sqlx::raw_sql(self.backend.pick(m.sqlite, m.postgres))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Run `sql` on the writer, for tests that must set up a row no code path writes any more.
    pub async fn execute_for_tests(&self, sql: &str) -> Result<u64> {
        Ok(sqlx::raw_sql(sql)
            .execute(&self.write)
            .await?
            .rows_affected())
    }
}
