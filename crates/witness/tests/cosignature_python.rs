#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Interoperability: checkpoints cosigned by our witness key, checked by an independent Python
//! implementation of signed-note and `cosignature/v1` (`py/verify_cosigned.py`, written from
//! the C2SP texts with `cryptography`), which must agree with our verifier on good, missing,
//! altered and moved cosignatures. Runs from the virtual environment `.ci/run` makes under
//! target/pyverify; skipped without it, except in CI.

use moralbank_ledger::witness::{generate_witness_key, WitnessKey};
use moralbank_ledger::{Hash, LogKey, Policy};
use serde_json::Value;
use std::process::Command;

const PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/pyverify/venv/bin/python"
);
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py/verify_cosigned.py");

fn python() -> Option<&'static str> {
    let ready = Command::new(PYTHON)
        .args(["-c", "import cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {PYTHON} cannot import cryptography: .ci/run installs it"
        );
        eprintln!("skipping: no {PYTHON} with cryptography (.ci/run makes it)");
        return None;
    }
    Some(PYTHON)
}

fn python_says(python: &str, policy: &str, note: &str) -> (bool, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.txt"), policy).unwrap();
    std::fs::write(dir.path().join("checkpoint.txt"), note).unwrap();
    let out = Command::new(python)
        .arg(SCRIPT)
        .arg(dir.path().join("policy.txt"))
        .arg(dir.path().join("checkpoint.txt"))
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout);
    (
        out.status.success(),
        serde_json::from_str(line.trim()).unwrap_or(Value::Null),
    )
}

#[test]
fn python_checks_our_cosignatures_as_we_do() {
    let Some(python) = python() else { return };
    let (skey, vkey) = moralbank_ledger::generate_log_key("yuyao.moralbank.example/log");
    let log = LogKey::from_private(&skey).unwrap();
    let witnesses: Vec<(WitnessKey, String)> = ["bank", "hospital", "library"]
        .iter()
        .map(|w| {
            let (s, v) = generate_witness_key(&format!("witness.{w}.yuyao.example")).unwrap();
            (WitnessKey::from_private(&s).unwrap(), v)
        })
        .collect();
    let policy_text = format!(
        "log {vkey}\n{}quorum 2\n",
        witnesses
            .iter()
            .map(|(_, v)| format!("witness {v}\n"))
            .collect::<String>()
    );
    let policy = Policy::parse(&policy_text).unwrap();
    let note = log.sign(20_852_163, Hash([0x2a; 32])).unwrap();
    let body = &note[..=note.find("\n\n").unwrap()];
    let cosign = |i: usize, ts: u64| witnesses[i].0.cosign(body.as_bytes(), ts);

    let cases = [
        (
            "two of three",
            format!(
                "{note}{}{}",
                cosign(0, 1_679_315_147),
                cosign(2, 1_700_000_000)
            ),
        ),
        (
            "one of three",
            format!("{note}{}", cosign(1, 1_679_315_147)),
        ),
        ("none", note.clone()),
        ("altered timestamp", {
            let line = cosign(0, 1_679_315_147);
            let (head, b64) = line.trim_end().rsplit_once(' ').unwrap();
            let mut raw =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
            raw[11] ^= 1;
            format!(
                "{note}{head} {}\n{}",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw),
                cosign(1, 5)
            )
        }),
        ("moved to another size", {
            let other = log.sign(20_852_164, Hash([0x2a; 32])).unwrap();
            format!("{other}{}{}", cosign(0, 1), cosign(1, 2))
        }),
    ];
    for (what, text) in cases {
        let ours = policy.require_quorum(&text);
        let (ok, theirs) = python_says(python, &policy_text, &text);
        assert_eq!(ok, ours.is_ok(), "{what}: ours {ours:?}, Python {theirs}");
        if let Ok(w) = ours {
            let names: Vec<&str> = w.cosigners.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(theirs["cosigners"], serde_json::json!(names), "{what}");
            assert_eq!(theirs["size"], 20_852_163, "{what}");
        }
    }
}
