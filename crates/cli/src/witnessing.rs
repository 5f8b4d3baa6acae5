//! Witnesses from the command line: a witness's key file (`moralbank keys witness-generate`), `moralbank witness`
//! (a partner's witness server) and `moralbank monitor` (an auditor following a log). The
//! protocol is `moralbank_ledger::witness`'s, the IO `moralbank_witness`'s.

use crate::error::{CliError, Result};
use crate::keys::write_private_file;
use moralbank_ledger::witness::{generate_witness_key, WitnessKey};
use moralbank_ledger::Policy;
use moralbank_witness::monitor::{Monitor, MonitorState};
use moralbank_witness::Witness;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use crate::witness_config::WitnessEntry;

pub const WITNESS_KEY_FILE_NAME: &str = "witness-key.toml";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessKeyFile {
    /// `PRIVATE+KEY+<name>+<id>+…` (cosignature/v1). Secret.
    private_key: String,
    /// Public: give it to the log's operator.
    vkey: String,
}

/// Write `dir/witness-key.toml` (mode 0600, never overwritten) for a witness named `name`;
/// returns the vkey.
pub fn generate_key(dir: &Path, name: &str) -> Result<String> {
    let (private_key, vkey) =
        generate_witness_key(name).map_err(|e| CliError::Usage(format!("--name: {e}")))?;
    std::fs::create_dir_all(dir).map_err(CliError::io(format!("creating {}", dir.display())))?;
    let file = WitnessKeyFile { private_key, vkey };
    let text = format!(
        "# A Moral Bank witness's key, written by `moralbank keys witness-generate`.\n\
         # private_key cosigns checkpoints: keep this file secret (mode 0600) and backed up.\n\
         # vkey is public: the log's operator lists it in [witnessing].\n{}",
        toml::to_string(&file).unwrap_or_default()
    );
    write_private_file(&dir.join(WITNESS_KEY_FILE_NAME), &text, false)?;
    Ok(file.vkey)
}

pub fn read_key(dir: &Path) -> Result<WitnessKey> {
    let path = dir.join(WITNESS_KEY_FILE_NAME);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Config(format!(
            "{}: {e}; make one with `moralbank keys witness-generate --name <name> --dir {}`",
            path.display(),
            dir.display()
        ))
    })?;
    let file: WitnessKeyFile = toml::from_str(&text)
        .map_err(|e| CliError::Config(format!("{}: {}", path.display(), e.message())))?;
    WitnessKey::from_private(&file.private_key)
        .map_err(|_| CliError::Config(format!("{}: the private key is not valid", path.display())))
}

/// A key given on the command line: a file holding it, or the key itself.
fn key_arg(arg: &str) -> Result<String> {
    let p = Path::new(arg);
    if p.is_file() {
        std::fs::read_to_string(p)
            .map(|t| t.trim().to_string())
            .map_err(CliError::io(format!("reading {}", p.display())))
    } else {
        Ok(arg.trim().to_string())
    }
}

pub fn open_witness(dir: &Path, log_vkeys: &[String]) -> Result<Arc<Witness>> {
    let key = read_key(dir)?;
    let mut logs = Vec::new();
    for arg in log_vkeys {
        let vkey = key_arg(arg)?;
        moralbank_ledger::parse_vkey(&vkey).map_err(|_| {
            CliError::Usage(format!(
                "--log-vkey: {arg} is neither a file holding a log's verifier key nor one (fetch it from the log's /log/vkey)"
            ))
        })?;
        logs.push(vkey);
    }
    if logs.is_empty() {
        return Err(CliError::Usage(
            "name at least one log with --log-vkey".into(),
        ));
    }
    Witness::open(key, logs, dir)
        .map(Arc::new)
        .map_err(CliError::io(format!(
            "opening the witness's folder {}",
            dir.display()
        )))
}

/// `moralbank witness`.
pub async fn witness_command(dir: &Path, listen: SocketAddr, log_vkeys: &[String]) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(CliError::io(format!("listening on {listen}")))?;
    let witness = open_witness(dir, log_vkeys)?;
    println!(
        "witness {} serving on http://{listen}  (POST /add-checkpoint; Ctrl-C to stop)\nvkey {}",
        witness.name(),
        witness.vkey()
    );
    moralbank_witness::server::serve(witness, listener, crate::server::shutdown_signal())
        .await
        .map_err(CliError::io("serving the witness"))
}

/// A trust policy from `--policy FILE` or, without one, `--vkey` alone (no witnesses).
pub fn policy_arg(policy: Option<&Path>, vkey: Option<&str>) -> Result<Policy> {
    match (policy, vkey) {
        (Some(p), None) => {
            let text = std::fs::read_to_string(p).map_err(CliError::io(format!("reading {}", p.display())))?;
            Policy::parse(&text).map_err(|e| CliError::Usage(format!("--policy {}: {e}", p.display())))
        }
        (None, Some(v)) => Policy::log_only(key_arg(v)?).map_err(|_| {
            CliError::Usage(format!(
                "--vkey: {v} is neither a file holding a verifier key nor one (fetch it from /log/vkey)"
            ))
        }),
        _ => Err(CliError::Usage(
            "give the log's trust policy with --policy FILE (from /log/policy), or its key alone with --vkey".into(),
        )),
    }
}

/// `moralbank monitor`: one run (or one every `follow` seconds), a line per problem; fails
/// when a run found any.
pub async fn monitor_command(
    url: &str,
    policy: Policy,
    state_file: Option<PathBuf>,
    follow: Option<u64>,
) -> Result<()> {
    let monitor = Monitor::new(
        moralbank_witness::http::Client::new(Duration::from_secs(30)),
        url,
        policy,
    );
    let mut state: Option<MonitorState> = match &state_file {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p)
                .map_err(CliError::io(format!("reading {}", p.display())))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                CliError::Config(format!("{}: not a monitor state file: {e}", p.display()))
            })?)
        }
        _ => None,
    };
    loop {
        let (report, next) = monitor.run(state.as_ref()).await;
        for p in &report.problems {
            println!("problem: {p}");
        }
        if let Some(next) = next {
            let root = report.root.map(|r| hex::encode(r.0)).unwrap_or_default();
            let witnessed = match &report.witnessed {
                Some((size, by)) => format!("; witnessed at {size} by {}", by.join(", ")),
                None => String::new(),
            };
            println!(
                "ok: {url} size {} root {root}; {} new entries checked{witnessed}",
                report.size, report.checked
            );
            if let Some(p) = &state_file {
                let text = serde_json::to_string_pretty(&next).unwrap_or_default();
                write_state(p, &text)?;
            }
            state = Some(next);
        } else if follow.is_none() {
            return Err(CliError::Check(format!(
                "monitor found {} problem(s) at {url}",
                report.problems.len()
            )));
        }
        match follow {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs.max(1))).await,
            None => return Ok(()),
        }
    }
}

fn write_state(path: &Path, text: &str) -> Result<()> {
    moralbank_witness::state::replace_durably(path, text.as_bytes())
        .map_err(CliError::io(format!("writing {}", path.display())))
}
