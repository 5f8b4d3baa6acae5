//! The `[identity]` table and the real-name service it plugs in: a command, the city's adapter
//! to an official service (a carrier's check that a phone is registered to a name and ID
//! number, the national identity platform, …), asked about every new resident. Without one
//! (`verifier = "none"`, the default) every resident is confirmed in person at their village
//! office.
//!
//! The adapter is run once per enrolment with no personal data on its command line (which other
//! users of the machine can read): it reads one line of JSON on stdin,
//! `{"name": "…", "resident_id": "…", "phone": "…"}`, and prints `{"confirmed": true}` or
//! `{"confirmed": false}` on stdout, exiting 0. Anything else (another exit status, no answer
//! within `timeout_ms`, unreadable output) leaves the resident to the village office, and is
//! logged without the personal data.

use crate::adapter::Adapter;
use crate::error::{CliError, Result};
use domain::{PersonName, Phone, ResidentId};
use moralbank_web::{NoVerifier, RealNameAnswer, RealNameVerifier};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The `[identity]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// `none` or `command`.
    pub verifier: String,
    /// With `command`: the program and its arguments.
    pub command: Vec<String>,
    /// The service's name in the record of a confirmation (`verifier:<name>`).
    pub name: String,
    pub timeout_ms: u64,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            verifier: "none".into(),
            command: Vec::new(),
            name: "real-name".into(),
            timeout_ms: 5_000,
        }
    }
}

impl IdentityConfig {
    /// The verifier the configuration names, or why it cannot be made.
    pub fn verifier(&self) -> Result<Arc<dyn RealNameVerifier>> {
        match self.verifier.as_str() {
            "none" => Ok(Arc::new(NoVerifier)),
            "command" => {
                let Some((program, args)) = self.command.split_first() else {
                    return Err(CliError::Config(
                        "identity.verifier = \"command\" needs identity.command (the program and its arguments)".into(),
                    ));
                };
                let name_ok = !self.name.is_empty()
                    && self.name.len() <= 32
                    && self
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !name_ok || !(100..=60_000).contains(&self.timeout_ms) {
                    return Err(CliError::Config(
                        "identity.name must be 1 to 32 of a-z, 0-9, '-', '_' and identity.timeout_ms 100 to 60000".into(),
                    ));
                }
                Ok(Arc::new(CommandVerifier {
                    name: self.name.clone(),
                    adapter: Adapter {
                        program: program.clone(),
                        args: args.to_vec(),
                        timeout: Duration::from_millis(self.timeout_ms),
                    },
                }))
            }
            other => Err(CliError::Config(format!(
                "identity.verifier must be \"none\" or \"command\", not \"{other}\""
            ))),
        }
    }
}

/// Asks an adapter program (see the module's note).
pub struct CommandVerifier {
    name: String,
    adapter: Adapter,
}

#[derive(Deserialize)]
struct Answer {
    confirmed: bool,
}

impl RealNameVerifier for CommandVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn verify(
        &self,
        name: &PersonName,
        resident_id: &ResidentId,
        phone: &Phone,
    ) -> std::result::Result<RealNameAnswer, String> {
        let question = serde_json::json!({
            "name": name.as_str(), "resident_id": resident_id.as_str(), "phone": phone.as_str(),
        });
        let out = self.adapter.ask(&question)?;
        let answer: Answer = serde_json::from_str(out.trim())
            .map_err(|_| "the answer is not {\"confirmed\": true|false}".to_string())?;
        Ok(if answer.confirmed {
            RealNameAnswer::Confirmed
        } else {
            RealNameAnswer::NotConfirmed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person() -> (PersonName, ResidentId, Phone) {
        (
            PersonName::parse("王小明").expect("name"),
            ResidentId::parse("11010519491231002X").expect("id"),
            Phone::parse("13912345678").expect("phone"),
        )
    }

    fn shell(script: &str, timeout_ms: u64) -> Arc<dyn RealNameVerifier> {
        IdentityConfig {
            verifier: "command".into(),
            command: vec!["sh".into(), "-c".into(), script.into()],
            name: "carrier".into(),
            timeout_ms,
        }
        .verifier()
        .expect("a verifier")
    }

    #[test]
    fn the_adapter_reads_the_person_on_stdin_and_answers_on_stdout() {
        let (n, r, p) = person();
        // Confirms exactly this name, number and phone, read from stdin.
        let v = shell(
            r#"read q; case "$q" in *'"name":"王小明"'*'"phone":"13912345678"'*'"resident_id":"11010519491231002X"'*) echo '{"confirmed": true}';; *) echo '{"confirmed": false}';; esac"#,
            5_000,
        );
        assert_eq!(v.name(), "carrier");
        assert_eq!(v.verify(&n, &r, &p), Ok(RealNameAnswer::Confirmed));
        let other = Phone::parse("13912345679").expect("phone");
        assert_eq!(v.verify(&n, &r, &other), Ok(RealNameAnswer::NotConfirmed));
    }

    #[test]
    fn a_failing_slow_or_garbled_adapter_confirms_nobody_and_says_why_without_personal_data() {
        let (n, r, p) = person();
        for (script, timeout, why) in [
            ("exit 3", 5_000, "exited"),
            ("sleep 5", 200, "no answer within 200 ms"),
            ("echo yes", 5_000, "not {\"confirmed\""),
        ] {
            let e = shell(script, timeout).verify(&n, &r, &p).unwrap_err();
            assert!(e.contains(why), "{script}: {e}");
            for secret in ["王小明", "11010519491231002X", "13912345678"] {
                assert!(!e.contains(secret), "{e}");
            }
        }
        let missing = IdentityConfig {
            verifier: "command".into(),
            command: vec!["/nonexistent/adapter".into()],
            ..IdentityConfig::default()
        }
        .verifier()
        .expect("made");
        assert!(missing.verify(&n, &r, &p).unwrap_err().contains("starting"));
    }

    #[test]
    fn the_configuration_names_what_is_wrong() {
        let none = IdentityConfig::default().verifier().expect("none");
        let (n, r, p) = person();
        assert_eq!(none.verify(&n, &r, &p), Ok(RealNameAnswer::NotConfirmed));
        for (c, says) in [
            (
                IdentityConfig {
                    verifier: "command".into(),
                    ..IdentityConfig::default()
                },
                "identity.command",
            ),
            (
                IdentityConfig {
                    verifier: "oracle".into(),
                    ..IdentityConfig::default()
                },
                "\"none\" or \"command\"",
            ),
            (
                IdentityConfig {
                    verifier: "command".into(),
                    command: vec!["true".into()],
                    name: "has space".into(),
                    ..IdentityConfig::default()
                },
                "identity.name",
            ),
        ] {
            let e = c.verifier().err().expect("refused").to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
