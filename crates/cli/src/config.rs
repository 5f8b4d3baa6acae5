//! Typed, layered configuration of the `moralbank` binary.
//!
//! Layers, each overriding the one before: built-in defaults → the TOML file named by
//! `--config` (or `MORALBANK_CONFIG`) → `MORALBANK_…` environment variables → command-line
//! flags. An environment variable names a key by its path, upper-cased, with tables joined by a
//! double underscore: `MORALBANK_DATABASE_URL`, `MORALBANK_WEB__DEMO_MODE=true`,
//! `MORALBANK_CRYPTO__KEYS__K1=…` (key ids taken from the environment are lower-cased).
//!
//! Unknown keys are an error naming the key, in the file and in the environment alike, so a typo
//! never silently falls back to a default. Secrets (`[crypto]`) are held in `secrecy` types,
//! never serialized, and never echoed in an error message.

use crate::error::{CliError, Result};
use moralbank_web::WebConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const ENV_PREFIX: &str = "MORALBANK_";
/// Variables with our prefix that are not configuration keys.
const ENV_NOT_CONFIG: &[&str] = &["MORALBANK_CONFIG", "MORALBANK_NEW_PASSWORD"];
/// Prefixes of variables read by the test harnesses, not by the binary.
const ENV_NOT_CONFIG_PREFIXES: &[&str] = &["MORALBANK_TEST_"];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    pub sqlite_cache_mib: u32,
    pub log: String,
    pub data_dir: PathBuf,
    pub web: WebConfig,
    pub ledger: LedgerConfig,
    pub evaluation: EvaluationConfig,
    pub code: CodeConfig,
    pub identity: crate::real_name::IdentityConfig,
    pub sms: crate::sms::SmsConfig,
    pub witnessing: crate::witness_config::WitnessingConfig,
    pub crypto: CryptoConfig,
}

/// The `[code]` table: the moral code's issuer name, lifetimes and tier thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CodeConfig {
    pub issuer: String,
    pub phone_lifetime_s: u32,
    pub printed_card_days: u32,
    pub tiers: Vec<i64>,
}

impl CodeConfig {
    /// The longest any code lives, plus the clock skew verifiers allow: how long a retired
    /// issuer key must stay published.
    pub fn longest_code_s(&self) -> i64 {
        let longest =
            i64::from(self.phone_lifetime_s).max(i64::from(self.printed_card_days) * 86_400);
        longest + moralbank_code::DEFAULT_CLOCK_SKEW_S
    }
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig {
            issuer: "moralbank.localhost".into(),
            phone_lifetime_s: 90,
            printed_card_days: 365,
            tiers: domain::tier::DEFAULT_THRESHOLDS.to_vec(),
        }
    }
}

/// The `[evaluation]` table: periods, quorum and limits of the committees' work.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluationConfig {
    pub publicity_days: u32,
    pub appeal_days: u32,
    /// 0: a majority of the committee's members.
    pub quorum: u32,
    pub reports_per_day: u32,
    pub objections_per_day: u32,
    pub overdue_days: u32,
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            publicity_days: 7,
            appeal_days: 15,
            quorum: 0,
            reports_per_day: 10,
            objections_per_day: 5,
            overdue_days: 14,
        }
    }
}

impl EvaluationConfig {
    pub fn rules(&self) -> crate::error::Result<moralbank_store::evaluation::Rules> {
        use domain::time::DAY_MS;
        if !(1..=90).contains(&self.publicity_days) || !(1..=90).contains(&self.appeal_days) {
            return Err(crate::error::CliError::Config(
                "evaluation.publicity_days and evaluation.appeal_days must be 1 to 90".into(),
            ));
        }
        Ok(moralbank_store::evaluation::Rules {
            publicity_ms: i64::from(self.publicity_days) * DAY_MS,
            appeal_ms: i64::from(self.appeal_days) * DAY_MS,
            quorum: (self.quorum > 0).then_some(self.quorum as usize),
            reports_per_day: i64::from(self.reports_per_day),
            objections_per_day: i64::from(self.objections_per_day),
            overdue_ms: i64::from(self.overdue_days.max(1)) * DAY_MS,
        })
    }
}

/// The `[ledger]` table: how the ledger's single writer batches appends.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    pub max_batch: usize,
    pub max_wait_ms: u64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        let d = moralbank_store::ledger::SequencerConfig::default();
        LedgerConfig {
            max_batch: d.max_batch,
            max_wait_ms: u64::try_from(d.max_wait.as_millis()).unwrap_or(1),
        }
    }
}

