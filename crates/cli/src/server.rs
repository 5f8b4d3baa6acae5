//! Opening the database and serving the web app: shared by `serve`, `migrate` and `demo`.

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::keys;
use moralbank_store::{ConnectOptions, Store, StoreError, Vault};
use moralbank_web::{AppState, WebConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// `moralbank serve`: refuses to start without keys, without an existing database, or with a
/// database whose guards of history are not intact. With `migrate` false it changes no schema
/// (a runtime role may not): the schema must already be at this binary's version.
pub async fn serve(config: Config, migrate: bool) -> Result<()> {
    let vault = keys::load_vault(&config)?;
    let log_keys = crate::log_keys::read(&crate::log_keys::path(&config))?;
    let store = if migrate {
        open(&config, vault, false).await?
    } else {
        let store = connect(&config, vault, false).await?;
        store
            .check_ready_without_migrating()
            .await
            .map_err(refusal)?;
        store
    };
    let guards = store.check_guards().await.map_err(refusal)?;
    tracing::info!(
        triggers = guards,
        "the database's append-only guards are intact"
    );
    // A new installation starts with the published catalogue and the five scenes (the admin
    // changes them from there); an existing one is left as it is.
    store
        .evaluation()
        .ensure_default_standards("system:install")
        .await?;
    store.code().ensure_default_scenes().await?;
    let ledger = start_ledger(&store, &config, &log_keys).await?;
    run(store, ledger, &config, config.web.clone()).await
}

/// Why `serve` does not start, as an operator needs it.
fn refusal(e: StoreError) -> CliError {
    match e {
        StoreError::Integrity(what) => CliError::Check(format!(
            "refusing to start: the database's guards of history are not intact: {what}. Put it \
             back as the migrations made it (crates/store/migrations/, docs/operations.md), then \
             run `moralbank audit`"
        )),
        other => other.into(),
    }
}

/// Start the ledger's writer (it checks the stored tree against the log head first).
pub async fn start_ledger(
    store: &Store,
    config: &Config,
    keys: &crate::log_keys::LogKeyFile,
) -> Result<moralbank_web::Ledger> {
    Ok(moralbank_web::Ledger::start(
        store,
        keys.signer()?,
        keys.vkey.clone(),
        keys.retired_vkeys.clone(),
        config.ledger.sequencer()?,
    )
    .await?)
}

/// `moralbank migrate [--create]`.
pub async fn migrate(config: Config, create: bool) -> Result<()> {
    // Migrations never seal or open personal data, so they need no keys: an operator can
    // prepare a database before the keys are provisioned.
    let store = connect(&config, Vault::random(), create).await?;
    let ran = store.migrate().await?;
    let version = store.schema_version().await?;
    store.close().await;
    if ran == 0 {
        println!("database is up to date (schema version {version})");
    } else {
        println!("applied {ran} migration(s); schema version is now {version}");
    }
    Ok(())
}

pub fn connect_options(config: &Config, create: bool) -> ConnectOptions {
    ConnectOptions {
        url: config.database_url.clone(),
        create_if_missing: create,
        max_connections: config.max_connections,
        busy_timeout_ms: config.busy_timeout_ms,
        sqlite_cache_mib: config.sqlite_cache_mib,
    }
}

/// Connect; with `create`, also make the folder a new SQLite file goes into.
pub async fn connect(config: &Config, vault: Vault, create: bool) -> Result<Store> {
    if create {
        if let Some(dir) = sqlite_path(&config.database_url)
            .as_deref()
            .and_then(|p| p.parent())
        {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(CliError::io(format!("creating {}", dir.display())))?;
            }
        }
    }
    let store = Store::connect(&connect_options(config, create), vault)
        .await
        .map_err(|e| match e {
            // Say what was being attempted; the URL itself may hold a password, so it is not shown.
            StoreError::Database(e) => {
                CliError::Config(format!("cannot connect to the database: {e}"))
            }
            other => other.into(),
        })?;
    // The URL may hold a password: log only which backend it is.
    tracing::info!(backend = ?store.backend(), "database connected");
    Ok(store)
}

/// Connect and bring the schema up to date, as every start of the server does.
pub async fn open(config: &Config, vault: Vault, create: bool) -> Result<Store> {
    let store = connect(config, vault, create).await?;
    let ran = store.migrate().await?;
    if ran > 0 {
        tracing::info!(migrations = ran, "database migrated");
    }
    Ok(store)
}

/// The file of a `sqlite://` URL, `None` for other schemes.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.trim().strip_prefix("sqlite://")?;
    let file = rest.split('?').next().unwrap_or(rest);
    (!file.is_empty()).then(|| PathBuf::from(file))
}

