//! The HTTP layer of Moral Bank: server-rendered pages for residents and staff, the JSON API
//! under `/api/v1` for partners, health, readiness and metrics.
//!
//! It owns authentication (cookie sessions with CSRF tokens for pages, bearer tokens and API
//! keys for the API), the route × role authorisation rules ([`authz`]), the mapping of every
//! error to RFC 9457 problem details ([`error`]) and the translations ([`i18n`]). It must not
//! contain SQL: storage is asked through `moralbank_store::Store`.
//!
//! This file is the composition root: the application's state ([`AppState`], which holds what
//! every capability shares: the store, the ledger's writer, the code issuer, the translations,
//! the limits) and the one router ([`app`]) that composes every capability's routes. Modules
//! depend on it, and on each other without circles (a test checks that).

mod accounts;
pub mod api;
mod auth;
pub mod authz;
pub mod citydata;
pub mod clock;
pub mod code;
pub mod credit;
pub mod dispatch;
pub mod error;
pub mod evaluation;
mod frame;
mod headers;
mod idempotency;
pub mod ledger;
pub mod market;
mod metrics;
mod otp;
mod real_name;
mod registry;

pub use frame::i18n;
pub use otp::{DevSender, OtpSender};
pub use real_name::{NoVerifier, RealNameAnswer, RealNameVerifier};

use axum::Router;
use frame::i18n::Catalog;
use metrics::Metrics;
use moralbank_store::ledger::Sequencer;
use moralbank_store::Store;
use std::sync::Arc;

/// The whole application: pages, API, health and metrics, with limits and request metrics.
/// Shared by `moralbank serve`, `moralbank demo` and the tests. Every capability's routers are
/// composed here and nowhere else.
pub fn app(state: AppState) -> Router {
    let body_max = state.config.body_bytes_max;
    // Deed reports carry photos and partners send CSV files: their routes have their own,
    // larger limit.
    let uploads = Router::new()
        .merge(evaluation::pages::upload_router())
        .merge(evaluation::api::upload_router())
        .merge(citydata::api::upload_router())
        .merge(citydata::pages::upload_router())
        .merge(credit::api::upload_router())
        .layer(axum::extract::DefaultBodyLimit::max(
            evaluation::evidence::UPLOAD_BYTES_MAX,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            evaluation::evidence::UPLOAD_BYTES_MAX,
        ));
    let api = Router::new()
        .merge(api::router())
        .merge(registry::api::router())
        .merge(accounts::api::router())
        .merge(ledger::api::router())
        .merge(evaluation::api::router())
        .merge(code::issue::api_router())
        .merge(code::green_cards::api_router())
        .merge(code::benefits::api_router())
        .merge(citydata::api::router())
        .merge(credit::api::router())
        .fallback(|| async { error::AppError::NotFound("API route") });
    Router::new()
        .merge(frame::router())
        .merge(registry::pages::router())
        .merge(registry::home::router())
        .merge(accounts::pages::router())
        .merge(api::page_router())
        .merge(ledger::pages::router())
        .merge(evaluation::pages::router())
        .merge(code::issue::page_router())
        .merge(code::scanner::router())
        .merge(code::green_cards::page_router())
        .merge(code::benefits::page_router())
        .merge(code::benefits_admin::router())
        .merge(ledger::log::router())
        .merge(citydata::pages::router())
        .merge(citydata::open::router())
        .merge(citydata::dashboard::router())
        .merge(credit::public_router())
        .merge(credit::resident::router())
        .merge(credit::bank::router())
        .merge(credit::admin::router())
        .merge(dispatch::resident::router())
        .merge(dispatch::console::router())
        .merge(market::public::router())
        .merge(market::console::router())
        .merge(market::office::router())
        .merge(market::expert::router())
        .nest("/api/v1", api)
        .merge(metrics::router(&state.config))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(body_max))
        .merge(uploads)
        .fallback(frame::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            frame::render_failures,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::map_response(too_large_as_problem))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::secure,
        ))
        .with_state(state)
}