impl LedgerConfig {
    pub fn sequencer(&self) -> crate::error::Result<moralbank_store::ledger::SequencerConfig> {
        if !(1..=10_000).contains(&self.max_batch) || self.max_wait_ms > 1_000 {
            return Err(crate::error::CliError::Config(
                "ledger.max_batch must be 1 to 10000 and ledger.max_wait_ms at most 1000".into(),
            ));
        }
        Ok(moralbank_store::ledger::SequencerConfig {
            max_batch: self.max_batch,
            max_wait: std::time::Duration::from_millis(self.max_wait_ms),
            ..Default::default()
        })
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/moralbank.db".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_connections: 8,
            busy_timeout_ms: 5_000,
            sqlite_cache_mib: 64,
            log: "info,sqlx=warn".into(),
            data_dir: PathBuf::from("data"),
            web: WebConfig::default(),
            ledger: LedgerConfig::default(),
            evaluation: EvaluationConfig::default(),
            code: CodeConfig::default(),
            identity: crate::real_name::IdentityConfig::default(),
            sms: crate::sms::SmsConfig::default(),
            witnessing: crate::witness_config::WitnessingConfig::default(),
            crypto: CryptoConfig::default(),
        }
    }
}

/// The `[crypto]` table. When neither `keys` nor `hmac_key` is set, the keys are read from
/// `DATA_DIR/keys.toml` instead (see [`crate::keys`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CryptoConfig {
    /// The key new values are encrypted with; the others only decrypt older rows.
    pub current_key_id: String,
    /// Key id → hex of a 32-byte AES-256-GCM key.
    #[serde(skip_serializing)]
    pub keys: BTreeMap<String, HexSecret>,
    /// Hex of the HMAC-SHA-256 key (at least 32 bytes) behind lookups of phones and ID numbers.
    #[serde(skip_serializing)]
    pub hmac_key: Option<HexSecret>,
}

impl Default for CryptoConfig {
    fn default() -> Self {
        CryptoConfig {
            current_key_id: "k1".into(),
            keys: BTreeMap::new(),
            hmac_key: None,
        }
    }
}

/// A hex-encoded key as configured. Its `Debug` is redacted and it cannot be serialized.
#[derive(Clone)]
pub struct HexSecret(SecretString);

impl HexSecret {
    pub fn new(hex: String) -> HexSecret {
        HexSecret(SecretString::from(hex))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for HexSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HexSecret([redacted])")
    }
}

impl<'de> Deserialize<'de> for HexSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(HexSecret::new)
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Read the layers: `file` (if any), then the `MORALBANK_…` variables of `env`, then `flags`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Overrides,
    ) -> Result<Config> {
        let text = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(CliError::io(format!("config file {}", path.display())))?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        Config::from_layers(
            text.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
            env,
            flags,
        )
    }

    /// [`Config::load`] with the file already read: `file` is (name for messages, contents).
    pub fn from_layers(
        file: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Overrides,
    ) -> Result<Config> {
        let mut table = toml::Table::new();
        if let Some((name, text)) = file {
            // Parse into the typed config first: its errors name the key and carry the line.
            toml::from_str::<Config>(text)
                .map_err(|e| toml_error(&format!("config file {name}"), text, &e))?;
            table = toml::from_str::<toml::Table>(text)
                .map_err(|e| toml_error(&format!("config file {name}"), text, &e))?;
        }
        let defaults = defaults_table();
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX) && is_config_var(k))
            .collect();
        env.sort();
        for (name, raw) in env {
            let path: Vec<String> = name[ENV_PREFIX.len()..]
                .to_ascii_lowercase()
                .split("__")
                .map(str::to_string)
                .collect();
            let value = env_value(&defaults, &path, &raw)
                .map_err(|why| CliError::Config(format!("environment variable {name}: {why}")))?;
            set_path(&mut table, &path, value);
            // Check after each variable, so that a bad value is blamed on its variable.
            toml::Value::Table(table.clone())
                .try_into::<Config>()
                .map_err(|e| {
                    CliError::Config(format!("environment variable {name}: {}", e.message()))
                })?;
        }
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e| CliError::Config(format!("configuration: {}", e.message())))?;
        if let Some(url) = &flags.database_url {
            config.database_url = url.clone();
        }
        if let Some(listen) = flags.listen {
            config.listen = listen;
        }
        if let Some(dir) = &flags.data_dir {
            config.data_dir = dir.clone();
        }
        Ok(config)
    }
}