/// Serve the app until Ctrl-C or SIGTERM, then finish the requests in flight and close the pool.
pub async fn run(
    store: Store,
    ledger: moralbank_web::Ledger,
    config: &Config,
    web: WebConfig,
) -> Result<()> {
    let listen = config.listen;
    let metrics_listen = web.metrics_addr().map_err(CliError::Config)?;
    web.check_open_data_k().map_err(CliError::Config)?;
    if !(1..=7 * 24 * 60).contains(&web.dispatch_offer_minutes) {
        return Err(CliError::Config(format!(
            "web.dispatch_offer_minutes must be 1 to 10080, not {}",
            web.dispatch_offer_minutes
        )));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(CliError::io(format!("listening on {listen}")))?;
    let addr = listener
        .local_addr()
        .map_err(CliError::io("reading the listening address"))?;
    let code_keys = crate::code_keys::read_published(
        &crate::code_keys::path(config),
        moralbank_store::now_ms() / 1000,
        config.code.longest_code_s(),
    )?;
    if !config.sms.delivers() && !web.demo_mode {
        tracing::warn!(
            "sms.sender is \"dev\": one-time codes reach nobody, so nobody can sign in or enrol; set [sms] (docs/enrolment.md)"
        );
    }
    config.witnessing.check()?;
    let ledger = ledger
        .with_witnesses(config.witnessing.labelled(), config.witnessing.quorum)
        .map_err(|e| CliError::Config(format!("witnessing: {e}")))?;
    let state = AppState::new(store.clone(), web, config.sms.sender()?, ledger)
        .with_verifier(config.identity.verifier()?)
        .with_rules(config.evaluation.rules()?)
        .with_evidence_dir(config.data_dir.join("evidence"))
        .with_codes(code_issuer(config, code_keys)?);
    let state = match credit_issuer(config)? {
        Some(c) => state.with_credit(c),
        None => {
            tracing::warn!(
                "no credit report keys: moral credit reports are unavailable until `moralbank keys credit-generate` (docs/credit.md)"
            );
            state
        }
    };
    let metrics = match metrics_listen {
        Some(addr) => Some(serve_metrics(addr, state.clone()).await?),
        None => None,
    };
    let purger = tokio::spawn(purge_expired_periodically(store.clone()));
    let crediter = tokio::spawn(credit_deeds_periodically(state.clone()));
    let sweeper = tokio::spawn(sweep_evidence_periodically(state.clone()));
    let folder = tokio::spawn(fold_statistics_periodically(store.clone()));
    let offers = tokio::spawn(expire_offers_periodically(
        store.clone(),
        i64::from(web_offer_minutes(&state)) * 60_000,
    ));
    // The market's matching index is derived from the database: built once before serving.
    let started = std::time::Instant::now();
    if let Err(e) = state.market.rebuild(&state.store).await {
        tracing::error!(error = %e, "building the market's matching index failed; it is built on first use");
    } else {
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "market matching index built"
        );
    }
    let reminders = tokio::spawn(remind_market_sessions_periodically(store.clone()));
    // Witnesses are asked off the append path: one task reading committed checkpoints.
    let collectors = moralbank_witness::collector::spawn(
        &store,
        &config.witnessing.endpoints(),
        config.witnessing.interval(),
        config.witnessing.timeout(),
    );
    let app = moralbank_web::app(state).into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = shutdown_signal();
    tracing::info!(%addr, "serving");
    println!("Moral Bank is serving on http://{addr}  (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(CliError::io("serving HTTP"))?;
    purger.abort();
    crediter.abort();
    sweeper.abort();
    folder.abort();
    offers.abort();
    reminders.abort();
    if let Some(c) = collectors {
        c.abort();
    }
    if let Some(m) = metrics {
        m.abort();
    }
    tracing::info!("shut down");
    store.close().await;
    Ok(())
}

/// `[web] metrics_listen`: `/metrics` alone, without a token, on its own address.
async fn serve_metrics(addr: SocketAddr, state: AppState) -> Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(CliError::io(format!("listening for metrics on {addr}")))?;
    tracing::info!(%addr, "serving metrics");
    println!("Metrics are served on http://{addr}/metrics");
    let app = moralbank_web::metrics_app(state);
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    }))
}

fn code_issuer(
    config: &Config,
    keys: crate::code_keys::CodeKeys,
) -> Result<moralbank_web::code::CodeIssuer> {
    let c = &config.code;
    domain::tier::check_thresholds(&c.tiers).map_err(|e| CliError::Config(format!("code.{e}")))?;
    if !(30..=3_600).contains(&c.phone_lifetime_s) || !(1..=3_650).contains(&c.printed_card_days) {
        return Err(CliError::Config(
            "code.phone_lifetime_s must be 30 to 3600 and code.printed_card_days 1 to 3650".into(),
        ));
    }
    Ok(moralbank_web::code::CodeIssuer {
        key: Arc::new(keys.signer),
        published: Arc::new(keys.published),
        issuer: moralbank_code::Issuer::parse(&c.issuer)
            .map_err(|e| CliError::Config(format!("code.issuer: {e}")))?,
        lifetimes: moralbank_code::Lifetimes {
            phone_s: i64::from(c.phone_lifetime_s),
            printed_card_s: i64::from(c.printed_card_days) * 86_400,
        },
        tiers: Arc::new(c.tiers.clone()),
    })
}