/// `/metrics` alone, without a token: for the separate listener `[web] metrics_listen` (an
/// address only the monitoring system can reach). The public app serves `/metrics` only when
/// `[web] metrics_token` is set, and then only to a request bearing it.
pub fn metrics_app(state: AppState) -> Router {
    metrics::private_router().with_state(state)
}

/// The body limit answers a too-large request (by its Content-Length, before any handler
/// runs) with plain text, and a form extractor does the same for a body that grows too large
/// while streaming; give every such answer the same problem details as the rest of the API.
async fn too_large_as_problem(res: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_problem = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if res.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_problem {
        return error::AppError::TooLarge.into_response();
    }
    res
}

/// Settings of the HTTP layer (the `[web]` table of the configuration).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Demo mode shows one-time codes on the sign-in page. Never on in production.
    pub demo_mode: bool,
    /// Mark cookies `Secure` (on behind HTTPS; off for plain http://127.0.0.1 development).
    pub cookie_secure: bool,
    /// How long a sign-in lasts.
    pub session_ttl_s: u64,
    /// Largest request body accepted.
    pub body_bytes_max: usize,
    /// Password or code attempts per client address and per account in one minute.
    pub login_attempts_per_minute: u32,
    /// `/metrics` on the public listener: absent (404) when empty; when set, served only to a
    /// request with `Authorization: Bearer <this token>` (401 otherwise).
    pub metrics_token: Secret,
    /// A second listener that serves only `/metrics`, without a token (`127.0.0.1:9100`: an
    /// address only the monitoring system reaches); none when empty.
    pub metrics_listen: String,
    /// Open data: a count of people or households from 1 to k−1 is published as "<k" (and
    /// whatever would give it away is withheld too). At least 5.
    pub open_data_k: i64,
    /// Volunteer dispatch: minutes an offer waits for its volunteer's answer before it lapses
    /// and the next candidate is offered (1 to 10080).
    pub dispatch_offer_minutes: u32,
}

impl WebConfig {
    /// Checks the open data's smallest publishable count.
    pub fn check_open_data_k(&self) -> Result<(), String> {
        use domain::citydata::disclosure::K_MIN;
        if !(K_MIN..=1_000).contains(&self.open_data_k) {
            return Err(format!(
                "web.open_data_k must be {K_MIN} to 1000, not {}",
                self.open_data_k
            ));
        }
        Ok(())
    }

    /// Checks the metrics settings (a token, when set, has at least 16 characters; the listen
    /// address parses) and gives the separate metrics listener's address, if one is configured.
    pub fn metrics_addr(&self) -> Result<Option<std::net::SocketAddr>, String> {
        if !self.metrics_token.is_empty() && self.metrics_token.0.chars().count() < 16 {
            return Err("web.metrics_token must be at least 16 characters (or empty: off)".into());
        }
        match self.metrics_listen.trim() {
            "" => Ok(None),
            addr => addr.parse().map(Some).map_err(|_| {
                format!("web.metrics_listen: '{addr}' is not an address and port such as 127.0.0.1:9100")
            }),
        }
    }
}

/// A configured secret: never shown by `Debug`, compared in constant time.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `presented` is this secret (never, when the secret is empty).
    pub(crate) fn matches(&self, presented: &str) -> bool {
        use sha2::Digest;
        !self.0.is_empty()
            && moralbank_store::vault::ct_eq(
                &sha2::Sha256::digest(self.0.as_bytes()),
                &sha2::Sha256::digest(presented.as_bytes()),
            )
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret([redacted])"
        })
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            demo_mode: false,
            cookie_secure: true,
            session_ttl_s: 8 * 3600,
            body_bytes_max: 64 * 1024,
            login_attempts_per_minute: 10,
            metrics_token: Secret::default(),
            metrics_listen: String::new(),
            open_data_k: domain::citydata::disclosure::K_DEFAULT,
            dispatch_offer_minutes: domain::dispatch::OFFER_EXPIRY_MINUTES_DEFAULT,
        }
    }
}

