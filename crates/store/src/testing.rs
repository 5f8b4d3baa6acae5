//! A fresh, migrated database per test, on SQLite (a temp file) or PostgreSQL (a new database
//! on the server named by `MORALBANK_TEST_PG_URL`, default the local `test` database), so tests
//! run in parallel without sharing state. With `CI=true` a missing PostgreSQL server is a test
//! failure, never a silent skip.

use crate::{Backend, ConnectOptions, Store, Vault};

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let mut opts = ConnectOptions::new(&url);
        opts.create_if_missing = true;
        let store = Store::connect(&opts, Vault::random())
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb {
            store,
            url,
            _dir: Some(dir),
        }
    }

    /// `None` (with a note on stderr) when no server answers and we are not in CI.
    pub async fn postgres() -> Option<TestDb> {
        sqlx::any::install_default_drivers();
        let admin_url =
            std::env::var("MORALBANK_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string());
        let admin = match sqlx::AnyPool::connect(&admin_url).await {
            Ok(p) => p,
            Err(e) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("CI=true but PostgreSQL at {admin_url} is unreachable: {e}");
                }
                eprintln!("skipping PostgreSQL test: {admin_url} unreachable ({e})");
                return None;
            }
        };
        sweep_stale_databases(&admin).await;
        let name = format!(
            "mbt_{}_{}",
            unix_s(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
        let url = format!("{base}/{name}");
        let store = Store::connect(&ConnectOptions::new(&url), Vault::random())
            .await
            .expect("open PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        Some(TestDb {
            store,
            url,
            _dir: None,
        })
    }
}

/// A test database older than this belongs to a finished run (no run lasts an hour).
const STALE_AFTER_S: u64 = 3600;

fn unix_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Drop the test databases of earlier runs (named `mbt_<unix seconds>_<random>`), so they do
/// not pile up on a developer's server. Best effort: a database still in use is left alone.
async fn sweep_stale_databases(admin: &sqlx::AnyPool) {
    use sqlx::Row;
    let Ok(rows) = sqlx::query(
        "SELECT datname::text AS datname FROM pg_database WHERE datname LIKE 'mbt\\_%'",
    )
    .fetch_all(admin)
    .await
    else {
        return;
    };
    let now = unix_s();
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let created = name.split('_').nth(1).and_then(|t| t.parse::<u64>().ok());
        // Names from before the timestamp scheme have no number: also stale.
        if created.is_none_or(|t| now.saturating_sub(t) > STALE_AFTER_S) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(admin)
                .await;
        }
    }
}

/// Run each listed `async fn(Store)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let db = $crate::testing::TestDb::sqlite().await;
                super::$name(db.store.clone()).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(db) = $crate::testing::TestDb::postgres().await else { return };
                super::$name(db.store.clone()).await;
                db.store.close().await;
            })*
        }
    };
}

impl Store {
    /// The first column of the first row of `sql`, an integer: tests that count rows straight
    /// in the database.
    pub async fn count_for_tests(&self, sql: &str) -> Result<i64, crate::StoreError> {
        use sqlx::Row;
        Ok(sqlx::query(sql).fetch_one(&self.read).await?.try_get(0)?)
    }

