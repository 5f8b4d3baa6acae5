use crate::{i18n::Catalog, metrics::Metrics, otp::OtpSender};
use moralbank_store::ledger::Sequencer;
use moralbank_store::Store;
use std::sync::Arc;

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
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            demo_mode: false,
            cookie_secure: true,
            session_ttl_s: 8 * 3600,
            body_bytes_max: 64 * 1024,
            login_attempts_per_minute: 10,
        }
    }
}

impl AppState {
    /// The same state reading the time from `clock` (tests move it forward).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> AppState {
        self.clock = clock;
        self
    }

    /// The same state issuing moral codes with `codes`.
    pub fn with_codes(mut self, codes: CodeIssuer) -> AppState {
        self.codes = Some(codes);
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
}

impl Ledger {
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
        Ok(Ledger {
            sequencer,
            redeemer,
            vkey,
            retired_vkeys,
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
    /// Where evidence files are kept (outside the database).
    pub evidence_dir: Arc<std::path::PathBuf>,
    pub(crate) sender: Arc<dyn OtpSender>,
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) templates: Arc<minijinja::Environment<'static>>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limiter: Arc<crate::auth::RateLimiter>,
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
            sender,
            templates: Arc::new(crate::frame::views::environment(catalog.clone())),
            catalog,
            metrics: Arc::new(Metrics::new()),
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
