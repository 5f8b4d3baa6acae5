//! The `[sms]` table and the gateway it plugs in: how one-time codes reach residents' phones.
//! `sender = "dev"` (the default) sends nothing: `moralbank demo` shows the code on the page,
//! and `serve` warns at start that no code reaches anyone. `sender = "command"` runs the city's
//! adapter to its SMS gateway for every code: the adapter reads one line of JSON on stdin,
//! `{"phone": "…", "code": "…", "purpose": "sign_in" | "enrol"}`, and exits 0 once the gateway
//! took the message (its stdout is ignored). Anything else (another exit status, no exit within
//! `timeout_ms`) fails the request with a 500 and is logged without the phone or the code.

use crate::adapter::Adapter;
use crate::error::{CliError, Result};
use domain::{OtpCode, OtpPurpose, Phone};
use moralbank_web::{DevSender, OtpSender};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The `[sms]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// `dev` or `command`.
    pub sender: String,
    /// With `command`: the program and its arguments.
    pub command: Vec<String>,
    pub timeout_ms: u64,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            sender: "dev".into(),
            command: Vec::new(),
            timeout_ms: 5_000,
        }
    }
}

impl SmsConfig {
    /// The sender the configuration names, or why it cannot be made.
    pub fn sender(&self) -> Result<Arc<dyn OtpSender>> {
        match self.sender.as_str() {
            "dev" => Ok(Arc::new(DevSender)),
            "command" => {
                let Some((program, args)) = self.command.split_first() else {
                    return Err(CliError::Config(
                        "sms.sender = \"command\" needs sms.command (the program and its arguments)".into(),
                    ));
                };
                if !(100..=60_000).contains(&self.timeout_ms) {
                    return Err(CliError::Config(
                        "sms.timeout_ms must be 100 to 60000".into(),
                    ));
                }
                Ok(Arc::new(CommandSender(Adapter {
                    program: program.clone(),
                    args: args.to_vec(),
                    timeout: Duration::from_millis(self.timeout_ms),
                })))
            }
            other => Err(CliError::Config(format!(
                "sms.sender must be \"dev\" or \"command\", not \"{other}\""
            ))),
        }
    }

    /// Does a code reach the phone it is for?
    pub fn delivers(&self) -> bool {
        self.sender != "dev"
    }
}

/// Hands each code to the adapter (see the module's note).
pub struct CommandSender(Adapter);

impl OtpSender for CommandSender {
    fn send(
        &self,
        phone: &Phone,
        code: &OtpCode,
        purpose: OtpPurpose,
    ) -> std::result::Result<(), String> {
        let message = serde_json::json!({
            "phone": phone.as_str(), "code": code.as_str(), "purpose": purpose.as_str(),
        });
        self.0.ask(&message).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str, timeout_ms: u64) -> Arc<dyn OtpSender> {
        SmsConfig {
            sender: "command".into(),
            command: vec!["sh".into(), "-c".into(), script.into()],
            timeout_ms,
        }
        .sender()
        .expect("a sender")
    }

    fn code() -> (Phone, OtpCode) {
        (
            Phone::parse("13912345678").expect("phone"),
            OtpCode::parse("493021").expect("code"),
        )
    }

    #[test]
    fn the_adapter_gets_phone_code_and_purpose_on_stdin() {
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("sent.json");
        let (phone, code) = code();
        let s = shell(&format!("cat > '{}'", out.display()), 5_000);
        s.send(&phone, &code, OtpPurpose::Enrol).expect("sent");
        let sent: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
        assert_eq!(
            sent,
            serde_json::json!({"phone": "13912345678", "code": "493021", "purpose": "enrol"})
        );
    }

    #[test]
    fn a_failing_or_slow_gateway_fails_the_send_without_personal_data() {
        let (phone, code) = code();
        for (script, timeout, why) in [
            ("exit 1", 5_000, "exited"),
            ("sleep 5", 200, "no answer within 200 ms"),
        ] {
            let e = shell(script, timeout)
                .send(&phone, &code, OtpPurpose::SignIn)
                .unwrap_err();
            assert!(e.contains(why), "{script}: {e}");
            assert!(!e.contains("13912345678") && !e.contains("493021"), "{e}");
        }
    }

    #[test]
    fn the_configuration_names_what_is_wrong() {
        assert!(!SmsConfig::default().delivers());
        for (c, says) in [
            (
                SmsConfig {
                    sender: "command".into(),
                    ..SmsConfig::default()
                },
                "sms.command",
            ),
            (
                SmsConfig {
                    sender: "pigeon".into(),
                    ..SmsConfig::default()
                },
                "\"dev\" or \"command\"",
            ),
            (
                SmsConfig {
                    sender: "command".into(),
                    command: vec!["true".into()],
                    timeout_ms: 10,
                },
                "sms.timeout_ms",
            ),
        ] {
            let e = c.sender().err().expect("refused").to_string();
            assert!(e.contains(says), "{e}");
        }
    }
}
