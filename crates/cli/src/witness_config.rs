//! The `[witnessing]` table: which witnesses the log asks to cosign its checkpoints, where, and
//! how many of them receipts need (docs/ledger.md §11).

use crate::error::{CliError, Result};
use moralbank_ledger::witness::CosignatureVerifier;
use moralbank_witness::Endpoint;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[witnessing]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessingConfig {
    pub quorum: usize,
    pub interval_ms: u64,
    pub timeout_ms: u64,
    pub witnesses: Vec<WitnessEntry>,
}

/// One `[[witnessing.witnesses]]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEntry {
    /// What the `/log` page calls it, e.g. the institution's name.
    pub label: String,
    /// Its `cosignature/v1` verifier key (from `moralbank keys witness-generate`).
    pub vkey: String,
    /// Its submission prefix, e.g. `https://witness.bank.example`.
    pub url: String,
}

impl Default for WitnessingConfig {
    fn default() -> Self {
        WitnessingConfig {
            quorum: 0,
            interval_ms: 2_000,
            timeout_ms: 5_000,
            witnesses: Vec::new(),
        }
    }
}

impl WitnessingConfig {
    /// Every field's rule, with the field named.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(CliError::Config(format!("witnessing.{m}")));
        if !(100..=3_600_000).contains(&self.interval_ms) {
            return bad("interval_ms must be 100 to 3600000".into());
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return bad("timeout_ms must be 100 to 60000".into());
        }
        if self.quorum > self.witnesses.len() {
            return bad(format!(
                "quorum is {} but only {} witnesses are listed",
                self.quorum,
                self.witnesses.len()
            ));
        }
        for (i, w) in self.witnesses.iter().enumerate() {
            if CosignatureVerifier::new(&w.vkey).is_err() {
                return bad(format!(
                    "witnesses[{i}].vkey is not a cosignature/v1 verifier key (from `moralbank keys witness-generate`)"
                ));
            }
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return bad(format!(
                    "witnesses[{i}].url must start with http:// or https://"
                ));
            }
            if w.label.trim().is_empty() || w.label.chars().count() > 60 {
                return bad(format!("witnesses[{i}].label must be 1 to 60 characters"));
            }
        }
        Ok(())
    }

    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.witnesses
            .iter()
            .map(|w| Endpoint {
                vkey: w.vkey.trim().to_string(),
                url: w.url.clone(),
            })
            .collect()
    }

    /// (vkey, label) of each witness, for the web layer's policy.
    pub fn labelled(&self) -> Vec<(String, String)> {
        self.witnesses
            .iter()
            .map(|w| (w.vkey.trim().to_string(), w.label.clone()))
            .collect()
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> WitnessEntry {
        let (_, vkey) =
            moralbank_ledger::witness::generate_witness_key(name).expect("a witness key");
        WitnessEntry {
            label: "余姚农村商业银行".into(),
            vkey,
            url: "https://witness.bank.example".into(),
        }
    }

    fn refusal(c: &WitnessingConfig) -> String {
        c.check().expect_err("refused").to_string()
    }

    #[test]
    fn each_mistake_in_the_table_is_refused_naming_its_field() {
        let good = WitnessingConfig {
            quorum: 2,
            witnesses: vec![
                entry("w1.example"),
                entry("w2.example"),
                entry("w3.example"),
            ],
            ..WitnessingConfig::default()
        };
        assert!(good.check().is_ok());
        assert_eq!(good.endpoints().len(), 3);
        assert!(
            WitnessingConfig::default().check().is_ok(),
            "none by default"
        );

        let mut c = good.clone();
        c.quorum = 4;
        assert!(refusal(&c).starts_with("witnessing.quorum is 4 but only 3"));
        let mut c = good.clone();
        c.witnesses[1].vkey = "w2.example+00000000+AAAA".into();
        assert!(refusal(&c).starts_with("witnessing.witnesses[1].vkey"));
        let mut c = good.clone();
        c.witnesses[2].url = "ftp://witness.example".into();
        assert!(refusal(&c).starts_with("witnessing.witnesses[2].url"));
        let mut c = good.clone();
        c.witnesses[0].label = " ".into();
        assert!(refusal(&c).starts_with("witnessing.witnesses[0].label"));
        let mut c = good;
        c.interval_ms = 10;
        assert!(refusal(&c).starts_with("witnessing.interval_ms"));
    }
}