impl AppState {
    /// The same state, its log's checkpoints cosigned by the witnesses given as (vkey, label),
    /// `quorum` of them required (see [`Ledger::with_witnesses`]).
    pub fn with_witnesses(
        mut self,
        witnesses: Vec<(String, String)>,
        quorum: usize,
    ) -> Result<AppState, moralbank_ledger::witness::PolicyError> {
        self.ledger = self.ledger.with_witnesses(witnesses, quorum)?;
        Ok(self)
    }

    /// The same state reading the time from `clock` (tests move it forward).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> AppState {
        self.clock = clock;
        self
    }

    /// The same state issuing moral credit reports with `credit` (and its report writer,
    /// started here on the state's store when it has none; inside a Tokio runtime).
    pub fn with_credit(mut self, mut credit: credit::CreditIssuer) -> AppState {
        if credit.writer.is_none() {
            credit.writer = Some(moralbank_store::credit::writer::ReportWriter::start(
                self.store.clone(),
            ));
        }
        self.credit = Some(credit);
        self
    }

    /// The same state issuing moral codes with `codes`.
    pub fn with_codes(mut self, codes: CodeIssuer) -> AppState {
        self.codes = Some(codes);
        self
    }

    /// The same state asking `verifier`, an official real-name service, about each new resident
    /// (without one, every resident is confirmed in person at the village office).
    pub fn with_verifier(mut self, verifier: Arc<dyn RealNameVerifier>) -> AppState {
        self.verifier = verifier;
        self
    }

    /// The same state keeping evidence files in `dir`.
    pub fn with_evidence_dir(mut self, dir: std::path::PathBuf) -> AppState {
        self.evidence_dir = Arc::new(dir);
        self
    }

    /// The same state with other evaluation rules (publicity and appeal periods, quorum, limits).
    pub fn with_rules(mut self, rules: moralbank_store::evaluation::Rules) -> AppState {
        self.rules = Arc::new(rules);
        self
    }

    /// Credit every deed whose publicity has ended, through the ledger (the server runs this
    /// periodically; idempotent).
    pub async fn credit_due_deeds(
        &self,
    ) -> Result<moralbank_store::evaluation::CreditReport, moralbank_store::StoreError> {
        let mut total = moralbank_store::evaluation::CreditReport::default();
        loop {
            let r = self
                .store
                .evaluation()
                .credit_due(&self.ledger.sequencer, self.clock.now_ms(), 5_000)
                .await?;
            total.credited += r.credited;
            total.failed += r.failed;
            if r.credited == 0 || r.failed > 0 {
                return Ok(total);
            }
        }
    }
}

/// The ledger's writer and the public identity of its log.
#[derive(Clone)]
pub struct Ledger {
    pub sequencer: Sequencer,
    /// Records redemption decisions in batches, spending points through `sequencer`.
    pub redeemer: moralbank_store::code::redemptions::Redeemer,
    /// The log's verifier key in the note "vkey" format, served at `/log/vkey`.
    pub vkey: String,
    /// Verifier keys of earlier (rotated) signing keys, still needed to check old checkpoints.
    pub retired_vkeys: Vec<String>,
    /// The trust policy served at `/log/policy`: the log's key, the witnesses that cosign its
    /// checkpoints and the quorum receipts are held to (no witnesses until configured).
    pub policy: Arc<moralbank_ledger::Policy>,
    /// Each witness's name (its key's) and what the `/log` page calls it (e.g. the bank's name).
    pub witness_labels: Arc<Vec<(String, String)>>,
}