    /// Every row of `sql`, each column as text (`NULL` for null): tests that compare what two
    /// databases hold. Columns must be text or integers.
    pub async fn rows_for_tests(&self, sql: &str) -> Result<Vec<Vec<String>>, crate::StoreError> {
        use sqlx::Row;
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut cols = Vec::with_capacity(r.len());
            for i in 0..r.len() {
                let text = match r.try_get::<Option<String>, _>(i) {
                    Ok(v) => v,
                    Err(_) => r.try_get::<Option<i64>, _>(i)?.map(|n| n.to_string()),
                };
                cols.push(text.unwrap_or_else(|| "NULL".into()));
            }
            out.push(cols);
        }
        Ok(out)
    }

    /// The first column of the first row of `sql`, an integer, read on the writer's connection
    /// (tests of the writer's own settings, such as its WAL checkpoint).
    pub async fn writer_value_for_tests(&self, sql: &str) -> Result<i64, crate::StoreError> {
        use sqlx::Row;
        Ok(sqlx::query(sql).fetch_one(&self.write).await?.try_get(0)?)
    }

    /// Run a statement as it is, on the writer (tests that play an attacker with database
    /// access: dropping a trigger, changing a row).
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, crate::StoreError> {
        Ok(sqlx::raw_sql(sql)
            .execute(&self.write)
            .await?
            .rows_affected())
    }

    /// Play an attacker who can change the schema: drop every append-only guard of `table`, run
    /// `sql`, and put the guards back exactly as the migrations made them (so that
    /// [`Store::check_guards`] passes again and only the rows tell).
    pub async fn tamper_for_tests(&self, table: &str, sql: &str) -> Result<u64, crate::StoreError> {
        use crate::guards::{definition, triggers};
        let mine: Vec<_> = triggers(self.backend)
            .into_iter()
            .filter(|t| t.table == table)
            .collect();
        for t in &mine {
            self.execute_raw(&match self.backend {
                Backend::Sqlite => format!("DROP TRIGGER IF EXISTS {}", t.name),
                Backend::Postgres => format!("DROP TRIGGER IF EXISTS {} ON {table}", t.name),
            })
            .await?;
        }
        let changed = self.execute_raw(sql).await?;
        for t in &mine {
            let create =
                match self.backend {
                    Backend::Sqlite => {
                        definition(Backend::Sqlite, &t.name).expect("a trigger's definition")
                    }
                    Backend::Postgres => {
                        format!(
                    "CREATE TRIGGER {} BEFORE {} ON {table} FOR EACH {} EXECUTE FUNCTION {}()",
                    t.name,
                    if t.name.ends_with("_no_truncate") { "TRUNCATE" } else { "UPDATE OR DELETE" },
                    if t.name.ends_with("_no_truncate") { "STATEMENT" } else { "ROW" },
                    t.function
                )
                    }
                };
            self.execute_raw(&create).await?;
        }
        Ok(changed)
    }

    /// Create SQLite triggers again exactly as the migrations made them (tests that rebuild a
    /// table the triggers name, as an old migration run again does, drop them meanwhile).
    pub async fn recreate_sqlite_triggers_for_tests(
        &self,
        names: &[&str],
    ) -> Result<(), crate::StoreError> {
        for name in names {
            let create = crate::guards::definition(Backend::Sqlite, name)
                .ok_or_else(|| crate::StoreError::Config(format!("no trigger {name}")))?;
            self.execute_raw(&create).await?;
        }
        Ok(())
    }

    /// Enrol `new` as if a code had proved the phone (none is sent): unconfirmed, like every
    /// new enrolment.
    pub async fn enrol_for_tests(
        &self,
        new: &crate::NewCitizen,
    ) -> Result<crate::Enrolled, crate::StoreError> {
        let proof = crate::PhoneProof::assumed_for_tests(&new.phone, domain::OtpPurpose::Enrol);
        self.registry().enrol(new, &proof).await
    }

    /// Enrol `new` (as [`Store::enrol_for_tests`]) and count them as confirmed, like a
    /// resident enrolled before the real-name step: for tests about something else.
    pub async fn enrol_confirmed_for_tests(&self, new: &crate::NewCitizen) -> crate::Enrolled {
        let e = self.enrol_for_tests(new).await.expect("enrol");
        sqlx::query(
            "UPDATE citizens SET identity_confirmed_at = enrolled_at, \
             identity_confirmed_by = 'system:tests', identity_method = 'existing' WHERE id = $1",
        )
        .bind(&e.citizen_id)
        .execute(&self.write)
        .await
        .expect("confirm");
        e
    }

    /// The default catalogue, and a partner organisation named `name` that the standards
    /// `codes` trust with automatic submissions: for tests of partners' deeds. Returns its id.
    pub async fn trusted_partner_for_tests(&self, name: &str, codes: &[&str]) -> String {
        self.evaluation()
            .ensure_default_standards("staff:admin")
            .await
            .expect("standards");
        let partner = self
            .accounts()
            .create_partner(name, "hospital")
            .await
            .expect("partner")
            .id;
        for code in codes {
            let mut s = crate::evaluation::default_catalogue()
                .into_iter()
                .find(|s| s.code == *code)
                .expect("a standard of the default catalogue");
            s.trusted_partners = vec![partner.clone()];
            self.evaluation()
                .save_standard(&s, "staff:admin")
                .await
                .expect("standard");
        }
        partner
    }

    /// Ids of `n` enrolled citizens, in enrolment order.
    pub async fn citizen_ids(&self, n: i64) -> Vec<String> {
        use sqlx::Row;
        sqlx::query("SELECT id FROM citizens ORDER BY enrolled_at, id LIMIT $1")
            .bind(n)
            .fetch_all(&self.read)
            .await
            .expect("citizen ids")
            .iter()
            .map(|r| r.try_get("id").expect("id"))
            .collect()
    }
}

/// A ledger writer on `store` signing with a fresh test key: (the writer, its verifier key).
pub async fn start_sequencer(store: &Store) -> (crate::ledger::Sequencer, String) {
    let (key, vkey) = log_key();
    let (seq, _task) = crate::ledger::Sequencer::start(
        store.clone(),
        key,
        crate::ledger::SequencerConfig::default(),
    )
    .await
    .expect("the ledger writer starts");
    (seq, vkey)
}

/// An award of `amount` to citizen `c` for the writer's own tests (appended with
/// `Sequencer::append_unruled`).
pub fn test_award(c: &str, amount: i64) -> crate::ledger::NewEntry {
    crate::ledger::NewEntry::award(
        c,
        amount,
        "issuance:330281",
        "standard:neighbourly-help@1",
        "帮助邻居修理屋顶",
        "deed:test",
        vec!["staff:alice".into()],
    )
}

/// A log signing key for tests: (private key, verifier key).
pub fn log_key() -> (moralbank_ledger::LogKey, String) {
    let (skey, vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
    (
        moralbank_ledger::LogKey::from_private(&skey).expect("generated key"),
        vkey,
    )
}