/// The credit report's issuer, when its keys exist (`DATA_DIR/credit-keys.toml`).
pub(crate) fn credit_issuer(
    config: &Config,
) -> Result<Option<moralbank_web::credit::CreditIssuer>> {
    let path = crate::code_keys::credit_path(config);
    if !path.exists() {
        return Ok(None);
    }
    let keys = crate::code_keys::read_published(
        &path,
        moralbank_store::now_ms() / 1000,
        crate::code_keys::CREDIT_LONGEST_S,
    )?;
    Ok(Some(moralbank_web::credit::CreditIssuer {
        key: Arc::new(keys.signer),
        published: Arc::new(keys.published),
        issuer: config.code.issuer.clone(),
        tiers: Arc::new(config.code.tiers.clone()),
        writer: None,
    }))
}

/// How often deeds whose publicity has ended are credited.
const CREDIT_INTERVAL_S: u64 = 60;

/// The credit run: idempotent (each deed's ledger key is its own), so a restart, an overlap
/// or a second server never credits twice.
async fn credit_deeds_periodically(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(CREDIT_INTERVAL_S));
    loop {
        tick.tick().await;
        match state.credit_due_deeds().await {
            Ok(r) if r.credited > 0 || r.failed > 0 => {
                tracing::info!(credited = r.credited, failed = r.failed, "deeds credited")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "crediting deeds failed; will retry"),
        }
    }
}

/// How often evidence files no deed refers to are removed.
const EVIDENCE_SWEEP_INTERVAL_S: u64 = 3600;

/// Uploads of a refused report, and files a deleted reference left, go after an hour.
async fn sweep_evidence_periodically(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(EVIDENCE_SWEEP_INTERVAL_S));
    loop {
        tick.tick().await;
        match state.sweep_evidence().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "unreferenced evidence files removed"),
            Err(e) => tracing::warn!(error = ?e, "sweeping evidence files failed; will retry"),
        }
    }
}

/// How often the dashboard's roll-ups take in the events recorded since the last fold.
const FOLD_INTERVAL_S: u64 = 5;

/// The fold is one transaction and safe to run from several servers at once.
async fn fold_statistics_periodically(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(FOLD_INTERVAL_S));
    loop {
        tick.tick().await;
        match store.citydata().fold_statistics().await {
            Ok(n) => tracing::debug!(events = n, "statistics folded"),
            Err(e) => tracing::warn!(error = %e, "folding statistics failed; will retry"),
        }
    }
}

/// How often unanswered volunteer offers are looked at: a lapsed one is expired and the task's
/// next candidate offered.
const OFFER_SWEEP_INTERVAL_S: u64 = 60;

fn web_offer_minutes(state: &moralbank_web::AppState) -> u32 {
    state.config.dispatch_offer_minutes.clamp(1, 7 * 24 * 60)
}

async fn expire_offers_periodically(store: Store, expiry_ms: i64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(OFFER_SWEEP_INTERVAL_S));
    loop {
        tick.tick().await;
        match store
            .dispatch()
            .sweep(expiry_ms, moralbank_store::now_ms())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(offers = n, "lapsed volunteer offers expired and moved on"),
            Err(e) => tracing::warn!(error = %e, "expiring volunteer offers failed; will retry"),
        }
    }
}

/// How often the market reminds enterprises of sessions starting within a day.
const REMINDER_INTERVAL_S: u64 = 300;

async fn remind_market_sessions_periodically(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(REMINDER_INTERVAL_S));
    loop {
        tick.tick().await;
        match store
            .market()
            .send_reminders(moralbank_store::now_ms())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(sign_ups = n, "matchmaking session reminders recorded"),
            Err(e) => tracing::warn!(error = %e, "market reminders failed; will retry"),
        }
    }
}

/// How often expired sessions, codes and invites are deleted.
const PURGE_INTERVAL_S: u64 = 600;

async fn purge_expired_periodically(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(PURGE_INTERVAL_S));
    loop {
        tick.tick().await;
        match store.accounts().purge_expired().await {
            Ok(n) => tracing::debug!(rows = n, "expired sessions, codes and invites purged"),
            Err(e) => tracing::warn!(error = %e, "purging expired rows failed; will retry"),
        }
        // Lapsed credit consents become `expired`, with their receipts to the household.
        match store
            .credit()
            .expire_consents(moralbank_store::now_ms())
            .await
        {
            Ok(n) => tracing::debug!(consents = n, "lapsed credit consents expired"),
            Err(e) => tracing::warn!(error = %e, "expiring credit consents failed; will retry"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The SIGTERM handler is registered when this is called, not
/// when the future is first polled: a signal that arrives just after "serving" is printed must
/// not find the default action (exit) still in place.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate => {},
        }
        tracing::info!("shutdown signal received; finishing requests in flight");
    }
}