fn is_config_var(name: &str) -> bool {
    !ENV_NOT_CONFIG.contains(&name) && !ENV_NOT_CONFIG_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn defaults_table() -> toml::Table {
    match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(t)) => t,
        // The defaults are plain scalars and tables; serializing them cannot fail.
        _ => toml::Table::new(),
    }
}

/// A TOML error as one line: the message (which names the key) and the line number, but never
/// the source snippet, which could show a secret.
pub fn toml_error(source: &str, text: &str, e: &toml::de::Error) -> CliError {
    let line = e.span().map(|s| {
        text.as_bytes()[..s.start.min(text.len())]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    });
    let message = e.message().trim();
    match line {
        Some(line) => CliError::Config(format!("{source}, line {line}: {message}")),
        None => CliError::Config(format!("{source}: {message}")),
    }
}

/// The TOML value of one environment variable, typed like the default at the same path.
fn env_value(defaults: &toml::Table, path: &[String], raw: &str) -> Result<toml::Value, String> {
    let secret = match path {
        [a, b] => a == "crypto" && b == "hmac_key",
        [a, b, kid] => a == "crypto" && b == "keys" && !kid.is_empty(),
        _ => false,
    };
    if secret {
        return Ok(toml::Value::String(raw.to_string()));
    }
    let unknown = || format!("there is no configuration key '{}'", path.join("."));
    let mut table = defaults;
    let mut leaf = None;
    for (i, segment) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match table.get(segment) {
            Some(toml::Value::Table(t)) if !last => table = t,
            Some(v) if last && !v.is_table() => leaf = Some(v),
            _ => return Err(unknown()),
        }
    }
    let raw = raw.trim();
    match leaf {
        Some(toml::Value::String(_)) => Ok(toml::Value::String(raw.to_string())),
        Some(toml::Value::Integer(_)) => raw
            .parse()
            .map(toml::Value::Integer)
            .map_err(|_| "expected a whole number".to_string()),
        Some(toml::Value::Boolean(_)) => match raw {
            "true" => Ok(toml::Value::Boolean(true)),
            "false" => Ok(toml::Value::Boolean(false)),
            _ => Err("expected true or false".to_string()),
        },
        Some(toml::Value::Float(_)) => raw
            .parse()
            .map(toml::Value::Float)
            .map_err(|_| "expected a number".to_string()),
        Some(_) => {
            Err("this key cannot be set from the environment; use the config file".to_string())
        }
        None => Err(unknown()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = table;
    for p in parents {
        let entry = table
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(t) = entry else { return };
        table = t;
    }
    table.insert(last.clone(), value);
}

const HEADER: &str = "\
# Moral Bank configuration: the defaults, documented (`moralbank config default`).
#
# Layers, later ones win: these defaults -> this file (`--config FILE` or MORALBANK_CONFIG)
# -> environment variables -> command-line flags (--database-url, --listen, --data-dir).
# An environment variable is MORALBANK_ followed by the key's path in capitals, tables joined
# by a double underscore: MORALBANK_DATABASE_URL, MORALBANK_WEB__DEMO_MODE=true,
# MORALBANK_CRYPTO__HMAC_KEY, MORALBANK_CRYPTO__KEYS__K1.
# Unknown keys are an error.
";

/// One sentence or two per key, printed above it by `moralbank config default`.
const DOCS: &[(&str, &str)] = &[
    ("database_url", "Database: sqlite://PATH (WAL mode; the file must already exist, see\n`moralbank migrate --create`) or postgres://USER:PASSWORD@HOST:PORT/DATABASE."),
    ("listen", "Address and port the HTTP server listens on."),
    ("max_connections", "Database connections in the pool (SQLite writes through one connection regardless)."),
    ("busy_timeout_ms", "How long SQLite waits for a lock before giving up."),
    ("sqlite_cache_mib", "SQLite page cache per connection, in MiB (the citizens' lookup indexes are random-access)."),
    ("log", "Log filter in tracing's EnvFilter syntax. Logs never hold personal data or secrets."),
    ("data_dir", "Folder for the key files (keys.toml, log-keys.toml, code-keys.toml, credit-keys.toml), evidence files\n(evidence/) and, for `moralbank demo`, the demo database and demo-logins.txt."),
    ("web", "The HTTP layer."),
    ("web.demo_mode", "Show one-time sign-in codes on the page. For the demo only, never in production."),
    ("web.cookie_secure", "The site is served over HTTPS: cookies are marked Secure and every answer carries\nStrict-Transport-Security (HSTS, one year). Keep it on behind HTTPS; off only for plain\nhttp://127.0.0.1 development."),
    ("web.session_ttl_s", "How long a sign-in lasts, in seconds."),
    ("web.body_bytes_max", "Largest request body accepted, in bytes."),
    ("web.login_attempts_per_minute", "Password or code attempts allowed per client address and per account in one minute."),
    ("web.metrics_token", "Prometheus metrics on the public address: empty means /metrics is not served there\n(404); set (at least 16 characters, e.g. MORALBANK_WEB__METRICS_TOKEN), /metrics answers\nonly a request with `Authorization: Bearer <token>`. Secret."),
    ("web.metrics_listen", "A second address that serves only /metrics, without a token, e.g. \"127.0.0.1:9100\":\nreachable by the monitoring system alone. Empty: none."),
    ("web.open_data_k", "Open data: counts of people or households from 1 to k-1 are published as \"<k\", with\nwhatever would give them away withheld too (docs/city-data.md). At least 5."),
    ("web.dispatch_offer_minutes", "Volunteer dispatch: minutes an offer waits for its volunteer's answer before it lapses\nand the next candidate is offered (docs/dispatch.md); 1 to 10080."),
    ("ledger", "The points ledger's single writer: appends are committed in batches, each one\ndatabase transaction with its Merkle log hashes and a signed checkpoint."),
    ("ledger.max_batch", "Most entries committed in one transaction."),
    ("ledger.max_wait_ms", "Longest an append waits for others to join its batch, in milliseconds."),
    ("evaluation", "Citizen moral evaluation: how long an approved deed is published before its points are\ncredited, how long a rejection may be appealed, and the committees' limits."),
    ("evaluation.publicity_days", "Days an approved deed stays on the public board (公示) before its points are credited."),
    ("evaluation.appeal_days", "Days a rejected deed may be appealed to the town."),
    ("evaluation.quorum", "Votes that decide a deed; 0 means a majority of the village committee's members."),
    ("evaluation.reports_per_day", "Deeds one resident may report or nominate in a day."),
    ("evaluation.objections_per_day", "Objections one resident may raise in a day."),
    ("evaluation.overdue_days", "Days after which a waiting deed or appeal is shown as overdue."),
    ("code", "The moral code (道德码): the issuer's name in codes, how long a phone's code and a printed\ncard live, and the credit points each tier starts at (the first must be 0)."),
    ("code.issuer", "The issuer named in every code (the city's Moral Bank host)."),
    ("code.phone_lifetime_s", "Seconds a phone's code is valid; the page fetches a new one before then."),
    ("code.printed_card_days", "Days a printed card is valid (eligibility benefits only)."),
    ("code.tiers", "Credit points each tier starts at, ascending from 0 (default five tiers)."),
    ("identity", "The real-name step: each new resident is confirmed to be who they say, in person at their\nvillage office (a clerk types the name and number from the ID card), or by an official\nreal-name service plugged in here. Unconfirmed residents get no points and no moral code yet."),
    ("identity.verifier", "\"none\": in person only. \"command\": also ask `command` about each new resident."),
    ("identity.command", "The real-name service's adapter, program and arguments. It reads one JSON line\n{\"name\", \"resident_id\", \"phone\"} on stdin and prints {\"confirmed\": true} or {\"confirmed\": false}."),
    ("identity.name", "The service's name, recorded with each confirmation it gives (verifier:<name>)."),
    ("identity.timeout_ms", "How long the service may take; past it the resident is confirmed in person instead."),
    ("sms", "How one-time codes reach residents' phones (sign-in and enrolment). \"dev\" sends nothing:\nthe demo shows the code on the page, and `serve` warns that no code reaches anyone."),
    ("sms.sender", "\"dev\": no delivery (demo and development). \"command\": hand each code to `command`."),
    ("sms.command", "The SMS gateway's adapter, program and arguments. It reads one JSON line\n{\"phone\", \"code\", \"purpose\"} on stdin and exits 0 once the gateway took the message."),
    ("sms.timeout_ms", "How long the gateway may take; past it the request fails (500) and may be retried."),
    ("crypto", "Encryption of personal data at rest (AES-256-GCM) and keyed lookups (HMAC-SHA-256).\nWhen neither hmac_key nor [crypto.keys] is set here or in the environment, the keys are\nread from DATA_DIR/keys.toml, which `moralbank keys generate` writes (`moralbank demo`\nwrites one on its first run)."),
    ("witnessing", "Witnesses: partner institutions that cosign the log's checkpoints (C2SP tlog-witness), so that\nthe city cannot show two histories. Each is listed as [[witnessing.witnesses]] with label,\nvkey (from `moralbank keys witness-generate`) and url (docs/ledger.md). None by default."),
    ("witnessing.quorum", "Cosignatures a checkpoint needs before it is served as witnessed and put in receipts\n(e.g. 2 of 3): from 0 to the number of witnesses listed."),
    ("witnessing.interval_ms", "How often each witness is asked about the newest checkpoint, in milliseconds; a failing\nwitness is asked less often, down to once a minute."),
    ("witnessing.timeout_ms", "How long one witness may take to answer, in milliseconds."),
    ("witnessing.witnesses", "The witnesses: [[witnessing.witnesses]] tables with label, vkey and url."),
    ("crypto.current_key_id", "The key new values are encrypted with; keep older keys listed so older rows stay readable."),
];

const CRYPTO_PLACEHOLDERS: &str = "
# Key for lookups of phones and ID numbers: hex, at least 32 bytes. Secret.
# hmac_key = \"<hex, at least 64 characters>\"

# Encryption keys: key id = hex of exactly 32 bytes. Secret.
# [crypto.keys]
# k1 = \"<hex, 64 characters>\"
";

fn doc(path: &str) -> Option<&'static str> {
    DOCS.iter().find(|(p, _)| *p == path).map(|(_, d)| *d)
}