impl Ledger {
    /// The same ledger, its checkpoints cosigned by the witnesses given as (`cosignature/v1`
    /// vkey, label), `quorum` of them required.
    pub fn with_witnesses(
        mut self,
        witnesses: Vec<(String, String)>,
        quorum: usize,
    ) -> Result<Ledger, moralbank_ledger::witness::PolicyError> {
        let vkeys = witnesses.iter().map(|(vkey, _)| vkey.clone()).collect();
        self.policy = Arc::new(moralbank_ledger::Policy::new(
            self.vkey.clone(),
            vkeys,
            quorum,
        )?);
        self.witness_labels = Arc::new(
            witnesses
                .into_iter()
                .map(|(vkey, label)| (vkey.split('+').next().unwrap_or("").to_string(), label))
                .collect(),
        );
        Ok(self)
    }

    /// The witnesses' names, in the policy's order.
    pub fn witness_names(&self) -> Vec<String> {
        self.policy.witness_names()
    }

    /// Start the ledger's writer (and the redemption writer) on `store`, signing with `key` (whose verifier key is `vkey`).
    /// The writers stop when the last handle (this and its clones) is dropped.
    pub async fn start(
        store: &Store,
        key: moralbank_ledger::LogKey,
        vkey: String,
        retired_vkeys: Vec<String>,
        config: moralbank_store::ledger::SequencerConfig,
    ) -> Result<Ledger, moralbank_store::StoreError> {
        let (sequencer, _task) = Sequencer::start(store.clone(), key, config).await?;
        let (redeemer, _task) = moralbank_store::code::redemptions::Redeemer::start(
            store.clone(),
            sequencer.clone(),
            Default::default(),
        );
        let policy = Arc::new(moralbank_ledger::Policy {
            log_vkey: vkey.clone(),
            witnesses: Vec::new(),
            quorum: 0,
        });
        Ok(Ledger {
            sequencer,
            redeemer,
            vkey,
            retired_vkeys,
            policy,
            witness_labels: Arc::new(Vec::new()),
        })
    }
}

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<WebConfig>,
    pub ledger: Ledger,
    pub clock: Arc<dyn crate::clock::Clock>,
    pub rules: Arc<moralbank_store::evaluation::Rules>,
    /// The moral code's issuer; `None` until its keys are configured (pages then say so).
    pub codes: Option<CodeIssuer>,
    /// The moral credit report's issuer; `None` until its keys are configured.
    pub credit: Option<credit::CreditIssuer>,
    /// Where evidence files are kept (outside the database).
    pub evidence_dir: Arc<std::path::PathBuf>,
    pub(crate) sender: Arc<dyn OtpSender>,
    pub(crate) verifier: Arc<dyn RealNameVerifier>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) templates: Arc<minijinja::Environment<'static>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Arc<crate::auth::RateLimiter>,
    /// The technology supermarket's matching index (built from the database).
    pub market: Arc<crate::market::MarketSearch>,
}

impl AppState {
    pub fn new(
        store: Store,
        config: WebConfig,
        sender: Arc<dyn OtpSender>,
        ledger: Ledger,
    ) -> AppState {
        let catalog = Arc::new(Catalog::load());
        AppState {
            store,
            ledger,
            clock: Arc::new(crate::clock::SystemClock),
            rules: Arc::new(moralbank_store::evaluation::Rules::default()),
            evidence_dir: Arc::new(std::path::PathBuf::from("data/evidence")),
            codes: None,
            credit: None,
            sender,
            verifier: Arc::new(NoVerifier),
            templates: Arc::new(crate::frame::views::environment(catalog.clone())),
            catalog,
            metrics: Arc::new(Metrics::new()),
            market: Arc::new(crate::market::MarketSearch::default()),
            limiter: Arc::new(crate::auth::RateLimiter::new(
                config.login_attempts_per_minute,
            )),
            config: Arc::new(config),
        }
    }
}

/// The issuer: its signing key, the published public keys (current and still-valid old ones),
/// its name in codes, the code lifetimes and the tier thresholds.
#[derive(Clone)]
pub struct CodeIssuer {
    pub key: Arc<moralbank_code::IssuerKey>,
    pub published: Arc<moralbank_code::KeySet>,
    pub issuer: moralbank_code::Issuer,
    pub lifetimes: moralbank_code::Lifetimes,
    pub tiers: Arc<Vec<i64>>,
}