fn push_doc(out: &mut String, path: &str) {
    if let Some(doc) = doc(path) {
        for line in doc.lines() {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// The default configuration as commented TOML; secrets appear only as commented placeholders.
/// It parses back into [`Config::default`].
pub fn default_toml() -> String {
    let body = toml::to_string(&Config::default()).unwrap_or_default();
    let mut out = String::from(HEADER);
    let mut table = String::new();
    for line in body.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            table = name.to_string();
            out.push('\n');
            push_doc(&mut out, &table);
        } else if let Some((key, _)) = trimmed.split_once(" = ") {
            let path = if table.is_empty() {
                key.to_string()
            } else {
                format!("{table}.{key}")
            };
            if table.is_empty() {
                out.push('\n');
            }
            push_doc(&mut out, &path);
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(CRYPTO_PLACEHOLDERS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_shows_the_current_default_configuration() {
        let readme = include_str!("../../../README.md");
        assert!(
            readme.contains(&format!("```toml\n{}```", default_toml())),
            "README's configuration reference differs from `moralbank config default`; paste the new output"
        );
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Config> {
        Config::from_layers(
            file.map(|t| ("test.toml", t)),
            env(vars),
            &Overrides::default(),
        )
    }

    fn as_toml(c: &Config) -> String {
        toml::to_string(c).expect("config serializes")
    }

    #[test]
    fn no_file_and_no_environment_gives_the_defaults() {
        let c = load(
            None,
            &[("PATH", "/bin"), ("MORALBANK_TEST_PG_URL", "postgres://x")],
        )
        .expect("loads");
        assert_eq!(as_toml(&c), as_toml(&Config::default()));
        assert_eq!(c.database_url, "sqlite://data/moralbank.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.log, "info,sqlx=warn");
    }

    #[test]
    fn the_file_overrides_the_defaults_and_keeps_the_rest() {
        let c = load(
            Some("database_url = \"postgres://db/mb\"\n[web]\ndemo_mode = true\n"),
            &[],
        )
        .expect("loads");
        assert_eq!(c.database_url, "postgres://db/mb");
        assert!(c.web.demo_mode);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.web.session_ttl_s, WebConfig::default().session_ttl_s);
    }

    #[test]
    fn the_environment_overrides_the_file_and_flags_override_both() {
        let file = "database_url = \"sqlite://file.db\"\nlisten = \"127.0.0.1:9000\"\nmax_connections = 3\n";
        let vars = [
            ("MORALBANK_DATABASE_URL", "sqlite://env.db"),
            ("MORALBANK_MAX_CONNECTIONS", "12"),
            ("MORALBANK_WEB__DEMO_MODE", "true"),
            ("MORALBANK_WEB__SESSION_TTL_S", "60"),
        ];
        let c = load(Some(file), &vars).expect("loads");
        assert_eq!(c.database_url, "sqlite://env.db");
        assert_eq!(c.max_connections, 12);
        assert!(c.web.demo_mode);
        assert_eq!(c.web.session_ttl_s, 60);
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");

        let flags = Overrides {
            database_url: Some("sqlite://flag.db".into()),
            listen: Some("0.0.0.0:1234".parse().expect("addr")),
            data_dir: Some("elsewhere".into()),
        };
        let c = Config::from_layers(Some(("f", file)), env(&vars), &flags).expect("loads");
        assert_eq!(c.database_url, "sqlite://flag.db");
        assert_eq!(c.listen.to_string(), "0.0.0.0:1234");
        assert_eq!(c.data_dir, PathBuf::from("elsewhere"));
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_it() {
        let e = load(
            Some("database_url = \"sqlite://x.db\"\ndatabse_pool = 3\n"),
            &[],
        )
        .expect_err("must fail")
        .to_string();
        assert!(e.contains("databse_pool") && e.contains("line 2"), "{e}");
        let e = load(Some("[web]\ndemo_mod = true\n"), &[])
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("demo_mod"), "{e}");
        let e = load(Some("[crypto]\nhmac = \"00\"\n"), &[])
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("hmac"), "{e}");
    }

    #[test]
    fn an_unknown_or_malformed_environment_variable_is_an_error_naming_it() {
        let e = load(None, &[("MORALBANK_DATABASEURL", "x")])
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("MORALBANK_DATABASEURL"), "{e}");
        let e = load(None, &[("MORALBANK_WEB__DEMO_MODE", "yes")])
            .expect_err("must fail")
            .to_string();
        assert!(
            e.contains("MORALBANK_WEB__DEMO_MODE") && e.contains("true or false"),
            "{e}"
        );
        let e = load(None, &[("MORALBANK_LISTEN", "localhost")])
            .expect_err("must fail")
            .to_string();
        assert!(e.contains("MORALBANK_LISTEN"), "{e}");
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_show_in_debug_output() {
        let secret = "ab".repeat(32);
        let c = load(
            None,
            &[
                ("MORALBANK_CRYPTO__HMAC_KEY", &secret),
                ("MORALBANK_CRYPTO__KEYS__K2", &secret),
            ],
        )
        .expect("loads");
        assert_eq!(
            c.crypto.hmac_key.as_ref().map(HexSecret::expose),
            Some(secret.as_str())
        );
        assert_eq!(
            c.crypto.keys.get("k2").map(HexSecret::expose),
            Some(secret.as_str())
        );
        assert!(!format!("{c:?}").contains(&secret));
        assert!(!as_toml(&c).contains(&secret));
    }

    #[test]
    fn a_secret_is_not_echoed_when_the_file_around_it_is_broken() {
        let secret = "cd".repeat(32);
        let e = load(
            Some(&format!("[crypto]\nhmac_key = \"{secret}\"\nkeys = 3\n")),
            &[],
        )
        .expect_err("must fail")
        .to_string();
        assert!(!e.contains(&secret), "{e}");
        let e = load(Some(&format!("[crypto]\nhmac_key = \"{secret}\n")), &[])
            .expect_err("must fail")
            .to_string();
        assert!(!e.contains(&secret), "{e}");
    }

    #[test]
    fn the_printed_default_configuration_parses_back_into_the_defaults() {
        let text = default_toml();
        let c = load(Some(&text), &[]).expect("default config parses");
        assert_eq!(as_toml(&c), as_toml(&Config::default()));
        assert!(c.crypto.keys.is_empty() && c.crypto.hmac_key.is_none());
        assert!(
            text.contains("# hmac_key = ") && text.contains("# k1 = "),
            "{text}"
        );
    }

    #[test]
    fn every_default_key_is_documented() {
        fn walk(prefix: &str, t: &toml::Table, missing: &mut Vec<String>) {
            for (k, v) in t {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if doc(&path).is_none() {
                    missing.push(path.clone());
                }
                if let toml::Value::Table(t) = v {
                    walk(&path, t, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk("", &defaults_table(), &mut missing);
        assert!(
            missing.is_empty(),
            "add these keys to DOCS in config.rs: {missing:?}"
        );
    }
}
